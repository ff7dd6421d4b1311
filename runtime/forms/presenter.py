"""What a form page shows: sections, cells, input values, display text, errors and totals.

The views hand this to the Jinja layout; the same layout prints the PDF copy. It never
parses or decides access itself: values come from :mod:`.values`, access from
:mod:`quire.runtime.access`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from flask import current_app, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from quire.designer.model import Template
from quire.widgets.base import MISSING, FieldBase, FieldView, RenderMode, localized
from quire.widgets.rendering import render as render_field

from ..errors import Detail
from ..extensions import db
from . import values as form_values
from .lookup import OrganisationLookup

#: A path into a table's rows, as errors carry it: ``lines[0].date``.
_ROW_PATH = re.compile(
    r"^(?P<table>[A-Za-z0-9_-]+)\[(?P<row>[0-9]+)\](?:\.(?P<column>[A-Za-z0-9_-]+))?$"
)


#: The field naming the department a form is filed for (see forms.service._department_of).
FILING_FIELD = "department"

#: Files shown inline beside their line, by content type (set from the file's checked suffix).
PREVIEWS = {"image/png": "image", "image/jpeg": "image", "application/pdf": "pdf"}


def file_size(size: int) -> str:
    """A file's size as people read it (12 KB, 1.4 MB)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


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
    template: Template,
    form: Mapping[str, Any],
    getlist: Any = None,
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """Flat form fields (``lines-2-amount``) to the nested ``data`` object the API takes;
    each widget reads the names its own input macro posts. ``only`` limits it to the fields
    the page drew as inputs (an approver's page shows a few among read-only values)."""
    data: dict[str, Any] = {}
    registry = form_values.widgets()
    for f in form_values.value_fields(template):
        widget = registry.for_field(f)
        if widget.computed or (only is not None and f.key not in only):
            continue
        raw = widget.from_form(f, f.key, form, getlist)
        if raw is not MISSING:
            data[f.key] = raw
    return data


