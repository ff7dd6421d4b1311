"""What a form page shows: sections, cells, input values, display text, errors and totals.

The views hand this to the Jinja layout; the same layout prints the PDF copy. It never
parses or decides access itself: values come from :mod:`.values`, access from
:mod:`quire.runtime.access`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from quire.designer.model import Template
from quire.widgets.base import FieldBase, localized

from ..errors import Detail
from ..extensions import db
from ..models import Attachment, Department, User, UserStatus
from . import values as form_values


@dataclass
class Cell:
    field: FieldBase
    span: int


@dataclass
class Section:
    title: str | None
    rows: list[list[Cell]]
    key: str | None = None


def form_post_to_data(
    template: Template, form: Mapping[str, Any], getlist: Any = None
) -> dict[str, Any]:
    """Flat form fields (``lines-2-amount``) to the nested ``data`` object the API takes."""
    data: dict[str, Any] = {}
    registry = form_values.widgets()
    for f in form_values.value_fields(template):
        widget = registry.for_field(f)
        if widget.computed:
            continue
        if getattr(f, "columns", None) is not None:
            pattern = re.compile(rf"^{re.escape(f.key)}-(\d+)-([a-z][a-z0-9_]*)$")
            rows: dict[int, dict[str, Any]] = {}
            for name in form:
                match = pattern.match(name)
                if match:
                    rows.setdefault(int(match.group(1)), {})[match.group(2)] = form.get(name)
            data[f.key] = [rows[i] for i in sorted(rows)]
        elif f.type == "multi_select":
            data[f.key] = getlist(f.key) if getlist else form.get(f.key)
        elif f.type == "checkbox":
            data[f.key] = bool(form.get(f.key))
        elif f.type == "date_range":
            start, end = form.get(f"{f.key}-start"), form.get(f"{f.key}-end")
            data[f.key] = {"start": start, "end": end} if (start or end) else None
        elif f.key in form:
            data[f.key] = form.get(f.key)
    return data


class FormPage:
    """One form as one person sees it now."""

    def __init__(
        self,
        template: Template,
        data: Mapping[str, Any],
        access: Mapping[str, str],
        locale: str,
        *,
        errors: list[Detail] | None = None,
        typed: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.data = data
        self.access = access
        self.locale = locale
        self.typed = typed  # what the person typed, kept on error
        self.errors: dict[str, list[str]] = {}
        for e in errors or []:
            self.errors.setdefault(e.path, []).append(e.message)
        self.values = form_values.to_python(template, data)
        self._registry = form_values.widgets()
        self._departments: list[Department] | None = None
        self._users: list[User] | None = None
        self._source_options: dict[str, list[tuple[str, str]] | None] = {}
        #: Field keys whose data source could not be read just now (shown to the person).
        self.unavailable: set[str] = set()

    # -- structure ------------------------------------------------------------------------------
    def sections(self) -> list[Section]:
        if self.template.layout.sections:
            return [
                Section(
                    localized(s.title, self.locale) if s.title else None,
                    [
                        [
                            Cell(self.template.field(c.field), c.span)
                            for c in row.cells
                            if self.template.field(c.field) is not None and self.visible(c.field)
                        ]
                        for row in s.rows
                    ],
                    s.key,
                )
                for s in self.template.layout.sections
            ]
        return [Section(None, [[Cell(f, 12)] for f in self.template.fields if self.visible(f.key)])]

    def visible(self, key: str) -> bool:
        return self.access.get(key, "read") != "hidden"

    def editable(self, key: str) -> bool:
        return self.access.get(key) == "edit"

    def masked(self, key: str) -> bool:
        return self.access.get(key) == "masked"

    def label(self, f: FieldBase) -> str:
        return localized(f.label, self.locale)

    def help(self, f: FieldBase) -> str:
        return localized(f.help, self.locale) if f.help else ""

    def text(self, bilingual: Any) -> str:
        return localized(bilingual, self.locale) if bilingual else ""

    def is_table(self, f: FieldBase) -> bool:
        return getattr(f, "columns", None) is not None

    def is_computed(self, f: FieldBase) -> bool:
        return self._registry.for_field(f).computed

    def has_value(self, f: FieldBase) -> bool:
        return self._registry.for_field(f).has_value

    # -- values -----------------------------------------------------------------------------------
    def errors_at(self, path: str) -> list[str]:
        return self.errors.get(path, [])

    def all_errors(self) -> list[tuple[str, str]]:
        return [(p, m) for p, ms in self.errors.items() for m in ms]

    def input_value(
        self, f: FieldBase, row: int | None = None, table: FieldBase | None = None
    ) -> Any:
        """The text an input shows: what was typed (after an error), else the stored value."""
        if table is not None and row is not None:
            source = (
                self.typed.get(table.key) if self.typed is not None else self.data.get(table.key)
            )
            rows = source or []
            value = (
                rows[row].get(f.key) if row < len(rows) and isinstance(rows[row], dict) else None
            )
            if self.is_computed(f) and self.typed is not None:
                stored = self.data.get(table.key) or []
                value = stored[row].get(f.key) if row < len(stored) else None
        elif self.typed is not None and f.key in self.typed and not self.is_computed(f):
            value = self.typed.get(f.key)
        else:
            value = self.data.get(f.key)
        if value is None:
            return ""
        return value

    def display(self, f: FieldBase, value: Any = None, *, raw: bool = False) -> str:
        """Text for read-only display (localised, thousands separators, masked if need be)."""
        widget = self._registry.for_field(f)
        python = value if raw else self.values.get(f.key)
        if self.masked(f.key):
            return widget.mask(f, python)
        if f.type == "department_picker" and python:
            dept = self._department(python)
            return f"{python} {dept.name(self.locale)}" if dept else str(python)
        return widget.display(f, python, self.locale)

    def cell_display(self, table: FieldBase, column: FieldBase, row_value: Any) -> str:
        widget = self._registry.for_field(column)
        if self.masked(table.key):
            return widget.mask(column, row_value) if row_value not in (None, "") else ""
        if widget.computed:
            return widget.display(
                column, form_values.computed_from_json(column, row_value), self.locale
            )
        try:
            python = widget.parse(form_values.relaxed(column), row_value)
        except Exception:  # noqa: BLE001 - show what is stored, whatever it is
            return "" if row_value is None else str(row_value)
        if column.type == "attachment" and python:
            return self.attachment_label(str(row_value))
        return widget.display(column, python, self.locale)

    def rows(self, table: FieldBase) -> list[int]:
        source = self.typed.get(table.key) if self.typed is not None else self.data.get(table.key)
        count = len(source or [])
        minimum = max(getattr(table, "min_rows", 0) or 0, 1 if self.editable(table.key) else 0)
        return list(range(max(count, minimum)))

    def stored_rows(self, table: FieldBase) -> list[dict[str, Any]]:
        return list(self.data.get(table.key) or [])

    def totals(self, table: FieldBase) -> dict[str, str]:
        widget = self._registry.for_field(table)
        sums = widget.totals(table, self.values.get(table.key) or [])
        out = {}
        for key, amount in sums.items():
            column = table.column(key)
            out[key] = (
                self._registry.for_field(column).display(column, amount, self.locale)
                if column
                else str(amount)
            )
        return out

    def options(self, f: FieldBase) -> list[tuple[str, str]]:
        """Choices for selects and pickers: static options, departments, or active users."""
        if f.type == "department_picker":
            return [(d.code, f"{d.code} {d.name(self.locale)}") for d in self.departments()]
        if f.type == "user_picker":
            return [(u.username, f"{u.username} · {u.display_name}") for u in self.users()]
        if getattr(f, "options_from", None) is not None:
            return self.source_options(f) or []
        options = getattr(f, "options", None) or []
        return [(o.value, localized(o.label, self.locale)) for o in options]

    def has_choices(self, f: FieldBase) -> bool:
        """A select is drawn when the field has options (static or from a readable source)."""
        if f.type in ("select", "multi_select", "department_picker", "user_picker"):
            return True
        return getattr(f, "options_from", None) is not None and self.source_options(f) is not None

    def source_options(self, f: FieldBase) -> list[tuple[str, str]] | None:
        """Choices from the data source the field names; None when it cannot be read, so the
        form falls back to a text box and says the source is unavailable (never a 500)."""
        if f.key in self._source_options:
            return self._source_options[f.key]
        from flask_login import current_user

        from quire.plugins.base import ConnectorError

        from ..datasources.service import form_context, options_for
        from ..errors import QuireError

        spec = f.options_from
        entry = next((d for d in self.template.data_sources if d.key == spec.source), None)
        result: list[tuple[str, str]] | None
        try:
            if entry is None:
                raise LookupError(spec.source)
            result = options_for(
                current_user,
                entry.model_dump(mode="json", by_alias=True),
                spec.value_column,
                spec.label_column or spec.value_column,
                form_context(current_user),
            )
        except (QuireError, ConnectorError, LookupError):
            result = None
            self.unavailable.add(f.key)
        self._source_options[f.key] = result
        return result

    def departments(self) -> list[Department]:
        if self._departments is None:
            self._departments = list(
                db.session.scalars(
                    select(Department).where(Department.active).order_by(Department.path)
                )
            )
        return self._departments

    def users(self) -> list[User]:
        if self._users is None:
            self._users = list(
                db.session.scalars(
                    select(User).where(User.status != UserStatus.LEFT).order_by(User.username)
                )
            )
        return self._users

    def _department(self, code: str) -> Department | None:
        return next((d for d in self.departments() if d.code == code), None)

    def attachment_label(self, value: str) -> str:
        if value.isdigit():
            attachment = db.session.get(Attachment, int(value))
            if attachment is not None:
                return f"📎 {attachment.filename}"
        return value

    def input_type(self, f: FieldBase) -> str:
        return {
            "date": "date",
            "number": "text",
            "money": "text",
            "percent": "text",
            "fiscal_period": "month",
        }.get(f.type, "text")

    def inputmode(self, f: FieldBase) -> str | None:
        return "decimal" if f.type in ("money", "number", "percent") else None

    def money_total(self) -> Decimal | None:
        total = self.values.get("total")
        return total if isinstance(total, Decimal) else None


@dataclass
class Choice:
    value: str
    label: str
    selected: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
