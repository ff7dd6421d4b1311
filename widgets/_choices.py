"""Choosing values from a list: static options in the template or rows of a data source.

Shared by select, multi-select and the pickers so "is this one of the choices?" is decided once.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from .base import FieldBase, FieldValueError, Option, OptionsFrom, ParseContext, Widget, localized


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
            raise FieldValueError(f"{name} must be one of the listed choices")
        value = str(raw).strip()
        if getattr(field, "options", None) is not None:
            allowed = [option.value for option in field.options]
            if value not in allowed:
                raise FieldValueError(f"{name} must be one of: {', '.join(allowed)}")
        elif field.options_from is not None:
            known = ctx.source_values.get(field.options_from.source)
            if known is not None and value not in known:
                raise FieldValueError(f'{name}: "{value}" is not one of the available choices')
        return value

    def option_label(self, field: Any, value: str, locale: str) -> str:
        for option in getattr(field, "options", None) or ():
            if option.value == value:
                return localized(option.label, locale)
        return value

    def choices(self, field: Any, locale: str) -> list[tuple[str, str]]:
        return [
            (o.value, localized(o.label, locale)) for o in getattr(field, "options", None) or ()
        ]


class PickerWidget(ChoiceWidget):
    """A picker of organisation records (users, departments, cost centres, projects): the value
    is the record's code, checked against the source's values the runtime puts in the context."""

    what: str = "a code"

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        value = self.check_choice(field, raw, ctx)
        if len(value) > 100:
            raise FieldValueError(f"{self.name_of(field)} must be {self.what}")
        return value
