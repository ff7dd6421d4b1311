"""Department picker: a department, stored by its code (`SALES-E`)."""

from __future__ import annotations

from typing import Any, Literal

from ._choices import PickerWidget
from .base import FieldBase, Lookup, OptionsFrom, PaletteEntry


class DepartmentPickerField(FieldBase):
    """A department of the organisation."""

    type: Literal["department_picker"]
    options_from: OptionsFrom | None = None
    """Limit the choice to a data source's rows; unset offers every department."""


class DepartmentPickerWidget(PickerWidget):
    type_name = "department_picker"
    label = {"zh": "部门选择", "en": "Department picker"}
    palette = PaletteEntry(category="organisation", icon="diagram-3")
    FieldModel = DepartmentPickerField
    what = "a department code"
    names_record = "department"

    def organisation_choices(self, lookup: Lookup) -> list[tuple[str, str]] | None:
        return lookup.departments()

    def present(self, field: Any, value: Any, locale: str, lookup: Lookup | None) -> str:
        """`SALES 销售部`: the code people type, with the name they recognise."""
        if value and lookup is not None:
            for code, label in lookup.departments():
                if code == value:
                    return label
        return self.display(field, value, locale)

    def workbook_hint(self, field: Any) -> str:
        return "部门代码，可留空 Department code; leave empty for your own"


WIDGET = DepartmentPickerWidget()
