"""Multi-select: several values out of fixed options or the rows of a data source."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from ._choices import ChoiceFieldMixin, ChoiceWidget
from .base import MISSING, PaletteEntry, ParseContext, field_error

_SEPARATORS = re.compile(r"\s*[,，、;；]\s*")


class MultiSelectField(ChoiceFieldMixin):
    """Pick any number of choices."""

    type: Literal["multi_select"]
    max_selected: int | None = Field(default=None, ge=1)
    """Most choices that may be picked."""


class MultiSelectWidget(ChoiceWidget):
    type_name = "multi_select"
    label = {"zh": "多选", "en": "Multi-select"}
    palette = PaletteEntry(category="choice", icon="ui-checks", defaults={"options": []})
    FieldModel = MultiSelectField
    macros = """
{% macro render_input(w) -%}
<select name="{{ w.name }}" id="{{ w.name }}" multiple{{ w.disabled }}{{ w.attrs }}>
  {% for v, label in w.choices or [] -%}
  <option value="{{ v }}" {% if w.value and v in w.value %}selected{% endif %}>{{ label }}</option>
  {%- endfor %}
</select>
{%- endmacro %}
"""

    def from_form(self, field: Any, name: str, form: Any, getlist: Any = None) -> Any:
        return getlist(name) if getlist is not None else form.get(name, MISSING)

    def list_values(self, field: Any, lookup: Any) -> list[str] | None:
        return None  # a cell holds several values; the hint says how to write them

    def workbook_hint(self, field: Any) -> str:
        return "多个值以逗号分隔 Several values, separated by commas"

    def from_cell(self, field: Any, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in _SEPARATORS.split(value.strip()) if part]
        return super().from_cell(field, value)

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> list[str]:
        """Accepts a list, or one value (a form with a single box ticked sends a string)."""
        items = raw if isinstance(raw, list) else [raw]
        values: list[str] = []
        for item in items:
            value = self.check_choice(field, item, ctx)
            if value not in values:
                values.append(value)
        if field.max_selected is not None and len(values) > field.max_selected:
            raise field_error(
                "%(name)s allows at most %(n)s choices",
                name=self.name_of(field),
                n=field.max_selected,
            )
        return values

    def display(self, field: Any, value: Any, locale: str) -> str:
        joiner = "、" if locale.lower().startswith("zh") else ", "
        return joiner.join(self.option_label(field, v, locale) for v in value or ())

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import SelectMultipleField

        return SelectMultipleField(
            choices=self.static_choices(field, locale),
            validate_choice=False,
            **self.form_field_kwargs(field, locale),
        )


WIDGET = MultiSelectWidget()
