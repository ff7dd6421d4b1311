"""Text a client sends that Quire cannot store: found at the boundary, named by its path."""

from __future__ import annotations

import re
from typing import Any

# A decoded JSON string keeps a ``\ud800`` escape as a lone surrogate code point, which no
# database driver can encode; a correctly paired escape has already become one character.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def lone_surrogate_path(value: Any) -> str | None:
    """The JSON path (``data.lines[2].description``) of the first string or key that holds a
    lone UTF-16 surrogate, ``$`` for the whole body, or None when all text is storable."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return path or "$"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if isinstance(key, str) and _SURROGATE.search(key):
                    return _child(path, _SURROGATE.sub("\ufffd", key))
                stack.append((_child(path, key), child))
        elif isinstance(item, list):
            stack.extend((_child(path, i), child) for i, child in reversed(list(enumerate(item))))
    return None
