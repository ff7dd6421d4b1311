"""Percent: stored in percentage points (12.5 means 12.5 %), as `SUM(shares.percent) = 100` reads.

Spreadsheets get the fraction (0.125) because Excel's percent format multiplies by 100.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import Field

from ._numbers import DecimalFieldMixin, DecimalWidget
from .base import ExportValue, PaletteEntry, ParseContext


class PercentField(DecimalFieldMixin):
    """A percentage."""

    type: Literal["percent"]
    places: int = Field(default=2, ge=0, le=6)
    """Decimal places of the percentage points."""


class PercentWidget(DecimalWidget):
    type_name = "percent"
    label = {"zh": "百分比", "en": "Percent"}
    palette = PaletteEntry(category="number", icon="percent", defaults={"places": 2})
    FieldModel = PercentField
    excel_format = "percent"
    unit = " %"
    what = "a percentage"
    excel_width = 10

    def workbook_hint(self, field: Any) -> str:
        return "百分比 Percent: 12.5%"

    def from_cell(self, field: Any, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().removesuffix("%").strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            # Percent cells hold the fraction (12.5 % is 0.125), as exports write it.
            try:
                return f"{(Decimal(repr(value)) * 100).normalize():f}"
            except InvalidOperation:
                return repr(value)
        return super().from_cell(field, value)

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> Decimal:
        if isinstance(raw, str):
            raw = raw.strip().removesuffix("%").strip()
        return super().parse_value(field, raw, ctx)

    def export_value(self, field: Any, value: Any) -> ExportValue:
        return ExportValue(None if value is None else value / 100, self.excel_format)


WIDGET = PercentWidget()
