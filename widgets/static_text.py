"""Static text: instructions on the form (reimbursement policy, where to send originals)."""

from __future__ import annotations

from typing import Any, Literal

from .base import BilingualText, FieldBase, PaletteEntry, Widget, localized


class StaticTextField(FieldBase):
    """Text shown on the form; stores nothing."""

    type: Literal["static_text"]
    content: BilingualText
    """The text."""


class StaticTextWidget(Widget):
    type_name = "static_text"
    label = {"zh": "说明文字", "en": "Static text"}
    palette = PaletteEntry(category="layout", icon="text-paragraph")
    FieldModel = StaticTextField
    has_value = False
    can_be_column = False
    connector_type = None
    macros = """
{% macro render_input(w) -%}
<p class="static-text">{{ w.text }}</p>
{%- endmacro %}
{% macro render_readonly(w) -%}
{{ render_input(w) }}
{%- endmacro %}
"""

    def display(self, field: Any, value: Any, locale: str) -> str:
        return localized(field.content, locale)

    def form_field(self, field: Any, locale: str) -> Any:
        return None


WIDGET = StaticTextWidget()
