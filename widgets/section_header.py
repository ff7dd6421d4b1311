"""Section header: a heading between groups of fields inside a layout section."""

from __future__ import annotations

from typing import Any, Literal

from .base import FieldBase, PaletteEntry, Widget, localized


class SectionHeaderField(FieldBase):
    """A heading; its `label` is the heading text. Stores nothing."""

    type: Literal["section_header"]


class SectionHeaderWidget(Widget):
    type_name = "section_header"
    label = {"zh": "分组标题", "en": "Section header"}
    palette = PaletteEntry(category="layout", icon="type-h2")
    FieldModel = SectionHeaderField
    has_value = False
    heading = True
    can_be_column = False
    connector_type = None
    macros = """
{% macro render_input(w) -%}
<h3 class="section-header">{{ w.text }}</h3>
{%- endmacro %}
{% macro render_readonly(w) -%}
{{ render_input(w) }}
{%- endmacro %}
"""

    def display(self, field: Any, value: Any, locale: str) -> str:
        return localized(field.label, locale)

    def form_field(self, field: Any, locale: str) -> Any:
        return None


WIDGET = SectionHeaderWidget()
