"""Template authors' validation patterns (a text field's `pattern`), run by RE2.

Python's `re` backtracks: a pattern such as ``(a+)+$`` takes exponential time on a
32-character value and hangs a worker (ReDoS). RE2 matches in time linear in the text, and
refuses what it cannot do in linear time (back-references, look-arounds), which validation
reports at the pattern's path. Every use of an author's pattern goes through this module; a
test walks the code so no other module runs a pattern from a variable.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

__all__ = ["InvalidPattern", "compile_pattern", "fullmatch"]

#: Memory RE2 may use for one compiled pattern; larger ones are refused at validation.
_MAX_MEMORY = 8 << 20


class InvalidPattern(ValueError):
    """A pattern RE2 cannot compile; the message says why, for the template author."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the reason goes to the author, not to stderr
    options.max_mem = _MAX_MEMORY
    return options


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern, or `InvalidPattern` with RE2's reason."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InvalidPattern(str(reason)) from None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether the whole `text` matches `pattern`, in linear time."""
    return compile_pattern(pattern).fullmatch(text) is not None
