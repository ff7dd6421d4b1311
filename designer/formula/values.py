"""The values a formula works with, and the conversions between them.

Inside a formula there are only numbers (`Decimal`), text (`str`), TRUE/FALSE (`bool`), dates
(`datetime.date`), empty (`None`) and, as function arguments only, lists (a table column or a
table's rows). Everything coming in from a form is converted once, on reading, by `from_input`;
anything else is refused, so no Python object is ever reachable from a formula.

All arithmetic goes through `CONTEXT`, a private `decimal.Context`: the thread's global context
is never read or changed, and its traps turn overflow and invalid operations into exceptions
that the evaluator reports as FormulaError.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from .errors import FormulaError

Value = Decimal | str | bool | datetime.date | None
"""A single value: what a formula returns."""

Argument = Value | list
"""What a function may receive: a value, or a list for a table column or table rows."""

CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

MAX_ADJUSTED_EXPONENT = 15
"""Numbers must stay below 10**16: far above any amount, far below anything that hurts."""

_NUMERIC_TEXT = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*")


def checked(number: Decimal) -> Decimal:
    """Refuse numbers that are not finite or too large; write whole numbers without exponent."""
    if not number.is_finite():
        raise FormulaError("the calculation does not give a number")
    if number and number.adjusted() > MAX_ADJUSTED_EXPONENT:
        raise FormulaError("number too large")
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if isinstance(exponent, int) and exponent > 0:  # 1E+3 from a division reads as 1000
        number = number.quantize(Decimal(1), context=CONTEXT)
    return number


def from_input(value: object, name: str) -> Argument:
    """Convert one value handed in by the caller to a formula value, or refuse it."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return checked(value)
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_ADJUSTED_EXPONENT + 1:
            raise FormulaError("number too large")
        return Decimal(value)
    if isinstance(value, float):
        # Through str, so 0.1 stays 0.1 instead of 0.1000000000000000055511151231257827.
        return checked(Decimal(str(value)))
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, list | tuple):
        return list(value)
    raise FormulaError(f'field "{name}" holds a value a formula cannot use')


def is_blank(value: object) -> bool:
    """Empty like an Excel cell nobody typed in: None, or text with nothing in it."""
    return value is None or value == ""


def kind(value: object) -> str:
    """How an error message names the kind of a value: "cannot add text to a number"."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "a TRUE/FALSE value"
    if isinstance(value, Decimal):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, list):
        return "a table column"
    return "an unsupported value"


def numeric_text(value: str) -> Decimal | None:
    """The number written in a text such as "1250.00", which forms often post; else None."""
    if len(value) <= 40 and _NUMERIC_TEXT.fullmatch(value):
        return checked(Decimal(value.strip()))
    return None


def to_number(value: Argument, purpose: str) -> Decimal:
    """A number for arithmetic; empty counts as 0 like an empty Excel cell.

    `purpose` completes the error sentence, e.g. "ROUND needs a number, not text".
    """
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and (number := numeric_text(value)) is not None:
        return number
    raise FormulaError(f"{purpose} needs a number, not {kind(value)}")


def to_whole_number(value: Argument, purpose: str) -> int:
    number = to_number(value, purpose)
    if number != number.to_integral_value(context=CONTEXT):
        raise FormulaError(f"{purpose} needs a whole number, not {format_number(number)}")
    return int(number)


def to_text(value: Argument, purpose: str) -> str:
    """Text for `&`, LEN and CONCAT: numbers in plain notation, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise FormulaError(f"{purpose} needs a single value, not {kind(value)}")


def to_date(value: Argument, purpose: str) -> datetime.date | None:
    """A date, or None for empty; text in YYYY-MM-DD form is read as a date."""
    if is_blank(value):
        return None
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise FormulaError(f"{purpose} needs a date, not {kind(value)}")


def to_condition(value: Argument, purpose: str) -> bool:
    """TRUE/FALSE for IF, AND, OR, NOT: empty is FALSE, a number is TRUE unless 0 (as in Excel)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return value != 0
    raise FormulaError(f"{purpose} needs TRUE or FALSE, not {kind(value)}")


def format_number(number: Decimal) -> str:
    return format(number, "f")


def column_values(rows: object, table: str, column: str) -> list[Value]:
    """The cells of `table.column`, one per row; a row without the column gives an empty cell."""
    if rows is None:
        return []
    if not isinstance(rows, list | tuple) or not all(isinstance(row, Mapping) for row in rows):
        raise FormulaError(f'"{table}" is not a table, so "{table}.{column}" cannot be read')
    cells: list[Value] = []
    for row in rows:
        cell = from_input(row.get(column), f"{table}.{column}")
        if isinstance(cell, list):
            raise FormulaError(f'"{table}.{column}" holds a table, not a single value per row')
        cells.append(cell)
    return cells


def is_rows(values: Sequence[object]) -> bool:
    return any(isinstance(item, Mapping) for item in values)
