"""Walks a parsed formula with a set of field values and computes its result.

The walk is recursive, which is safe because `parsing` refuses trees deeper than
MAX_DEPTH before a formula can be evaluated. Only syntax-tree nodes are interpreted:
there is no attribute access, no indexing and no call into anything outside `FUNCTIONS`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal, DecimalException

from .errors import FormulaError
from .functions import FUNCTIONS, Environment
from .nodes import (
    Boolean,
    Call,
    Comparison,
    Logical,
    Name,
    Node,
    Not,
    Number,
    Operation,
    Sign,
    Text,
)
from .values import (
    CONTEXT,
    Argument,
    Value,
    checked,
    column_values,
    from_input,
    is_rows,
    kind,
    numeric_text,
    to_condition,
    to_number,
    to_text,
)

_MISSING = object()


def evaluate(tree: Node, values: Mapping[str, object], today: datetime.date) -> Value:
    """The value of `tree`; every failure, whatever its cause, is a FormulaError."""
    evaluation = _Evaluation(values, Environment(today))
    try:
        return evaluation.single(tree)
    except DecimalException as error:  # trapped by CONTEXT; normally caught earlier
        raise FormulaError("the calculation is out of range") from error
    except (OverflowError, ValueError) as error:  # e.g. date arithmetic beyond year 9999
        raise FormulaError("the calculation is out of range") from error


class _Evaluation:
    """One evaluation: the field values and what functions need (the date of TODAY())."""

    def __init__(self, values: Mapping[str, object], environment: Environment) -> None:
        self.values = values
        self.environment = environment

    def single(self, node: Node) -> Value:
        """A node's value where one value is needed: a table column here is a mistake."""
        value = self.argument(node)
        if isinstance(value, list):
            name = node.key if isinstance(node, Name) else "this part of the formula"
            raise FormulaError(
                f'"{name}" is a table column; use it inside SUM, COUNT, AVERAGE, MIN or MAX'
            )
        return value

    def argument(self, node: Node) -> Argument:
        """A node's value where a function may also take a table column or table rows."""
        match node:
            case Number(value=value):
                return checked(value)
            case Text(value=value) | Boolean(value=value):
                return value
            case Name(key=key):
                return self.field(key)
            case Sign(operator=operator, operand=operand):
                number = to_number(self.single(operand), "a minus or plus sign")
                return checked(CONTEXT.minus(number) if operator == "-" else CONTEXT.plus(number))
            case Operation(first=first, rest=rest):
                result = self.single(first)
                for operator, operand in rest:
                    result = _OPERATORS[operator](result, self.single(operand))
                return result
            case Comparison(operator=operator, left=left, right=right):
                return compare(operator, self.single(left), self.single(right))
            case Logical(operator="AND", operands=operands):
                return all(to_condition(self.single(each), "AND") for each in operands)
            case Logical(operator="OR", operands=operands):
                return any(to_condition(self.single(each), "OR") for each in operands)
            case Not(operand=operand):
                return not to_condition(self.single(operand), "NOT")
            case Call(name=name, arguments=arguments):
                thunks = [_thunk(self.argument, each) for each in arguments]
                return FUNCTIONS[name].run(thunks, self.environment)
        raise FormulaError("the formula contains something that cannot be evaluated")

    def field(self, key: str) -> Argument:
        table, dot, column = key.partition(".")
        raw = self.values.get(table, _MISSING)
        if raw is _MISSING:
            raise FormulaError(f'unknown field "{table if dot else key}"')
        if dot:
            return column_values(raw, table, column)
        value = from_input(raw, key)
        if isinstance(value, list) and not is_rows(value):
            # A field holding several plain values (a multi-select): read each like a cell.
            value = [from_input(item, key) for item in value]
            if any(isinstance(item, list) for item in value):
                raise FormulaError(f'field "{key}" holds a value a formula cannot use')
        return value


def _thunk(evaluate_node: Callable[[Node], Argument], node: Node) -> Callable[[], Argument]:
    return lambda: evaluate_node(node)


# Arithmetic ----------------------------------------------------------------------------------


def _add(left: Value, right: Value) -> Value:
    if isinstance(left, datetime.date) and not isinstance(right, datetime.date):
        return _shift_date(left, _days(right, "add", left))
    if isinstance(right, datetime.date) and not isinstance(left, datetime.date):
        return _shift_date(right, _days(left, "add", right))
    a, b = _numbers(left, right, f"cannot add {kind(right)} to {kind(left)}")
    return checked(CONTEXT.add(a, b))


