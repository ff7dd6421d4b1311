"""Date parsing shared by the date and date-range widgets: ISO `YYYY-MM-DD` on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .base import FieldValueError, ParseContext, field_error


def parse_date(raw: Any, name: str) -> date:
    """A date from `YYYY-MM-DD` text or a spreadsheet's date/datetime cell."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = raw.strip() if isinstance(raw, str) else ""
    # fromisoformat also takes "20240131"; the wire format is the dashed form only.
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise field_error("%(name)s must be a date written as YYYY-MM-DD", name=name)


def bound(text: str | None, ctx: ParseContext) -> date | None:
    """A configured limit: a fixed `YYYY-MM-DD` or `today` (the day of the request)."""
    if text is None:
        return None
    return ctx.today if text == "today" else date.fromisoformat(text)


def check_limit(text: str | None) -> str | None:
    """Validator for `min`/`max` config: `today` or a real date."""
    if text is None or text == "today":
        return text
    try:
        parse_date(text, "")
    except FieldValueError:
        raise ValueError('must be "today" or a date written as YYYY-MM-DD') from None
    return text


def display_date(value: date | None, locale: str) -> str:
    if value is None:
        return ""
    # One format on every page, print copy and workbook, whatever the language: 2026-11-26.
    return value.isoformat()
