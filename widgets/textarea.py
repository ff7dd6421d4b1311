"""Multi-line text: descriptions and justifications."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import FieldBase, PaletteEntry, ParseContext, Widget
from .text import check_text


class TextareaField(FieldBase):
    """Several lines of text."""

    type: Literal["textarea"]
    max_length: int = Field(default=2000, ge=1, le=100000)
    """Most characters accepted."""
    rows: int = Field(default=3, ge=1, le=40)
    """Visible lines of the input box."""


class TextareaWidget(Widget):
    type_name = "textarea"
    label = {"zh": "多行文本", "en": "Text area"}
    palette = PaletteEntry(category="basic", icon="textarea-t", defaults={"rows": 3})
    FieldModel = TextareaField
    macros = """
{% macro render_input(w) -%}
<textarea name="{{ w.name }}" id="{{ w.name }}" rows="{{ w.field.rows }}"
          {{- w.disabled }}{{ w.attrs }}>
  {{- w.value -}}
</textarea>
{%- endmacro %}
"""

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        return check_text(self.name_of(field), raw, 0, field.max_length)

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import TextAreaField

        kwargs = self.form_field_kwargs(field, locale)
        kwargs["render_kw"] = {**kwargs["render_kw"], "rows": field.rows}
        return TextAreaField(**kwargs)


WIDGET = TextareaWidget()