def _subtract(left: Value, right: Value) -> Value:
    if isinstance(left, datetime.date) and isinstance(right, datetime.date):
        return Decimal((left - right).days)  # days between two dates
    if isinstance(left, datetime.date):
        return _shift_date(left, -_days(right, "subtract", left))
    a, b = _numbers(left, right, f"cannot subtract {kind(right)} from {kind(left)}")
    return checked(CONTEXT.subtract(a, b))


def _multiply(left: Value, right: Value) -> Value:
    a, b = _numbers(left, right, f"cannot multiply {kind(left)} by {kind(right)}")
    return checked(CONTEXT.multiply(a, b))


def _divide(left: Value, right: Value) -> Value:
    a, b = _numbers(left, right, f"cannot divide {kind(left)} by {kind(right)}")
    if b == 0:
        raise FormulaError("cannot divide by zero")
    return checked(CONTEXT.divide(a, b))


def _concatenate(left: Value, right: Value) -> Value:
    return to_text(left, "&") + to_text(right, "&")


_OPERATORS: dict[str, Callable[[Value, Value], Value]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "/": _divide,
    "&": _concatenate,
}


def _numbers(left: Value, right: Value, message: str) -> tuple[Decimal, Decimal]:
    try:
        return to_number(left, "arithmetic"), to_number(right, "arithmetic")
    except FormulaError:
        raise FormulaError(message) from None


def _days(value: Value, verb: str, date: datetime.date) -> int:
    preposition = "to" if verb == "add" else "from"
    try:
        days = to_number(value, verb)
    except FormulaError:
        raise FormulaError(f"cannot {verb} {kind(value)} {preposition} a date") from None
    if days != days.to_integral_value(context=CONTEXT):
        raise FormulaError(f"can only {verb} whole days {preposition} a date")
    return int(days)


def _shift_date(date: datetime.date, days: int) -> datetime.date:
    try:
        return date + datetime.timedelta(days=days)
    except OverflowError:
        raise FormulaError("the date is outside the years 1 to 9999") from None


# Comparison ----------------------------------------------------------------------------------

_EMPTY_LIKE: dict[type, object] = {Decimal: Decimal(0), str: "", bool: False}


def compare(operator: str, left: Value, right: Value) -> bool:
    """Compare like Excel: empty equals 0, "" and FALSE; text ignores case; kinds never mix."""
    a, b = _comparable(left, right)
    if operator == "=":
        return a == b
    if operator == "<>":
        return a != b
    if operator == "<":
        return a < b
    if operator == "<=":
        return a <= b
    if operator == ">":
        return a > b
    return a >= b


def _comparable(left: Value, right: Value) -> tuple:
    if left is None and right is None:
        return 0, 0
    if left is None or right is None:
        known = right if left is None else left
        if isinstance(known, datetime.date):
            # An empty date comes before every date, as a blank cell (0) does in Excel.
            pair = ((0, None), (1, known))
            return pair if left is None else pair[::-1]
        empty = _EMPTY_LIKE[bool if isinstance(known, bool) else type(known)]
        left, right = (empty, known) if left is None else (known, empty)
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return left, right
    elif isinstance(left, Decimal) and isinstance(right, Decimal):
        return left, right
    elif isinstance(left, str) and isinstance(right, str):
        return left.casefold(), right.casefold()
    elif isinstance(left, datetime.date) and isinstance(right, datetime.date):
        return left, right
    elif isinstance(left, Decimal) and isinstance(right, str):
        # Forms often post numbers as text ("1250.00"); compare those as numbers.
        if (number := numeric_text(right)) is not None:
            return left, number
    elif isinstance(left, str) and isinstance(right, Decimal):
        if (number := numeric_text(left)) is not None:
            return number, right
    elif isinstance(left, datetime.date) and isinstance(right, str):
        if (date := _iso_date(right)) is not None:
            return left, date
    elif isinstance(left, str) and isinstance(right, datetime.date):
        if (date := _iso_date(left)) is not None:
            return date, right
    raise FormulaError(f"cannot compare {kind(left)} with {kind(right)}")


def _iso_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None
