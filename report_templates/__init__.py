"""Quire's built-in templates, shipped as canonical template JSON beside this module.

They are data, not code, so `quire templates export` of a freshly installed built-in gives
exactly the bytes in these files, and implementers can copy one as a starting point.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def builtin_template_files() -> dict[str, str]:
    """Template key -> the JSON text of its file, in key order."""
    texts: dict[str, str] = {}
    for entry in files(__name__).iterdir():
        if entry.name.endswith(".json"):
            texts[entry.name.removesuffix(".json")] = entry.read_text(encoding="utf-8")
    return dict(sorted(texts.items()))


def builtin_templates() -> dict[str, dict[str, Any]]:
    """Template key -> template document (parsed JSON), for seeding and for the docs."""
    return {key: json.loads(text) for key, text in builtin_template_files().items()}
