"""Fiscal period: a year (`2025`), quarter (`2025-Q1`) or month (`2025-03`) of the fiscal calendar.

Kept as text because periods are labels that budgets and ledgers are keyed by, not days.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from .base import FieldBase, PaletteEntry, ParseContext, Widget, field_error

_FORMATS = {
    "year": (re.compile(r"^(\d{4})$"), "YYYY"),
    "quarter": (re.compile(r"^(\d{4})-Q([1-4])$"), "YYYY-Qn"),
    "month": (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "YYYY-MM"),
}


class FiscalPeriodField(FieldBase):
    """A fiscal year, quarter or month."""

    type: Literal["fiscal_period"]
    granularity: Literal["year", "quarter", "month"] = "month"
    """Which kind of period is entered."""


class FiscalPeriodWidget(Widget):
    type_name = "fiscal_period"
    label = {"zh": "会计期间", "en": "Fiscal period"}
    palette = PaletteEntry(
        category="date", icon="calendar-month", defaults={"granularity": "month"}
    )
    FieldModel = FiscalPeriodField
    macros = """
{% macro render_input(w) -%}
<input type="{{ 'month' if w.field.granularity == 'month' else 'text' }}"
       name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}" autocomplete="off"
       {{- w.disabled }}{{ w.attrs }}>
{%- endmacro %}
"""

    def workbook_hint(self, field: Any) -> str:
        shape = _FORMATS[field.granularity][1]
        return f"会计期间 Period: {shape}"

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        pattern, shape = _FORMATS[field.granularity]
        text = str(raw).strip().upper() if isinstance(raw, str | int) else ""
        if isinstance(raw, bool) or not pattern.match(text) or not 1900 <= int(text[:4]) <= 2999:
            raise field_error(
                "%(name)s must be a period written as %(shape)s",
                name=self.name_of(field),
                shape=shape,
            )
        return text

    def display(self, field: Any, value: Any, locale: str) -> str:
        if value is None:
            return ""
        if not locale.lower().startswith("zh"):
            return value
        year, _, rest = value.partition("-")
        if not rest:
            return f"{year}年度"
        if rest.startswith("Q"):
            return f"{year}年第{rest[1]}季度"
        return f"{year}年{int(rest)}月"


WIDGET = FiscalPeriodWidget()
