"""Cost-centre picker: a cost centre code from a data source (the ERP's cost-centre list)."""

from __future__ import annotations

from typing import Literal

from ._choices import PickerWidget
from .base import FieldBase, OptionsFrom, PaletteEntry


class CostCenterPickerField(FieldBase):
    """A cost centre."""

    type: Literal["cost_center_picker"]
    options_from: OptionsFrom
    """The data source listing cost centres."""


class CostCenterPickerWidget(PickerWidget):
    type_name = "cost_center_picker"
    label = {"zh": "成本中心", "en": "Cost centre picker"}
    palette = PaletteEntry(
        category="organisation",
        icon="bank",
        defaults={"options_from": {"source": "cost_centers", "value_column": "code"}},
    )
    FieldModel = CostCenterPickerField
    what = "a cost centre code"


WIDGET = CostCenterPickerWidget()
