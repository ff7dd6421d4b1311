"""Choosing values from a list: static options in the template or rows of a data source.

Shared by select, multi-select and the pickers so "is this one of the choices?" is decided once.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from .base import (
    FieldBase,
    Lookup,
    Option,
    OptionsFrom,
    ParseContext,
    Widget,
    field_error,
    localized,
)

#: A drop-down of the field's choices; a text box (and a notice) when they cannot be read.
SELECT_MACROS = """
{% macro render_input(w) -%}
{% if w.choices is not none -%}
<select name="{{ w.name }}" id="{{ w.name }}"{{ w.disabled }}{{ w.attrs }}>
  <option value="">{{ w.say('— 请选择 —', '— choose —') }}</option>
  {% for v, label in w.choices -%}
  <option value="{{ v }}" {% if v == w.value %}selected{% endif %}>{{ label }}</option>
  {%- endfor %}
</select>
{%- else -%}
{% if w.unavailable %}<small class="field-error" role="status">
  {{- w.say('选项列表暂时无法读取，请直接输入编码。',
            'The list of choices is unavailable right now; type the code.') -}}
</small>{% endif %}
<input type="text" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}"
       autocomplete="off"{{ w.disabled }}{{ w.attrs }}>
{%- endif %}
{%- endmacro %}
"""


class ChoiceFieldMixin(FieldBase):
    """Config of fields whose value is picked from choices."""

    options: list[Option] | None = Field(default=None, max_length=1000)
    """Fixed choices written in the template."""
    options_from: OptionsFrom | None = None
    """Choices read from a data source of the template."""

    @model_validator(mode="after")
    def _one_kind_of_choices(self) -> ChoiceFieldMixin:
        if self.options is not None and self.options_from is not None:
            raise ValueError('give either "options" or "options_from", not both')
        if not self.options and self.options_from is None:
            raise ValueError('needs its choices: "options", or "options_from" a data source')
        return self


class ChoiceWidget(Widget):
    """Checks one value against the field's choices."""

    def check_choice(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        name = self.name_of(field)
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise field_error("%(name)s must be one of the listed choices", name=name)
        value = str(raw).strip()
        if getattr(field, "options", None) is not None:
            allowed = [option.value for option in field.options]
            if value not in allowed:
                raise field_error(
                    "%(name)s must be one of: %(choices)s", name=name, choices=", ".join(allowed)
                )
        elif field.options_from is not None:
            known = ctx.source_values.get(field.options_from.source)
            if known is not None and value not in known:
                raise field_error(
                    "%(name)s: “%(value)s” is not one of the available choices",
                    name=name,
                    value=value,
                )
        return value

    def option_label(self, field: Any, value: str, locale: str) -> str:
        for option in getattr(field, "options", None) or ():
            if option.value == value:
                return localized(option.label, locale)
        return value

    def present(self, field: Any, value: Any, locale: str, lookup: Lookup | None) -> str:
        """A code read from a data source by its label there (`P-ALPHA` → the project's name);
        static options by their label; a code the source no longer lists as itself."""
        if isinstance(value, str) and value and getattr(field, "options_from", None) is not None:
            if field.options_from.label_column and lookup is not None:
                for code, label in lookup.source_options(field) or ():
                    if code == value:
                        return label
        return self.display(field, value, locale)

    macros = SELECT_MACROS
    excel_width = 14

    def static_choices(self, field: Any, locale: str) -> list[tuple[str, str]]:
        return [
            (o.value, localized(o.label, locale)) for o in getattr(field, "options", None) or ()
        ]

    def choices(
        self, field: Any, lookup: Lookup | None, locale: str = "en"
    ) -> list[tuple[str, str]] | None:
        """Static options, else the rows of the field's data source (None when unreadable)."""
        if getattr(field, "options_from", None) is not None:
            return lookup.source_options(field) if lookup is not None else None
        return self.static_choices(field, locale)

    def list_values(self, field: Any, lookup: Lookup | None) -> list[str] | None:
        options = getattr(field, "options", None)
        return [o.value for o in options] if options else None

    def workbook_hint(self, field: Any) -> str:
        options = getattr(field, "options", None)
        if not options:
            return ""
        return "从列表选择 Choose: " + " · ".join(f"{o.value} = {o.label.both()}" for o in options)


class PickerWidget(ChoiceWidget):
    """A picker of organisation records (users, departments, cost centres, projects): the value
    is the record's code, checked against the source's values the runtime puts in the context."""

    what: str = "a code"

    def choices(
        self, field: Any, lookup: Lookup | None, locale: str = "en"
    ) -> list[tuple[str, str]] | None:
        """The organisation's records when the runtime offers them (`organisation_choices`),
        else the field's data source."""
        if field.options_from is None and lookup is not None:
            found = self.organisation_choices(lookup)
            if found is not None:
                return found
        return super().choices(field, lookup, locale)

    def organisation_choices(self, lookup: Lookup) -> list[tuple[str, str]] | None:
        """Records of the organisation this picker offers (departments, users), or None."""
        return None

    def list_values(self, field: Any, lookup: Lookup | None) -> list[str] | None:
        if field.options_from is None and lookup is not None:
            found = self.organisation_choices(lookup)
            if found is not None:
                return [value for value, _label in found]
        return None

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        value = self.check_choice(field, raw, ctx)
        if len(value) > 100:
            raise field_error("%(name)s is too long for a code", name=self.name_of(field))
        known = ctx.organisation_values.get(self.names_record or "")
        if field.options_from is None and known is not None and value not in known:
            raise field_error(
                "%(name)s: “%(value)s” is not one of the available choices",
                name=self.name_of(field),
                value=value,
            )
        return value
