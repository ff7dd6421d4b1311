"""The functions a formula may call, each declared once with its arity and a one-line summary.

`FUNCTIONS` is the whole contract: the parser checks names and argument counts against it, a
template validator can suggest names from it, and the evaluator calls it. Every function
receives its arguments unevaluated (as zero-argument callables), so IF, AND, OR and COALESCE
can skip the arguments they do not need, e.g. the division in `IF(qty = 0, 0, amount / qty)`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from .errors import FormulaError
from .values import (
    CONTEXT,
    Argument,
    Value,
    checked,
    is_blank,
    is_rows,
    kind,
    to_condition,
    to_date,
    to_number,
    to_text,
    to_whole_number,
)

Arguments = Sequence[Callable[[], Argument]]


@dataclass(frozen=True, slots=True)
class Environment:
    """What a function gets besides its arguments: the date TODAY() answers with."""

    today: datetime.date


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    min_arguments: int
    max_arguments: int | None  # None: any number
    summary: str
    run: Callable[[Arguments, Environment], Value]

    def arity_error(self, given: int) -> str | None:
        """The sentence for a wrong argument count, or None when `given` is fine."""
        low, high = self.min_arguments, self.max_arguments
        if low <= given and (high is None or given <= high):
            return None
        if high is None:
            expected = f"at least {_arguments(low)}"
        elif low == high:
            expected = _arguments(low)
        else:
            expected = f"{low} to {high} arguments"
        return f"{self.name} expects {expected}, got {given}"


def _arguments(count: int) -> str:
    return "1 argument" if count == 1 else f"{count} arguments"


def _cells(name: str, arguments: Arguments, *, rows_allowed: bool = False) -> list[Value]:
    """Every non-empty value among the arguments, with table columns spread out like ranges."""
    cells: list[Value] = []
    for argument in arguments:
        value = argument()
        if not isinstance(value, list):
            cells.append(value)
            continue
        if is_rows(value):
            if not rows_allowed:
                raise FormulaError(
                    f"{name} needs a table column such as lines.amount, not a whole table"
                )
            cells.extend(Decimal(1) for _ in value)  # one per row: only COUNT gets here
            continue
        cells.extend(value)
    return [cell for cell in cells if not is_blank(cell)]


def _numbers(name: str, arguments: Arguments) -> list[Decimal]:
    return [to_number(cell, name) for cell in _cells(name, arguments)]


def _total(numbers: Sequence[Decimal]) -> Decimal:
    total = Decimal(0)
    for number in numbers:
        total = checked(CONTEXT.add(total, number))
    return total


def _sum(arguments: Arguments, environment: Environment) -> Value:
    return _total(_numbers("SUM", arguments))


def _average(arguments: Arguments, environment: Environment) -> Value:
    numbers = _numbers("AVERAGE", arguments)
    if not numbers:
        return None  # an empty table has no average; Excel's #DIV/0! helps nobody on a form
    return checked(CONTEXT.divide(_total(numbers), Decimal(len(numbers))))


def _extreme(name: str, pick: Callable) -> Callable[[Arguments, Environment], Value]:
    def run(arguments: Arguments, environment: Environment) -> Value:
        cells = _cells(name, arguments)
        if not cells:
            return None
        if all(isinstance(cell, datetime.date) for cell in cells):
            return pick(cells)  # the earliest or latest date in a column
        return pick(to_number(cell, name) for cell in cells)

    return run


def _count(arguments: Arguments, environment: Environment) -> Value:
    return Decimal(len(_cells("COUNT", arguments, rows_allowed=True)))


def _single(name: str, argument: Callable[[], Argument]) -> Value:
    value = argument()
    if isinstance(value, list):
        raise FormulaError(f"{name} needs a single value, not {kind(value)}")
    return value


def _round(arguments: Arguments, environment: Environment) -> Value:
    number = to_number(_single("ROUND", arguments[0]), "ROUND")
    places = to_whole_number(_single("ROUND", arguments[1]), "ROUND")
    if not -15 <= places <= 15:
        raise FormulaError("ROUND needs a number of decimal places between -15 and 15")
    exponent = number.as_tuple().exponent
    if places >= 0 and isinstance(exponent, int) and -exponent <= places:
        return number  # already has no more places than asked for
    quantum = Decimal(1).scaleb(-places, context=CONTEXT)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP, context=CONTEXT)
    return checked(rounded)


def _abs(arguments: Arguments, environment: Environment) -> Value:
    return CONTEXT.abs(to_number(_single("ABS", arguments[0]), "ABS"))


def _if(arguments: Arguments, environment: Environment) -> Value:
    condition = to_condition(_single("IF", arguments[0]), "IF")
    return _single("IF", arguments[1] if condition else arguments[2])


def _and(arguments: Arguments, environment: Environment) -> Value:
    return all(to_condition(_single("AND", argument), "AND") for argument in arguments)


def _or(arguments: Arguments, environment: Environment) -> Value:
    return any(to_condition(_single("OR", argument), "OR") for argument in arguments)


def _not(arguments: Arguments, environment: Environment) -> Value:
    return not to_condition(_single("NOT", arguments[0]), "NOT")


def _today(arguments: Arguments, environment: Environment) -> Value:
    return environment.today


def _date_part(name: str, part: str) -> Callable[[Arguments, Environment], Value]:
    def run(arguments: Arguments, environment: Environment) -> Value:
        date = to_date(_single(name, arguments[0]), name)
        return None if date is None else Decimal(getattr(date, part))

    return run


def _date(arguments: Arguments, environment: Environment) -> Value:
    year, month, day = (to_whole_number(_single("DATE", a), "DATE") for a in arguments)
    # Like Excel, months and days roll over: DATE(y, 13, 1) is January of y + 1 and
    # DATE(y, m + 1, 0) is the last day of month m, a common month-end idiom.
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    if not 1 <= year <= 9999 or abs(day) > 100_000:
        raise FormulaError("DATE gives a date outside the years 1 to 9999")
    try:
        return datetime.date(year, month, 1) + datetime.timedelta(days=day - 1)
    except OverflowError:
        raise FormulaError("DATE gives a date outside the years 1 to 9999") from None


def _len(arguments: Arguments, environment: Environment) -> Value:
    return Decimal(len(to_text(_single("LEN", arguments[0]), "LEN")))


def _concat(arguments: Arguments, environment: Environment) -> Value:
    return "".join(to_text(cell, "CONCAT") for cell in _cells("CONCAT", arguments))


def _isblank(arguments: Arguments, environment: Environment) -> Value:
    value = arguments[0]()
    if isinstance(value, list):
        return all(is_blank(cell) for cell in value)
    return is_blank(value)


def _coalesce(arguments: Arguments, environment: Environment) -> Value:
    for argument in arguments:
        value = _single("COALESCE", argument)
        if not is_blank(value):
            return value
    return None


_ALL = (
    Function("SUM", 1, None, "adds numbers and table columns", _sum),
    Function("AVERAGE", 1, None, "the mean of the non-empty numbers", _average),
    Function("MIN", 1, None, "the smallest number or earliest date", _extreme("MIN", min)),
    Function("MAX", 1, None, "the largest number or latest date", _extreme("MAX", max)),
    Function("COUNT", 1, None, "how many non-empty values, or rows of a table", _count),
    Function("ROUND", 2, 2, "rounds half away from zero to n decimal places", _round),
    Function("ABS", 1, 1, "the number without its sign", _abs),
    Function("IF", 3, 3, "IF(condition, value if TRUE, value if FALSE)", _if),
    Function("AND", 1, None, "TRUE when every condition is TRUE", _and),
    Function("OR", 1, None, "TRUE when any condition is TRUE", _or),
    Function("NOT", 1, 1, "TRUE when the condition is FALSE", _not),
    Function("TODAY", 0, 0, "today's date", _today),
    Function("YEAR", 1, 1, "the year of a date", _date_part("YEAR", "year")),
    Function("MONTH", 1, 1, "the month of a date, 1 to 12", _date_part("MONTH", "month")),
    Function("DAY", 1, 1, "the day of the month of a date", _date_part("DAY", "day")),
    Function("DATE", 3, 3, "DATE(year, month, day)", _date),
    Function("LEN", 1, 1, "how many characters a text has", _len),
    Function("CONCAT", 1, None, "joins texts together", _concat),
    Function("ISBLANK", 1, 1, "TRUE when a value is empty", _isblank),
    Function("COALESCE", 1, None, "the first value that is not empty", _coalesce),
)

FUNCTIONS: Mapping[str, Function] = MappingProxyType({function.name: function for function in _ALL})
"""Every function a formula may call, by upper-case name."""
