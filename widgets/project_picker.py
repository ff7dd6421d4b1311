"""Project picker: a project code from a data source (the project register)."""

from __future__ import annotations

from typing import Literal

from ._choices import PickerWidget
from .base import FieldBase, OptionsFrom, PaletteEntry


class ProjectPickerField(FieldBase):
    """A project."""

    type: Literal["project_picker"]
    options_from: OptionsFrom
    """The data source listing projects."""


class ProjectPickerWidget(PickerWidget):
    type_name = "project_picker"
    label = {"zh": "项目", "en": "Project picker"}
    palette = PaletteEntry(
        category="organisation",
        icon="kanban",
        defaults={"options_from": {"source": "projects", "value_column": "code"}},
    )
    FieldModel = ProjectPickerField
    what = "a project code"


WIDGET = ProjectPickerWidget()
