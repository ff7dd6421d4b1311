"""Money: a Decimal with exactly two places in a currency; the widget every finance form has.

This module is the model for writing a widget: a field model (the config a template author
writes), a `Widget` subclass (parsing and presenting values) and a module-level `WIDGET`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from ._numbers import DecimalFieldMixin, DecimalWidget
from .base import PaletteEntry, ParseContext


class MoneyField(DecimalFieldMixin):
    """An amount of money."""

    type: Literal["money"]
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    """ISO 4217 currency code."""


class MoneyWidget(DecimalWidget):
    type_name = "money"
    label = {"zh": "金额", "en": "Money"}
    palette = PaletteEntry(category="number", icon="currency-yen", defaults={"currency": "CNY"})
    FieldModel = MoneyField
    excel_format = "money"
    connector_type = "money"
    excel_width = 14
    macros = """
{% macro render_input(w) -%}
<input type="text" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}" inputmode="decimal"
       class="money" autocomplete="off"{{ w.disabled }}{{ w.attrs }}>
{%- endmacro %}
{% macro render_readonly(w) -%}
{% if w.cell %}<span class="money">{{ w.text }}</span>{% else -%}
<div class="readonly{% if w.masked %} masked{% endif %}" id="value-{{ w.name }}">
  {{- w.text or '—' -}}
</div>
{%- endif %}
{%- endmacro %}
"""

    def workbook_hint(self, field: Any) -> str:
        return "金额 Amount: 1234.56"

    def places(self, field: Any) -> int:
        return 2

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> Decimal:
        """Accepts `25000`, `"25000"`, `"25,000.00"` or `"¥25,000"`; stores Decimal 25000.00."""
        return super().parse_value(field, raw, ctx)


WIDGET = MoneyWidget()