class FormPage(OrganisationLookup):
    """One form as one person sees it now; it answers its widgets' questions (`Lookup`)."""

    def __init__(
        self,
        template: Template,
        data: Mapping[str, Any],
        access: Mapping[str, str],
        locale: str,
        *,
        errors: list[Detail] | None = None,
        typed: Mapping[str, Any] | None = None,
        mode: RenderMode = "readonly",
        upload_endpoint: str | None = "forms.upload",
    ) -> None:
        super().__init__(locale)
        self.template = template
        #: How fields the viewer may not edit are drawn: `readonly` on the page, `print` on
        #: the PDF copy.
        self.mode = mode
        self.upload_endpoint = upload_endpoint
        self.data = data
        self.access = access
        self.locale = locale
        self.typed = typed  # what the person typed, kept on error
        self.errors: dict[str, list[str]] = {}
        for e in errors or []:
            self.errors.setdefault(e.path, []).append(e.message)
        self.values = form_values.to_python(template, data)
        self._registry = form_values.widgets()
        self._source_options: dict[str, list[tuple[str, str]] | None] = {}
        #: Field keys whose data source could not be read just now (shown to the person).
        self.unavailable: set[str] = set()
        #: The input (by id) that takes the keyboard focus when a redrawn table arrives.
        self.focus: str | None = None
        self._line_note_tables: set[str] | None = None
        #: Warnings by path, shown at the field or line (`(sentence, link or None)`).
        self.warnings: dict[str, list[tuple[str, str | None]]] = {}

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

    def cell_editable(self, table: FieldBase, column: FieldBase) -> bool:
        """A table cell is an input when the table is, or when the viewer's step lets them
        correct that column of existing lines (``lines.category``)."""
        return self.editable(table.key) or self.editable(f"{table.key}.{column.key}")

    def editable_fields(self) -> list[str]:
        """Keys of the fields with at least one input on this page."""
        return [
            f.key
            for f in self.template.fields
            if self.editable(f.key) or form_values.editable_columns(f, self.access)
        ]

    def masked(self, key: str) -> bool:
        return self.access.get(key) == "masked"

    def label(self, f: FieldBase) -> str:
        return localized(f.label, self.locale)

    def help(self, f: FieldBase) -> str:
        return localized(f.help, self.locale) if f.help else ""

    def text(self, bilingual: Any) -> str:
        return localized(bilingual, self.locale) if bilingual else ""

    def is_table(self, f: FieldBase) -> bool:
        return self._registry.for_field(f).repeats

    def is_computed(self, f: FieldBase) -> bool:
        return self._registry.for_field(f).computed

    def has_value(self, f: FieldBase) -> bool:
        return self._registry.for_field(f).has_value

    # -- values -----------------------------------------------------------------------------------
    def errors_at(self, path: str) -> list[str]:
        return self.errors.get(path, [])

    def warnings_at(self, path: str) -> list[tuple[str, str | None]]:
        return self.warnings.get(path, [])

    def all_errors(self) -> list[tuple[str, str]]:
        return [(p, m) for p, ms in self.errors.items() for m in ms]

    def path_label(self, path: str) -> str:
        """Where an error is, as people name it: ``lines[0].date`` → "第 1 行 · 日期" /
        "Line 1 · Date" (the table's label first when the form has several tables)."""
        found = _ROW_PATH.match(path)
        if found is None:
            f = self.template.field(path)
            return self.label(f) if f is not None else path
        table = self.template.field(found["table"])
        if table is None:
            return path
        parts = [_("Line %(n)s", n=int(found["row"]) + 1)]
        tables = [f for f in self.template.fields if self.is_table(f)]
        if len(tables) > 1:
            parts.insert(0, self.label(table))
        column = table.column(found["column"]) if found["column"] else None
        if column is not None:
            parts.append(self.label(column))
        return " · ".join(parts)

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
        return widget.present(f, python, self.locale, self)

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
        return widget.present(column, python, self.locale, self)

    def line_note_column(self, table: FieldBase) -> str | None:
        """The column of a line where its budget note goes (the amount of a line that spends
        budget), or None for tables that spend none."""
        from ..approvals.budget import amount_columns

        if self._line_note_tables is None:
            self._line_note_tables = {key for key, _account in amount_columns(self.template)}
        return "amount" if table.key in self._line_note_tables else None

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
            column = cast(Any, table).column(key)  # a table field's own lookup
            out[key] = (
                self._registry.for_field(column).display(column, amount, self.locale)
                if column
                else str(amount)
            )
        return out

    # -- drawing a field with its widget ---------------------------------------------------------
    def view(
        self,
        f: FieldBase,
        mode: RenderMode,
        *,
        name: str | None = None,
        table: FieldBase | None = None,
        row: int | None = None,
    ) -> FieldView:
        """What the widget's macro needs to draw `f` (a table cell when `table` is given)."""
        widget = self._registry.for_field(f)
        name = name or f.key
        owner = table.key if table is not None else f.key
        view = FieldView(
            f, mode, name, locale=self.locale, cell=table is not None, masked=self.masked(owner)
        )
        if table is not None:
            stored = self.stored_rows(table)
            raw = stored[row][f.key] if row is not None and row < len(stored) else None
            view.text = self.cell_display(table, f, raw)
        else:
            view.text = (
                self.display(f) if widget.has_value else widget.display(f, None, self.locale)
            )
        if mode == "input":
            view.input_attrs = self.input_attrs(f, name, table, row)
        if mode in ("input", "design"):
            if widget.has_value and not widget.computed:
                view.value = self.input_value(f, row, table)
            view.choices = widget.choices(f, self, self.locale)
            if f.key == FILING_FIELD and table is None and mode == "input" and view.choices:
                filing = self.filing_departments()
                view.choices = [c for c in view.choices if c[0] in filing]
            view.unavailable = f.key in self.unavailable
            if widget.holds_files:
                if view.value and isinstance(view.value, str):
                    name_of_file = self.attachment_name(view.value)
                    view.attachment = name_of_file
                    view.files = self.files_of(view.value)
                if self.upload_endpoint:
                    view.upload_url = url_for(self.upload_endpoint, name=name)
                    view.remove_url = url_for("forms.attachment_slot", name=name)
        elif mode == "readonly" and widget.holds_files:
            if table is not None:
                stored = self.stored_rows(table)
                value = stored[row].get(f.key) if row is not None and row < len(stored) else None
            else:
                value = self.data.get(f.key)
            view.files = self.files_of(value)
        return view

    def filing_departments(self) -> set[str]:
        """Codes of the departments the viewer may file this form for (access decides); the
        department picker offers only these, as the server accepts only these."""
        from flask_login import current_user
        from sqlalchemy import select

        from .. import access
        from ..models import Department

        departments = db.session.scalars(select(Department).where(Department.active))
        return {d.code for d in departments if access.may_file_for(current_user, d)}

    def files_of(self, value: Any) -> list[dict[str, Any]]:
        """The uploaded files a value names that the viewer may open, with their links; an
        image or PDF also gets its inline preview (served with the same checks)."""
        from flask_login import current_user

        from .. import access
        from ..models import Attachment
        from ..numbers import parse_id

        found = []
        for item in value if isinstance(value, list) else [value]:
            attachment_id = parse_id(str(item)) if item not in (None, "") else None
            attachment = db.session.get(Attachment, attachment_id) if attachment_id else None
            if attachment is None or not access.may_download_attachment(current_user, attachment):
                continue
            preview = PREVIEWS.get(attachment.content_type)
            found.append(
                {
                    "id": attachment.id,
                    "name": attachment.filename,
                    "size": file_size(attachment.size),
                    "url": url_for("forms.download", attachment_id=attachment.id),
                    "preview": preview,
                    "preview_url": url_for("forms.preview", attachment_id=attachment.id)
                    if preview
                    else None,
                }
            )
        return found

    def input_attrs(
        self, f: FieldBase, name: str, table: FieldBase | None, row: int | None
    ) -> dict[str, str]:
        """What a screen reader needs on the input: a table cell's name ("第 1 行 日期", the
        column header and row number being far away), and the error that refused its value."""
        attrs: dict[str, str] = {}
        path = f.key
        if table is not None and row is not None:
            attrs["aria-label"] = _("Row %(n)s %(column)s", n=row + 1, column=self.label(f))
            path = f"{table.key}[{row}].{f.key}"
            if self.focus == name:
                attrs["autofocus"] = "autofocus"
        if self.errors_at(path):
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{name}-error"
        return attrs

    def render(self, f: FieldBase, mode: RenderMode, **where: Any) -> Markup:
        """The field drawn by its own widget (see :mod:`quire.widgets.rendering`)."""
        return render_field(current_app.jinja_env, self.view(f, mode, **where), self._registry)

    # -- what widgets may ask (quire.widgets.base.Lookup) -----------------------------------------
    def source_options(self, f: FieldBase) -> list[tuple[str, str]] | None:
        """Choices from the data source the field names; None when it cannot be read, so the
        form falls back to a text box and says the source is unavailable (never a 500)."""
        if f.key in self._source_options:
            return self._source_options[f.key]
        from flask_login import current_user

        from quire.plugins.base import ConnectorError

        from ..datasources.service import form_context, options_for
        from ..errors import QuireError

        spec = cast(Any, f).options_from  # the fields asked about here have one
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

    def money_total(self) -> Decimal | None:
        total = self.values.get("total")
        return total if isinstance(total, Decimal) else None


@dataclass
class Choice:
    value: str
    label: str
    selected: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
