"""A widget that lives in the tests, not in Quire: a 1–N star rating.

It is the proof that a widget is one file: `test_a_widget_is_one_file.py` registers it and
uses it through the whole product without touching anything else.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from quire.widgets.base import ExportValue, FieldBase, FieldValueError, PaletteEntry, Widget


class StarRatingField(FieldBase):
    """A score of one to `stars` stars."""

    type: Literal["star_rating"]
    stars: int = Field(default=5, ge=2, le=10)
    """The most stars that can be given."""


class StarRatingWidget(Widget):
    type_name = "star_rating"
    label = {"zh": "星级评分", "en": "Star rating"}
    palette = PaletteEntry(category="choice", icon="star", defaults={"stars": 5})
    FieldModel = StarRatingField
    excel_format = "number"
    connector_type = "number"
    excel_width = 10
    macros = """
{% macro render_input(w) -%}
<fieldset class="star-rating" id="{{ w.name }}">
  {%- for n in range(1, w.field.stars + 1) %}
  <label><input type="radio" name="{{ w.name }}" value="{{ n }}"
    {%- if w.value|string == n|string %} checked{% endif %}{{ w.disabled }}>{{ n }}★</label>
  {%- endfor %}
</fieldset>
{%- endmacro %}
{% macro render_print(w) -%}
<span class="star-rating-print">{{ w.text }}</span>
{%- endmacro %}
"""

    def parse_value(self, field: Any, raw: Any, ctx: Any) -> int:
        text = str(raw).strip().split("/")[0] if not isinstance(raw, bool) else ""
        if not text.isdigit() or not 1 <= int(text) <= field.stars:
            raise FieldValueError(f"{self.name_of(field)} must be 1 to {field.stars} stars")
        return int(text)

    def display(self, field: Any, value: Any, locale: str) -> str:
        if value is None:
            return ""
        return "★" * value + "☆" * (field.stars - value) + f" {value}/{field.stars}"

    def export_value(self, field: Any, value: Any) -> ExportValue:
        return ExportValue(value, self.excel_format)

    def workbook_hint(self, field: Any) -> str:
        return f"星级 Stars: 1–{field.stars}"

    def list_values(self, field: Any, lookup: Any) -> list[str] | None:
        return [str(n) for n in range(1, field.stars + 1)]


WIDGET = StarRatingWidget()
