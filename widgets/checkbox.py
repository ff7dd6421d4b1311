"""Checkbox: a yes/no answer."""

from __future__ import annotations

from typing import Any, Literal

from .base import (
    ExportValue,
    FieldBase,
    PaletteEntry,
    ParseContext,
    Widget,
    field_error,
)

_TRUE = frozenset({"true", "1", "yes", "y", "on", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "off", "否"})


class CheckboxField(FieldBase):
    """A box that is ticked or not."""

    type: Literal["checkbox"]


class CheckboxWidget(Widget):
    type_name = "checkbox"
    label = {"zh": "复选框", "en": "Checkbox"}
    palette = PaletteEntry(category="choice", icon="check-square")
    FieldModel = CheckboxField
    excel_format = "boolean"
    connector_type = "boolean"
    macros = """
{% macro render_input(w) -%}
<input type="checkbox" role="switch" name="{{ w.name }}" id="{{ w.name }}" value="y"
       {%- if w.value %} checked{% endif %}{{ w.disabled }}{{ w.attrs }}>
{%- endmacro %}
"""

    def from_form(self, field: Any, name: str, form: Any, getlist: Any = None) -> Any:
        return bool(form.get(name))  # an unticked box sends nothing at all

    def workbook_hint(self, field: Any) -> str:
        return "是/否 yes / no"

    def list_values(self, field: Any, lookup: Any) -> list[str] | None:
        return ["yes", "no"]

    def from_cell(self, field: Any, value: Any) -> Any:
        return value if isinstance(value, bool) else super().from_cell(field, value)

    def parse(self, field: Any, raw: Any, ctx: ParseContext | None = None) -> bool:
        # An unticked HTML checkbox sends nothing, so blank means "no" rather than "missing";
        # `required` means it must be ticked (an acknowledgement).
        value = False if raw is None or raw == "" else self.parse_value(field, raw, ctx)
        if field.required and not value:
            raise field_error("%(name)s must be ticked", name=self.name_of(field))
        return value

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext | None) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise field_error("%(name)s must be yes or no", name=self.name_of(field))

    def display(self, field: Any, value: Any, locale: str) -> str:
        if value is None:
            return ""
        if locale.lower().startswith("zh"):
            return "是" if value else "否"
        return "Yes" if value else "No"

    def export_value(self, field: Any, value: Any) -> ExportValue:
        return ExportValue(bool(value), self.excel_format)

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import BooleanField

        return BooleanField(**self.form_field_kwargs(field, locale))


WIDGET = CheckboxWidget()
