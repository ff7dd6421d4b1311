"""Where everything goes in the offline workbook: a pure function of the template.

The reader finds every value at the address the writer used (:func:`layout_of`) and never
trusts a map stored in the file; the hidden ``_quire`` sheet only names the template and
its version. :class:`BlankWorkbook` is the resolved document the writer takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from xlsxwriter.utility import xl_col_to_name

from quire.designer.model import Template
from quire.widgets.base import Bilingual, FieldBase

from ...forms import values as form_values
from ...render.document import bilingual
from ..cells import sheet_names

FORM_SHEET = "Form"
#: The form sheet's name in each language; a workbook's sheets are named in the language of
#: the person who downloaded it, and the ``_quire`` sheet records the names it was given.
FORM_SHEETS = {"zh_CN": "表单", "en": FORM_SHEET}
#: Rows of the ``_quire`` sheet that name the form's sheet and each table's sheet.
FORM_SHEET_ROW = "sheet"
TABLE_SHEET_PREFIX = "sheet:"
META_SHEET = "_quire"
LISTS_SHEET = "_lists"
#: What the ``_quire`` sheet says the file is; bumped if the layout rules change.
WORKBOOK_FORMAT = "quire-workbook/1"

#: Form sheet: title, instructions, version line, then one row per field from row 5.
FIRST_FORM_ROW = 5
#: Lines sheets: hints in row 4, field keys in row 5, labels in row 6, lines from row 7.
HINT_ROW, KEY_ROW, HEADER_ROW, FIRST_LINE_ROW = 4, 5, 6, 7
#: Input rows per table (fewer when the table takes fewer).
INPUT_ROWS = 200


def _both(text: Bilingual | None) -> str:
    return bilingual({"zh": text.zh, "en": text.en}) if text is not None else ""


@dataclass(frozen=True)
class FormLine:
    """One row of the Form sheet (1-based ``row``): a section title, a note, a field, or a
    pointer to the sheet that holds a table's lines."""

    row: int
    kind: Literal["section", "note", "field", "table"]
    text: str
    field: Any = None


@dataclass(frozen=True)
class LinesSheet:
    """A table field's sheet: one column per table column from A, lines from row 7."""

    field: Any
    name: str
    capacity: int

    @property
    def columns(self) -> list[Any]:
        return list(self.field.columns)

    def letter(self, key: str) -> str | None:
        for index, column in enumerate(self.field.columns):
            if column.key == key:
                return xl_col_to_name(index)
        return None

    @property
    def last_row(self) -> int:
        return FIRST_LINE_ROW + self.capacity - 1


@dataclass(frozen=True)
class WorkbookLayout:
    lines: tuple[FormLine, ...]
    tables: tuple[LinesSheet, ...]
    #: The name of the sheet that holds the form's own fields.
    form_sheet: str = FORM_SHEET

    def named(self, form_sheet: str, tables: Mapping[str, str]) -> WorkbookLayout:
        """The same layout with its sheets under other names (those a workbook was given)."""
        renamed = tuple(replace(t, name=tables.get(t.field.key, t.name)) for t in self.tables)
        return replace(self, form_sheet=form_sheet, tables=renamed)

    def row_of(self, key: str) -> int | None:
        return next(
            (line.row for line in self.lines if line.field is not None and line.field.key == key),
            None,
        )

    def table(self, key: str) -> LinesSheet | None:
        return next((t for t in self.tables if t.field.key == key), None)

    @property
    def last_row(self) -> int:
        return max((line.row for line in self.lines), default=FIRST_FORM_ROW)


def language(locale: str) -> str:
    return "en" if locale.startswith("en") else "zh_CN"


def layout_of(template: Template, locale: str = "en") -> WorkbookLayout:
    """Where each field goes: the template's layout order, then any field it leaves out;
    sheets named in ``locale`` (a table's sheet after its label in Chinese: 费用明细)."""
    entries: list[Any] = []
    seen: set[str] = set()
    for section in template.layout.sections:
        if section.title:
            entries.append(section.title)
        for row in section.rows:
            for cell in row.cells:
                f = template.field(cell.field)
                if f is not None and f.key not in seen:
                    seen.add(f.key)
                    entries.append(f)
    entries += [f for f in template.fields if f.key not in seen]

    registry = form_values.widgets()
    table_fields = [
        e for e in entries if isinstance(e, FieldBase) and registry.for_field(e).repeats
    ]
    form_sheet = FORM_SHEETS[language(locale)]
    reserved = (form_sheet, META_SHEET, LISTS_SHEET)
    if language(locale) == "en":
        names = sheet_names([t.key for t in table_fields], reserved=reserved)
    else:
        bases = {t.key: _sheet_text(t.label.zh if t.label else "") for t in table_fields}
        names = sheet_names([t.key for t in table_fields], reserved=reserved, bases=bases)
    lines: list[FormLine] = []
    tables: list[LinesSheet] = []
    row = FIRST_FORM_ROW
    for entry in entries:
        if isinstance(entry, Bilingual):
            lines.append(FormLine(row, "section", _both(entry)))
        elif not registry.for_field(entry).has_value:
            # Headings and notes store nothing: what they show becomes a line of the sheet.
            widget = registry.for_field(entry)
            text = {
                "zh": widget.display(entry, None, "zh"),
                "en": widget.display(entry, None, "en"),
            }
            lines.append(FormLine(row, "section" if widget.heading else "note", bilingual(text)))
        elif entry in table_fields:
            sheet = LinesSheet(entry, names[entry.key], min(entry.max_rows, INPUT_ROWS))
            tables.append(sheet)
            lines.append(FormLine(row, "table", _both(entry.label), entry))
        elif registry.for_field(entry).has_value:
            lines.append(FormLine(row, "field", _both(entry.label), entry))
        else:
            continue
        row += 1
    return WorkbookLayout(tuple(lines), tuple(tables), form_sheet)


_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\']")


def _sheet_text(label: str) -> str:
    """A label as a sheet name may hold it (no ``[]:*?/\\'``, at most 28 characters)."""
    return _NOT_IN_SHEET_NAME.sub("", label).strip()[:28]


@dataclass(frozen=True)
class BlankWorkbook:
    """What the writer needs, resolved: no database access while writing."""

    template: Template
    version: int
    access: Mapping[str, str]
    #: Prefilled values (the form's defaults for this person), as stored JSON.
    defaults: Mapping[str, Any]
    #: Allowed values per field key (or ``table.column``) for drop-down lists.
    choices: Mapping[str, Sequence[str]]
    #: The language its sheets are named in (the downloader's).
    locale: str = "zh_CN"

    @property
    def filename(self) -> str:
        return f"{self.template.key}-v{self.version}.xlsx"
