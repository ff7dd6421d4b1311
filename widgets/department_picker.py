"""Department picker: a department, stored by its code (`SALES-E`)."""

from __future__ import annotations

from typing import Literal

from ._choices import PickerWidget
from .base import FieldBase, OptionsFrom, PaletteEntry


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


WIDGET = DepartmentPickerWidget()
