"""Number: a plain quantity (count, rate, headcount) kept as a Decimal, never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from ._numbers import DecimalFieldMixin, DecimalWidget, format_decimal
from .base import PaletteEntry


class NumberField(DecimalFieldMixin):
    """A number that is not money."""

    type: Literal["number"]
    places: int | None = Field(default=None, ge=0, le=10)
    """Decimal places allowed and shown; unset allows any."""
    thousands: bool = False
    """Show thousands separators."""


class NumberWidget(DecimalWidget):
    type_name = "number"
    label = {"zh": "数字", "en": "Number"}
    palette = PaletteEntry(category="number", icon="hash", defaults={"places": 0})
    FieldModel = NumberField
    excel_format = "number"

    def workbook_hint(self, field: Any) -> str:
        return "数字 Number"

    def to_json(self, field: Any, value: Any) -> Any:
        # Whole numbers go out as JSON integers (quantities); anything else as exact text.
        if isinstance(value, Decimal) and field.places == 0:
            return int(value)
        return super().to_json(field, value)

    def display(self, field: Any, value: Any, locale: str) -> str:
        if value is None:
            return ""
        return format_decimal(value, field.places, field.thousands)


WIDGET = NumberWidget()
