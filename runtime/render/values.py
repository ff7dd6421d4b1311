"""Cell values as text, shared by the CSV and PDF renderers so both say the same thing."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quire.runtime.render.document import Column

# Spreadsheet programs treat a cell starting with these as a formula (OWASP "CSV
# injection"); tab and CR are included because some programs strip them first.
FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")

_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(0, 7)}


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula, even after leading spaces."""
    return text.startswith(FORMULA_LEADERS) or text.lstrip(" ").startswith(FORMULA_LEADERS)


def neutralise(text: str) -> str:
    """Prefix an apostrophe so the cell stays text in Excel, LibreOffice and Sheets."""
    return "'" + text if is_formula_like(text) else text


def as_decimal(value: Any) -> Decimal | None:
    """Accept Decimal, int or numeric strings; floats go through ``str`` to avoid binary noise."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(str(value))


#: Excel keeps 15 significant digits in a number; a longer amount is written as exact text.
EXCEL_DIGITS = 15


def excel_exact(value: Decimal | int) -> bool:
    """Can Excel hold ``value`` as a number without losing a digit?"""
    digits = (value if isinstance(value, Decimal) else Decimal(value)).normalize().as_tuple()
    return len(digits.digits) <= EXCEL_DIGITS


def exact_text(value: Decimal | int) -> str:
    """An amount too long for an Excel number, as text with its separators and places."""
    return format(value if isinstance(value, Decimal) else Decimal(value), ",")


def quantize(value: Decimal, places: int) -> Decimal:
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def plain_text(value: Any, column: Column) -> str:
    """Machine-readable text (CSV): ``25000.00``, ``2025-01-31``, percent as a fraction."""
    if value is None:
        return ""
    kind = column.type
    if kind == "text":
        return str(value)
    if kind == "date":
        d = as_date(value)
        return d.isoformat() if d else ""
    number = as_decimal(value)
    if number is None:
        return ""
    if kind == "integer":
        return str(quantize(number, 0))
    if kind == "percent":
        # The fraction itself, with two more places than the displayed percentage.
        return str(quantize(number, column.places + 2))
    return str(quantize(number, column.places))


def display_text(value: Any, column: Column) -> str:
    """Human-readable text (web, PDF): ``25,000.00``, ``91.5%``, ``2025-01-31``, a status's
    label rather than its code."""
    if value is None:
        return ""
    kind = column.type
    if kind == "text":
        return str(column.label_of(value))
    if kind == "date":
        d = as_date(value)
        return d.isoformat() if d else ""
    number = as_decimal(value)
    if number is None:
        return ""
    if kind == "percent":
        return f"{quantize(number * 100, column.places):,}%"
    return f"{quantize(number, column.places):,}"


def display_width(text: str) -> int:
    """Characters as a spreadsheet lays them out: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_widths(
    columns: Sequence[Column],
    sample: Sequence[Mapping[str, Any]],
    *,
    cap: int = 60,
    stacked_heading: bool = False,
) -> list[float]:
    """Width of each column in characters: the declared one, else the widest sampled cell.

    Only a sample is looked at so that streamed exports can size columns before writing;
    Excel uses the result as widths, the PDF as relative weights.
    """
    widths: list[float] = []
    for column in columns:
        if column.width:
            widths.append(float(column.width))
            continue
        # Excel shows a bilingual heading on one line; the PDF stacks zh over en, so there
        # only the longer half sets the floor.
        if stacked_heading:
            widest = max(display_width(part) for part in (*column.label.values(), ""))
        else:
            widest = display_width(column.heading)
        for row in sample:
            value = row.get(column.key)
            if value is None or value == "":
                continue
            if column.type == "text":
                widest = max(widest, display_width(str(value)))
            elif column.type == "date":
                widest = max(widest, 10)
            else:
                widest = max(widest, len(display_text(value, column)))
        widths.append(float(min(cap, widest + 2)))
    return widths
