"""Role picker: a role of the organisation, stored by its key (`finance_reviewer`)."""

from __future__ import annotations

from typing import Any, Literal

from ._choices import PickerWidget
from .base import FieldBase, Lookup, OptionsFrom, PaletteEntry


class RolePickerField(FieldBase):
    """A role of the organisation (what an access request asks for)."""

    type: Literal["role_picker"]
    options_from: OptionsFrom | None = None
    """Limit the choice to a data source's rows; unset offers every role."""


class RolePickerWidget(PickerWidget):
    type_name = "role_picker"
    label = {"zh": "角色选择", "en": "Role picker"}
    palette = PaletteEntry(category="organisation", icon="person-badge")
    FieldModel = RolePickerField
    what = "a role key"
    names_record = "role"

    def organisation_choices(self, lookup: Lookup) -> list[tuple[str, str]] | None:
        return lookup.roles()

    def present(self, field: Any, value: Any, locale: str, lookup: Lookup | None) -> str:
        """`finance_reviewer 财务审核`: the key, with the name people recognise."""
        if value and lookup is not None:
            for key, label in self.organisation_choices(lookup) or []:
                if key == value:
                    return label
        return self.display(field, value, locale)

    def workbook_hint(self, field: Any) -> str:
        return "角色代码 Role key, e.g. finance_reviewer"


WIDGET = RolePickerWidget()
