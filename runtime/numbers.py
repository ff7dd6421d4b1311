"""One parsing rule for ids and whole numbers that arrive in URLs, query strings and forms.

ASCII digits only (Python's ``int`` and ``str.isdigit`` also take ``²`` and ``١``), and
within the range of the database's INTEGER columns (32-bit on PostgreSQL and MariaDB), so
a value a client sends can never reach the database as something it cannot hold. A path
id outside the rule is an unknown object (404); a query parameter is malformed (400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from werkzeug.routing import BaseConverter, ValidationError

from .errors import BadRequest, Detail

#: The largest value every supported database stores in an ``Integer`` column.
DB_INT_MAX = 2**31 - 1

_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_int(text: Any, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    """The whole number ``text`` spells in ASCII digits within the range, else None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and _ASCII_DIGITS.fullmatch(text):
        value = int(text)
    else:
        return None
    return value if minimum <= value <= maximum else None


def parse_date(value: Any) -> date | None:
    """A day given as a date or typed as ISO text (``2026-12-15``), else None."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_id(text: Any) -> int | None:
    """A database id (1 or more) spelled in ASCII digits, else None."""
    return parse_int(text, minimum=1)


def query_int(
    args: Mapping[str, Any],
    name: str,
    default: int | None = None,
    *,
    minimum: int = 1,
    maximum: int = DB_INT_MAX,
) -> int | None:
    """A whole-number query or form parameter: ``default`` when absent, 400 when malformed."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    value = parse_int(raw, minimum=minimum, maximum=maximum)
    if value is None:
        raise BadRequest(
            "Invalid number.",
            [Detail(name, f"must be a whole number from {minimum} to {maximum}")],
        )
    return value


class StrictIntConverter(BaseConverter):
    """Replaces Flask's ``int`` converter: ASCII digits within the database range, else 404."""

    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> int:
        number = parse_int(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))
