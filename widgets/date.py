"""Date: one calendar day, such as an expense's date (which may not lie in the future)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import field_validator

from ._dates import bound, check_limit, display_date, parse_date
from .base import (
    ExportValue,
    FieldBase,
    PaletteEntry,
    ParseContext,
    Widget,
    field_error,
)


class DateField(FieldBase):
    """A calendar date."""

    type: Literal["date"]
    min: str | None = None
    """Earliest accepted date: `YYYY-MM-DD` or `today`."""
    max: str | None = None
    """Latest accepted date: `YYYY-MM-DD` or `today` (no dates in the future)."""

    @field_validator("min", "max")
    @classmethod
    def _limit_is_a_date(cls, value: str | None) -> str | None:
        return check_limit(value)


class DateWidget(Widget):
    type_name = "date"
    label = {"zh": "日期", "en": "Date"}
    palette = PaletteEntry(category="date", icon="calendar")
    FieldModel = DateField
    excel_format = "date"
    connector_type = "date"
    excel_width = 12
    macros = """
{% macro render_input(w) -%}
<input type="date" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}"
       {{- w.disabled }}{{ w.attrs }}>
{%- endmacro %}
"""

    def workbook_hint(self, field: Any) -> str:
        return "日期 Date: YYYY-MM-DD"

    def from_cell(self, field: Any, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return super().from_cell(field, value)

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> date:
        name = self.name_of(field)
        value = parse_date(raw, name)
        earliest, latest = bound(field.min, ctx), bound(field.max, ctx)
        if earliest is not None and value < earliest:
            if field.min == "today":
                raise field_error("%(name)s may not be in the past", name=name)
            raise field_error(
                "%(name)s may not be before %(date)s", name=name, date=earliest.isoformat()
            )
        if latest is not None and value > latest:
            if field.max == "today":
                raise field_error("%(name)s may not be in the future", name=name)
            raise field_error(
                "%(name)s may not be after %(date)s", name=name, date=latest.isoformat()
            )
        return value

    def to_json(self, field: Any, value: Any) -> Any:
        return None if value is None else value.isoformat()

    def display(self, field: Any, value: Any, locale: str) -> str:
        return display_date(value, locale)

    def export_value(self, field: Any, value: Any) -> ExportValue:
        return ExportValue(value, self.excel_format)

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import StringField

        kwargs = self.form_field_kwargs(field, locale)
        kwargs["render_kw"] = {**kwargs["render_kw"], "type": "date"}
        return StringField(**kwargs)


WIDGET = DateWidget()
