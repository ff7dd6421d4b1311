"""Where a page may send people back to: a path on this site, never another site.

A ``next`` parameter (after sign-in, after a decision) is attacker-controlled: ``//evil``,
``/\\evil`` and a path with a tab or line break in it (browsers drop those, leaving ``//``)
all lead elsewhere, so only a plain absolute path is taken.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/submissions/7?task=3``), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
