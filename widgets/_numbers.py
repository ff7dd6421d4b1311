"""Decimal parsing shared by number, money and percent, so "25,000.00" means the same everywhere.

Floats never carry a value: a JSON number is read through its shortest decimal text (0.1 stays
0.1), and every stored value is a `Decimal` quantized to the field's places.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar

from pydantic import Field

from .base import ExportValue, FieldBase, FieldValueError, ParseContext, Widget, field_error

#: Digits before the decimal point we accept: beyond a trillion is a typing mistake.
MAX_INTEGER_DIGITS = 15

_PLAIN = re.compile(r"^[+-]?\d+(\.\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_CURRENCY_SIGNS = "¥￥$€£"


def _number_text(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Decimal):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw) if raw == raw and raw not in (float("inf"), float("-inf")) else None
    if isinstance(raw, str):
        text = raw.strip().replace("，", ",").replace(" ", "").replace("\u00a0", "")
        text = text.lstrip(_CURRENCY_SIGNS)
        if _GROUPED.match(text):
            return text.replace(",", "")
        if _PLAIN.match(text):
            return text
    return None


def _not_a_number(name: str, places: int | None, *, percent: bool) -> FieldValueError:
    """The sentence for a value that is not a number of the field's kind (one msgid each)."""
    if percent:
        if places is None:
            return field_error("%(name)s must be a percentage", name=name)
        if places:
            return field_error(
                "%(name)s must be a percentage with at most %(n)s decimal places",
                name=name,
                n=places,
            )
        return field_error("%(name)s must be a percentage without decimals", name=name)
    if places is None:
        return field_error("%(name)s must be a number", name=name)
    if places:
        return field_error(
            "%(name)s must be a number with at most %(n)s decimal places", name=name, n=places
        )
    return field_error("%(name)s must be a number without decimals", name=name)


def parse_decimal(raw: Any, name: str, places: int | None, *, what: str = "a number") -> Decimal:
    """Read `raw` as a Decimal with at most `places` decimals (None: any), or explain why not."""
    text = _number_text(raw)
    rule = _not_a_number(name, places, percent=what == "a percentage")
    try:
        value = Decimal(text) if text is not None else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise rule
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise field_error("%(name)s is too large", name=name)
    if places is not None:
        quantized = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if quantized != value:
            raise rule
        value = quantized
    return value


def check_bounds(value: Decimal, field: Any, name: str, shown: str) -> None:
    if field.min is not None and value < field.min:
        raise field_error(
            "%(name)s must be at least %(min)s%(unit)s",
            name=name,
            min=format_decimal(field.min, None),
            unit=shown,
        )
    if field.max is not None and value > field.max:
        raise field_error(
            "%(name)s must be at most %(max)s%(unit)s",
            name=name,
            max=format_decimal(field.max, None),
            unit=shown,
        )


def format_decimal(value: Decimal, places: int | None, thousands: bool = True) -> str:
    spec = "," if thousands else ""
    if places is not None:
        return f"{value:{spec}.{places}f}"
    return f"{value:{spec}f}"


class DecimalFieldMixin(FieldBase):
    """Config every decimal-valued field shares."""

    min: Decimal | None = Field(default=None, allow_inf_nan=False)
    """Smallest accepted value."""
    max: Decimal | None = Field(default=None, allow_inf_nan=False)
    """Largest accepted value."""


class DecimalWidget(Widget):
    """Base for widgets whose value is a Decimal."""

    unit: ClassVar[str] = ""
    what: ClassVar[str] = "a number"
    connector_type = "number"
    excel_width = 12
    macros = """
{% macro render_input(w) -%}
<input type="text" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}" inputmode="decimal"
       autocomplete="off"{{ w.disabled }}{{ w.attrs }}>
{%- endmacro %}
"""

    def places(self, field: Any) -> int | None:
        return getattr(field, "places", None)

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> Decimal:
        name = self.name_of(field)
        value = parse_decimal(raw, name, self.places(field), what=self.what)
        check_bounds(value, field, name, self.unit)
        return value

    def to_json(self, field: Any, value: Any) -> Any:
        # A string, so no JSON reader turns 0.10 into a binary float.
        return None if value is None else format_decimal(value, self.places(field), False)

    def display(self, field: Any, value: Any, locale: str) -> str:
        if value is None:
            return ""
        return format_decimal(value, self.places(field)) + self.unit

    def export_value(self, field: Any, value: Any) -> ExportValue:
        return ExportValue(value, self.excel_format)

    def from_cell(self, field: Any, value: Any) -> Any:
        # A number cell goes to the parser as is: it reads floats by their shortest text.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        return super().from_cell(field, value)
