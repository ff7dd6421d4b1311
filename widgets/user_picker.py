"""User picker: a person, stored by username (an approver, a traveller, a delegate)."""

from __future__ import annotations

from typing import Any, Literal

from ._choices import PickerWidget
from .base import FieldBase, Lookup, OptionsFrom, PaletteEntry


class UserPickerField(FieldBase):
    """A user of Quire."""

    type: Literal["user_picker"]
    options_from: OptionsFrom | None = None
    """Limit the choice to a data source's rows; unset offers every active user."""


class UserPickerWidget(PickerWidget):
    type_name = "user_picker"
    label = {"zh": "人员选择", "en": "User picker"}
    palette = PaletteEntry(category="organisation", icon="person")
    FieldModel = UserPickerField
    what = "a username"
    names_record = "user"

    def organisation_choices(self, lookup: Lookup) -> list[tuple[str, str]] | None:
        return lookup.users()

    def workbook_hint(self, field: Any) -> str:
        return "用户名 Username"


WIDGET = UserPickerWidget()
