"""Date range: a start and an end day (a trip, a service period)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import Field

from ._dates import display_date, parse_date
from .base import (
    ExportValue,
    FieldBase,
    PaletteEntry,
    ParseContext,
    Widget,
    field_error,
)


@dataclass(frozen=True)
class DateRange:
    """Both ends are included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class DateRangeField(FieldBase):
    """Two dates, start and end."""

    type: Literal["date_range"]
    max_days: int | None = Field(default=None, ge=1, le=36600)
    """Longest accepted range in days, both ends included."""


class DateRangeWidget(Widget):
    type_name = "date_range"
    label = {"zh": "日期区间", "en": "Date range"}
    palette = PaletteEntry(category="date", icon="calendar-range")
    FieldModel = DateRangeField
    macros = """
{% macro render_input(w) -%}
<div class="grid">
  <input type="date" name="{{ w.name }}-start" value="{{ w.value.start if w.value else '' }}"
         aria-label="{{ w.say('从', 'From') }}"{{ w.disabled }}>
  <input type="date" name="{{ w.name }}-end" value="{{ w.value.end if w.value else '' }}"
         aria-label="{{ w.say('至', 'Until') }}"{{ w.disabled }}>
</div>
{%- endmacro %}
"""

    def from_form(self, field: Any, name: str, form: Any, getlist: Any = None) -> Any:
        start, end = form.get(f"{name}-start"), form.get(f"{name}-end")
        return {"start": start, "end": end} if (start or end) else None

    def workbook_hint(self, field: Any) -> str:
        return "日期区间 Date range: YYYY-MM-DD/YYYY-MM-DD"

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> DateRange:
        """Accepts `{"start": ..., "end": ...}` or `"YYYY-MM-DD/YYYY-MM-DD"`."""
        name = self.name_of(field)
        if isinstance(raw, str) and raw.count("/") == 1:
            raw = dict(zip(("start", "end"), raw.split("/"), strict=True))
        if not isinstance(raw, dict) or set(raw) != {"start", "end"}:
            raise field_error("%(name)s must have a start and an end date", name=name)
        value = DateRange(parse_date(raw["start"], name), parse_date(raw["end"], name))
        if value.end < value.start:
            raise field_error("%(name)s must not end before it starts", name=name)
        if field.max_days is not None and value.days > field.max_days:
            raise field_error("%(name)s may cover at most %(n)s days", name=name, n=field.max_days)
        return value

    def to_json(self, field: Any, value: Any) -> Any:
        if value is None:
            return None
        return {"start": value.start.isoformat(), "end": value.end.isoformat()}

    def display(self, field: Any, value: Any, locale: str) -> str:
        if value is None:
            return ""
        joiner = " 至 " if locale.lower().startswith("zh") else " – "
        return display_date(value.start, locale) + joiner + display_date(value.end, locale)

    def export_value(self, field: Any, value: Any) -> ExportValue:
        text = None if value is None else f"{value.start.isoformat()}/{value.end.isoformat()}"
        return ExportValue(text, "text")


WIDGET = DateRangeWidget()
