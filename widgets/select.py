"""Select: one value out of fixed options or the rows of a data source."""

from __future__ import annotations

from typing import Any, Literal

from ._choices import ChoiceFieldMixin, ChoiceWidget
from .base import PaletteEntry, ParseContext


class SelectField(ChoiceFieldMixin):
    """Pick one choice."""

    type: Literal["select"]


class SelectWidget(ChoiceWidget):
    type_name = "select"
    label = {"zh": "下拉选择", "en": "Select"}
    palette = PaletteEntry(category="choice", icon="menu-button", defaults={"options": []})
    FieldModel = SelectField

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        return self.check_choice(field, raw, ctx)

    def display(self, field: Any, value: Any, locale: str) -> str:
        return "" if value is None else self.option_label(field, value, locale)

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import SelectField as WTSelectField

        # validate_choice=False: choices from a data source are loaded by the runtime, and
        # `parse` is the judge of a value either way.
        return WTSelectField(
            choices=[("", ""), *self.static_choices(field, locale)],
            validate_choice=False,
            **self.form_field_kwargs(field, locale),
        )


WIDGET = SelectWidget()
