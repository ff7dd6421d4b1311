"""The designer's JSON view: where in the text each problem is.

A problem is listed with its JSON path, a sentence in the reader's language and the line (and,
for a syntax error, the column) of the text the person typed, so the page can quote that line
and select it in the editor. Positions are found in the person's own text, however it is
indented, not in a re-serialised copy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from .issue_words import say

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


@dataclass(frozen=True)
class JsonProblem:
    """One problem of the JSON view. `path` is "" for the document itself or for a syntax
    error; `line` and `column` count from 1; `text` is the line as typed."""

    path: str
    message: str
    line: int
    column: int | None
    text: str


def syntax_problem(text: str, error: json.JSONDecodeError) -> JsonProblem:
    """The text does not parse: what is wrong, said plainly, at its line and column."""
    return JsonProblem(
        "", _syntax_sentence(error.msg), error.lineno, error.colno, _line(text, error.lineno)
    )


def located(text: str, details: list[Any]) -> list[JsonProblem]:
    """Each `{path, message}` problem of a document that parsed, at the line its path
    names in `text` (the nearest enclosing value when the path itself is absent)."""
    problems = []
    for detail in details:
        offset = position(text, detail.path)
        line = text.count("\n", 0, offset) + 1
        quoted = _line(text, line)
        problems.append(JsonProblem(detail.path, say(detail.message), line, None, quoted))
    return problems


def position(text: str, path: str) -> int:
    """Where `path` (`fields[2].label.zh`) starts in `text`: the member's key inside an
    object, the element inside an array; as far down the path as the text goes."""
    parts = _path_parts(path)
    at = _skip(text, 0)
    try:
        for part in parts:
            found = _member(text, at, part)
            if found is None:
                break
            at = found
    except (ValueError, IndexError):
        pass  # the text does not parse this far; the last place found is the best answer
    return at


def _path_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(path):
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(json.loads(quoted))
        else:
            parts.append(name)
    return parts


def _skip(text: str, at: int) -> int:
    return _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]


def _member(text: str, at: int, part: str | int) -> int | None:
    """The start of `part` in the object or array starting at `at` (a key: where the key is
    written; an index: where the element starts), or None when it is not there."""
    opener = text[at]
    if opener == "{" and isinstance(part, str):
        at = _skip(text, at + 1)
        while text[at] != "}":
            key, after = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
            value = _skip(text, _skip(text, after) + 1)  # past the colon
            if key == part:
                # A leaf's problem is on the key's line; a container's, where it opens.
                return value if text[value] in "{[" else at
            _obj, end = _DECODER.raw_decode(text, value)
            at = _skip(text, end)
            if text[at] == ",":
                at = _skip(text, at + 1)
        return None
    if opener == "[" and isinstance(part, int):
        at = _skip(text, at + 1)
        index = 0
        while text[at] != "]":
            if index == part:
                return at
            _obj, end = _DECODER.raw_decode(text, at)
            at = _skip(text, end)
            if text[at] == ",":
                at = _skip(text, at + 1)
            index += 1
        return None
    return None


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _syntax_sentence(msg: str) -> str:
    """`json`'s reason, retold (its wording is fixed: see `json.decoder`)."""
    if msg == "Expecting ',' delimiter":
        return _("a comma is missing between two items (or a bracket is not closed)")
    if msg == "Expecting ':' delimiter":
        return _("a colon is missing after a name")
    if msg == "Expecting property name enclosed in double quotes":
        return _("a name in double quotes is expected here (is there a comma too many?)")
    if msg == "Expecting value":
        return _("a value is expected here (is there a comma too many, or a bracket missing?)")
    if msg.startswith("Unterminated string"):
        return _("a text has no closing double quote")
    if msg.startswith("Invalid control character"):
        return _("a text contains a line break or tab; write it as \\n or \\t")
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        return _("a backslash in a text must start an escape such as \\n or \\\\")
    if msg == "Extra data":
        return _("there is more after the end of the document")
    return _("the text is not valid JSON")
