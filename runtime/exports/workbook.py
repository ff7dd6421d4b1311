"""Offline Excel filling: a blank, protected workbook for a form, and reading it back.

The workbook's layout is a pure function of the template (:func:`layout_of`), so the
reader finds every value at the address the writer used and never trusts a map stored in
the file; the hidden ``_quire`` sheet only names the template and its version. Values are
parsed by the same service as the web form and the API (:func:`forms.service.create`),
and every problem it reports at a JSON path (``lines[2].amount``) is turned back into the
cell it came from (``Lines!D9``).

An upload is an untrusted zip file: it is checked for size, macros and external links
before openpyxl parses it (read-only, through defusedxml), and only the input area is read.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO, Literal

import openpyxl
import openpyxl.xml
import xlsxwriter
from flask import current_app
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from quire.designer.model import Template
from quire.widgets.base import Bilingual, FieldBase

from .. import access, audit
from ..errors import Detail, Forbidden, Invalid, NotFound, TooLarge
from ..extensions import db
from ..forms import service
from ..forms import templates as template_service
from ..forms import values as form_values
from ..forms.lookup import OrganisationLookup
from ..models import Submission, User
from ..render.document import bilingual
from .cells import WORKBOOK_OPTIONS, CellWriter, sheet_names, typed

FORM_SHEET = "Form"
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
#: Rows below the input area that are looked at, to report lines that would be lost.
OVERFLOW_SCAN_ROWS = 1000

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Limits on what the zip unpacks to, checked before any XML is parsed (a zip bomb of a few
#: hundred KB can unpack to gigabytes). A filled Quire workbook is well under a megabyte.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_PART_BYTES = 16 * 1024 * 1024
MAX_PARTS = 2000
#: Most entries in xl/sharedStrings.xml (every distinct text of the workbook).
MAX_SHARED_STRINGS = 100_000
SHARED_STRINGS_PART = "xl/sharedstrings.xml"
ACCEPTED_SUFFIXES = frozenset({"", ".xlsx"})
MACRO_SUFFIXES = frozenset({".xlsm", ".xltm", ".xlam", ".xlsb"})
#: Parts that carry code or reach outside the file; a workbook with any of them is refused.
MACRO_PARTS = ("xl/vbaproject", "xl/macrosheets/", "xl/dialogsheets/", "xl/activex/")
EXTERNAL_LINK_PARTS = ("xl/externallinks/",)

#: The row a table error names, in either language: the cell address says it already.
_ROW_PREFIX = re.compile(r"^(?:row \d+: |第 \d+ 行：)")
_PATH = re.compile(r"^([a-z][a-z0-9_]*)(?:\[(\d+)\](?:\.([a-z][a-z0-9_]*))?)?$")
_SEPARATORS = re.compile(r"\s*[,，、;；]\s*")


def _both(text: Bilingual | None) -> str:
    return bilingual({"zh": text.zh, "en": text.en}) if text is not None else ""


# --- layout ---------------------------------------------------------------------------------------
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


def layout_of(template: Template) -> WorkbookLayout:
    """Where each field goes: the template's layout order, then any field it leaves out."""
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
    names = sheet_names(
        [t.key for t in table_fields], reserved=(FORM_SHEET, META_SHEET, LISTS_SHEET)
    )
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
            kind = "section" if widget.heading else "note"
            lines.append(FormLine(row, kind, bilingual(text)))
        elif entry in table_fields:
            sheet = LinesSheet(entry, names[entry.key], min(entry.max_rows, INPUT_ROWS))
            tables.append(sheet)
            lines.append(FormLine(row, "table", _both(entry.label), entry))
        elif registry.for_field(entry).has_value:
            lines.append(FormLine(row, "field", _both(entry.label), entry))
        else:
            continue
        row += 1
    return WorkbookLayout(tuple(lines), tuple(tables))


# --- the blank workbook ---------------------------------------------------------------------------
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

    @property
    def filename(self) -> str:
        return f"{self.template.key}-v{self.version}.xlsx"


def blank_workbook(user: User, key: str) -> BlankWorkbook:
    """The blank workbook of the latest published version, for someone who may fill it in."""
    record = template_service.template_by_key(key)
    if record.kind != "form":
        raise NotFound(f"{key} is not a form.")
    if not access.may_fill_forms(user):
        raise Forbidden("You are not allowed to fill in forms.")
    version, template = template_service.published(key)
    field_access = service.new_form_access(user, template)
    outcome = form_values.process(
        template,
        {},
        previous=None,
        access=field_access,
        extra=service.submitter_facts(user),
        creating=True,
    )
    editable_defaults = {
        k: v
        for k, v in outcome.data.items()
        if field_access.get(k) == "edit"
        and v not in (None, "", [])
        and not form_values.is_computed(template.field(k))
    }
    return BlankWorkbook(
        template, version.version, field_access, editable_defaults, _choices(template)
    )


def _choices(template: Template) -> dict[str, list[str]]:
    """Drop-down values per field key (``table.column`` for columns), as each widget lists."""
    fields: list[tuple[str, Any]] = []
    for f in template.fields:
        for column in getattr(f, "columns", None) or []:
            fields.append((f"{f.key}.{column.key}", column))
        fields.append((f.key, f))
    registry = form_values.widgets()
    lookup = OrganisationLookup("zh_CN")
    found: dict[str, list[str]] = {}
    for key, f in fields:
        values = registry.for_field(f).list_values(f, lookup)
        if values is not None:
            found[key] = values
    return found


_TITLE = {"bold": True, "font_size": 14}
_NOTE = {"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"}
_LABEL = {"bold": True, "valign": "top", "text_wrap": True}
_SECTION = {"bold": True, "bg_color": "#D9E1F2", "bottom": 1}
_HEADER = {"bold": True, "bg_color": "#E7E6E6", "bottom": 1, "text_wrap": True, "valign": "top"}
_KEY = {"font_color": "#808080", "font_size": 8}
_INPUT = {"locked": False, "bg_color": "#FFF9E6", "border": 1, "border_color": "#BFBFBF"}
_FIXED = {"bg_color": "#F2F2F2", "font_color": "#595959"}
_PROTECTION = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "format_columns": True,
    "format_rows": True,
}
_INPUT_FORMATS = {"money": "#,##0.00", "date": "yyyy-mm-dd", "percent": "0.00%", "text": "@"}


def write_blank_workbook(blank: BlankWorkbook, out: BinaryIO | str) -> None:
    """Form sheet, a sheet per table, hidden lists and the hidden ``_quire`` sheet; every
    sheet protected, only input cells unlocked."""
    template = blank.template
    layout = layout_of(template)
    workbook = xlsxwriter.Workbook(out, {**WORKBOOK_OPTIONS, "in_memory": True})
    try:
        cells = CellWriter(workbook)
        workbook.set_properties(
            {
                "title": _both(template.title),
                "comments": f"{template.key} v{blank.version} · {WORKBOOK_FORMAT}",
            }
        )
        form = workbook.add_worksheet(FORM_SHEET)
        sheets = {t.name: workbook.add_worksheet(t.name) for t in layout.tables}
        lists = workbook.add_worksheet(LISTS_SHEET)
        meta = workbook.add_worksheet(META_SHEET)
        sources = _write_lists(lists, blank.choices, cells)
        _write_form_sheet(form, blank, layout, cells, sources)
        for table in layout.tables:
            _write_lines_sheet(sheets[table.name], blank, table, cells, sources)
        _write_meta(meta, blank, cells)
        for sheet in (lists, meta):
            sheet.protect("", _PROTECTION)
            sheet.hide()
        form.activate()
    finally:
        workbook.close()


def _write_lists(
    sheet: Worksheet, choices: Mapping[str, Sequence[str]], cells: CellWriter
) -> dict[str, str]:
    """One column per list; returns the range each drop-down takes its values from."""
    sources: dict[str, str] = {}
    for col, (key, values) in enumerate(choices.items()):
        if not values:
            continue
        cells.text(sheet, 0, col, key)
        for row, value in enumerate(values, start=1):
            cells.text(sheet, row, col, value)
        letter = xl_col_to_name(col)
        sources[key] = f"='{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
    return sources


def _hint(f: Any, blank: BlankWorkbook, *, computed: bool) -> str:
    if computed:
        return "自动计算，上传后由 Quire 计算 Computed by Quire when you upload"
    if blank.access.get(f.key, "edit") != "edit":
        return "此处不可填写 Not filled in here"
    text = form_values.widgets().for_field(f).workbook_hint(f)
    help_text = _both(f.help) if f.help else ""
    return " — ".join(part for part in (text, help_text) if part)


def _input_format(f: Any) -> dict[str, Any]:
    kind = form_values.widgets().for_field(f).excel_format
    num_format = _INPUT_FORMATS.get(kind)
    if kind not in _INPUT_FORMATS and kind not in ("number", "boolean"):
        num_format = "@"  # typed digits stay text (bank accounts, invoice numbers)
    return {**_INPUT, **({"num_format": num_format} if num_format else {})}


def _label(f: Any, editable: bool) -> str:
    return ("* " if f.required and editable else "") + _both(f.label)


def _write_form_sheet(
    sheet: Worksheet,
    blank: BlankWorkbook,
    layout: WorkbookLayout,
    cells: CellWriter,
    sources: Mapping[str, str],
) -> None:
    template = blank.template
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 36)
    sheet.set_column(2, 2, 64)
    cells.text(sheet, 0, 0, _both(template.title), **_TITLE)
    cells.merged(
        sheet,
        1,
        0,
        2,
        "在黄色单元格中填写，保存后在 Quire 上传本文件，即生成草稿。"
        " Fill in the yellow cells, save, and upload the file in Quire to create a draft.",
        **_NOTE,
    )
    cells.text(sheet, 2, 0, f"{template.key} · 版本 version {blank.version}", **_KEY)
    registry = form_values.widgets()
    defaults = form_values.to_python(template, blank.defaults)
    for line in layout.lines:
        row = line.row - 1
        if line.kind == "section":
            cells.text(sheet, row, 0, line.text, **_SECTION)
            for col in (1, 2):
                sheet.write_blank(row, col, None, cells.format(**_SECTION))
            continue
        if line.kind == "note":
            cells.merged(sheet, row, 0, 2, line.text, **_NOTE)
            sheet.set_row(row, 30)
            continue
        f = line.field
        level = blank.access.get(f.key, "edit")
        if level == "hidden":
            sheet.set_row(row, None, None, {"hidden": True})
            continue
        if line.kind == "table":
            editable = level == "edit"
            cells.text(sheet, row, 0, _label(f, editable), **_LABEL)
            name = layout.table(f.key).name  # type: ignore[union-attr]
            cells.text(sheet, row, 1, f"见工作表 see sheet {name}", **_FIXED)
            continue
        computed = registry.for_field(f).computed
        editable = level == "edit" and not computed
        cells.text(sheet, row, 0, _label(f, editable), **_LABEL)
        cells.text(sheet, row, 2, _hint(f, blank, computed=computed), **_NOTE)
        if not editable:
            sheet.write_blank(row, 1, None, cells.format(**_FIXED))
            continue
        fmt = _input_format(f)
        default = defaults.get(f.key)
        exported = registry.for_field(f).export_value(f, default) if default is not None else None
        cell = typed(exported.excel_format, exported.value) if exported else None
        if cell is not None:
            cells.value(sheet, row, 1, cell, **fmt)
        elif default not in (None, "", []):
            cells.text(sheet, row, 1, str(blank.defaults.get(f.key)), **fmt)
        else:
            sheet.write_blank(row, 1, None, cells.format(**fmt))
        if f.key in sources:
            _validate_list(sheet, row, 1, row, 1, sources[f.key], f)
    sheet.freeze_panes(FIRST_FORM_ROW - 1, 0)
    sheet.protect("", _PROTECTION)


def _validate_list(
    sheet: Worksheet, first_row: int, col: int, last_row: int, last_col: int, source: str, f: Any
) -> None:
    sheet.data_validation(
        first_row,
        col,
        last_row,
        last_col,
        {
            "validate": "list",
            "source": source,
            "input_title": f.label.en[:32],
            "input_message": _both(f.label)[:255],
            "error_title": "Quire",
            "error_message": "请从列表中选择 Please choose a value from the list.",
        },
    )


def _write_lines_sheet(
    sheet: Worksheet,
    blank: BlankWorkbook,
    table: LinesSheet,
    cells: CellWriter,
    sources: Mapping[str, str],
) -> None:
    f = table.field
    registry = form_values.widgets()
    editable_table = blank.access.get(f.key, "edit") == "edit"
    cells.text(sheet, 0, 0, f"{_both(f.label)} · {_both(blank.template.title)}", **_TITLE)
    cells.merged(
        sheet,
        1,
        0,
        max(len(table.columns) - 1, 0),
        f"从第 {FIRST_LINE_ROW} 行起每行一条，最多 {table.capacity} 条；空行会被跳过。"
        f" One line per row from row {FIRST_LINE_ROW}, at most {table.capacity}; empty rows are"
        " skipped.",
        **_NOTE,
    )
    first, last = FIRST_LINE_ROW - 1, table.last_row - 1
    for col, column in enumerate(table.columns):
        computed = registry.for_field(column).computed
        editable = editable_table and not computed
        cells.text(
            sheet,
            HINT_ROW - 1,
            col,
            _hint(column, blank, computed=computed)
            if editable or computed
            else "此处不可填写 Not filled in here",
            **_NOTE,
        )
        cells.text(sheet, KEY_ROW - 1, col, column.key, **_KEY)
        cells.text(sheet, HEADER_ROW - 1, col, _label(column, editable), **_HEADER)
        width = registry.for_field(column).excel_width
        if editable:
            sheet.set_column(col, col, width)
            fmt = cells.format(**_input_format(column))
            for row in range(first, last + 1):
                sheet.write_blank(row, col, None, fmt)
            source = sources.get(f"{f.key}.{column.key}")
            if source:
                _validate_list(sheet, first, col, last, col, source, column)
        else:
            sheet.set_column(col, col, width)
            fixed = cells.format(**_FIXED)
            for row in range(first, last + 1):
                sheet.write_blank(row, col, None, fixed)
    sheet.set_row(HINT_ROW - 1, 48)
    sheet.freeze_panes(HEADER_ROW, 0)
    sheet.protect("", _PROTECTION)


def _write_meta(sheet: Worksheet, blank: BlankWorkbook, cells: CellWriter) -> None:
    rows = [
        ("template", blank.template.key),
        ("version", blank.version),
        ("format", WORKBOOK_FORMAT),
        ("title", _both(blank.template.title)),
    ]
    for row, (name, value) in enumerate(rows):
        cells.text(sheet, row, 0, name)
        if isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            cells.text(sheet, row, 1, value)


# --- reading an upload ----------------------------------------------------------------------------
@dataclass
class FilledWorkbook:
    """What an upload holds: the ``data`` object to create from, and where each line was."""

    layout: WorkbookLayout
    data: dict[str, Any] = field(default_factory=dict)
    #: Excel row of each line that was read, per table key (index = JSON row index).
    rows: dict[str, list[int]] = field(default_factory=dict)
    problems: list[Detail] = field(default_factory=list)

    def locate(self, detail: Detail) -> Detail:
        """A problem at a JSON path, addressed by the cell it came from."""
        match = _PATH.match(detail.path)
        if match is None:
            return Detail(f"{FORM_SHEET}!A1", f"{detail.path}: {detail.message}")
        key, index, column = match.group(1), match.group(2), match.group(3)
        table = self.layout.table(key)
        if table is not None:
            rows = self.rows.get(key, [])
            if index is None:
                return Detail(f"{table.name}!A{FIRST_LINE_ROW}", detail.message)
            i = int(index)
            row = rows[i] if i < len(rows) else FIRST_LINE_ROW + i
            letter = (table.letter(column) if column else None) or "A"
            return Detail(f"{table.name}!{letter}{row}", _ROW_PREFIX.sub("", detail.message))
        row = self.layout.row_of(key)
        if row is None:
            return Detail(f"{FORM_SHEET}!A1", f"{detail.path}: {detail.message}")
        return Detail(f"{FORM_SHEET}!B{row}", detail.message)


def max_upload_bytes() -> int:
    return int(current_app.config.get("WORKBOOK_MAX_BYTES", MAX_UPLOAD_BYTES))


def check_package(content: bytes, filename: str | None, limit: int) -> None:
    """Refuse what is not a plain .xlsx before any XML is parsed: too large, not a zip,
    macros (.xlsm, VBA, Excel 4 macro sheets, ActiveX), or links to other files."""
    if len(content) > limit:
        raise TooLarge(
            f"The workbook is larger than {limit // (1024 * 1024)} MB.",
            [Detail("file", f"at most {limit} bytes")],
        )
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in MACRO_SUFFIXES:
        raise _refused(
            "macro-enabled workbooks are not accepted; save it as an Excel workbook (.xlsx)"
        )
    if suffix not in ACCEPTED_SUFFIXES:
        raise _refused("only Excel workbooks (.xlsx) are accepted")
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
        infos = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise _refused("this file is not an Excel workbook (.xlsx)") from None
    names = [i.filename.lower() for i in infos]
    if "xl/workbook.xml" not in names:
        raise _refused("this file is not an Excel workbook (.xlsx)")
    _check_unpacked_sizes(package, infos)
    if any(name.startswith(MACRO_PARTS) for name in names):
        raise _refused(
            "workbooks with macros are not accepted; save it as an Excel workbook (.xlsx)"
        )
    types = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
    if (
        types is not None
        and types.file_size < 1024 * 1024
        and b"macroEnabled" in package.read(types)
    ):
        raise _refused(
            "workbooks with macros are not accepted; save it as an Excel workbook (.xlsx)"
        )
    if any(name.startswith(EXTERNAL_LINK_PARTS) for name in names):
        raise _refused("the workbook links to other files; remove the links and upload it again")


def _check_unpacked_sizes(package: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Parts, unpacked sizes and shared strings within bounds, by the zip's directory and one
    streamed pass over the shared strings (zipfile stops a part that unpacks to more than its
    directory says, so the declared sizes can be trusted)."""
    too_large = TooLarge(
        "The workbook unpacks to too much data.", [Detail("file", "too large when unpacked")]
    )
    if len(infos) > MAX_PARTS:
        raise too_large
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise too_large
    if any(i.file_size > MAX_PART_BYTES for i in infos):
        raise too_large
    shared = next((i for i in infos if i.filename.lower() == SHARED_STRINGS_PART), None)
    if shared is None:
        return
    count, tail = 0, b""
    try:
        with package.open(shared) as stream:
            while chunk := stream.read(1 << 20):
                window = tail + chunk
                count += window.count(b"<si>") + window.count(b"<si ")
                tail = window[-3:]
                if count > MAX_SHARED_STRINGS:
                    raise TooLarge(
                        "The workbook has too many different texts.",
                        [Detail("file", "too many different texts")],
                    )
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        raise _refused("this file is not an Excel workbook (.xlsx)") from None


def _refused(message: str) -> Invalid:
    return Invalid("The workbook cannot be read.", [Detail("file", message)])


def read_workbook(
    content: bytes, *, key: str, version: int, template: Template, field_access: Mapping[str, str]
) -> FilledWorkbook:
    """The values of the input cells, after :func:`check_package`."""
    if not openpyxl.xml.DEFUSEDXML:
        raise RuntimeError("uploads need defusedxml installed (and OPENPYXL_DEFUSEDXML not off)")
    try:
        book = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False, keep_vba=False
        )
    except Exception as exc:  # noqa: BLE001 - anything a crafted file makes the parser raise
        raise _refused("this file could not be read as an Excel workbook") from exc
    try:
        _check_identity(book, key, version)
        filled = FilledWorkbook(layout_of(template))
        _read_form_sheet(book, filled, field_access)
        for table in filled.layout.tables:
            if field_access.get(table.field.key) == "edit":
                _read_lines_sheet(book, table, filled)
        return filled
    except (Invalid, TooLarge):
        raise
    except Exception as exc:  # noqa: BLE001 - malformed parts surface while rows stream
        raise _refused("this file could not be read as an Excel workbook") from exc
    finally:
        book.close()


def _cells(sheet: Any, min_row: int, max_row: int, max_col: int) -> list[tuple[Any, ...]]:
    return list(
        sheet.iter_rows(
            min_row=min_row, max_row=max_row, min_col=1, max_col=max_col, values_only=True
        )
    )


def _check_identity(book: Any, key: str, version: int) -> None:
    if META_SHEET not in book.sheetnames:
        raise Invalid(
            "This is not a Quire workbook.",
            [
                Detail(
                    f"{META_SHEET}!B1",
                    "the workbook has no Quire form in it; download a blank workbook "
                    "for the form and fill that in",
                )
            ],
        )
    found = {str(r[0]): r[1] for r in _cells(book[META_SHEET], 1, 4, 2) if r and r[0] is not None}
    if found.get("template") != key:
        raise Invalid(
            "This workbook is for another form.",
            [
                Detail(
                    f"{META_SHEET}!B1",
                    f"this workbook is for the form {str(found.get('template'))[:64]}, not {key}",
                )
            ],
        )
    try:
        theirs = int(found.get("version"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        theirs = None
    if theirs != version:
        shown = theirs if theirs is not None else "?"
        raise Invalid(
            "This workbook was made for another version of the form.",
            [
                Detail(
                    f"{META_SHEET}!B2",
                    f"this workbook was made for version {shown} of the form, which is now at "
                    f"version {version}; download a new blank workbook and copy your entries "
                    "into it",
                )
            ],
        )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_form_sheet(book: Any, filled: FilledWorkbook, field_access: Mapping[str, str]) -> None:
    if FORM_SHEET not in book.sheetnames:
        raise Invalid(
            "The workbook cannot be read.",
            [Detail(f"{FORM_SHEET}!A1", "the Form sheet is missing")],
        )
    rows = _cells(book[FORM_SHEET], 1, filled.layout.last_row, 2)
    registry = form_values.widgets()
    for line in filled.layout.lines:
        if line.kind != "field" or field_access.get(line.field.key) != "edit":
            continue
        if registry.for_field(line.field).computed:
            continue
        label, value = (
            (rows[line.row - 1] + (None, None))[:2] if line.row - 1 < len(rows) else (None, None)
        )
        if str(label or "").lstrip("* ") != line.text:
            filled.problems.append(
                Detail(
                    f"{FORM_SHEET}!A{line.row}",
                    f'expected the row "{line.text}" here; the layout was changed, so download '
                    "a new blank workbook and copy your entries into it",
                )
            )
            continue
        if not _blank(value):
            filled.data[line.field.key] = cell_to_raw(line.field, value)


def _read_lines_sheet(book: Any, table: LinesSheet, filled: FilledWorkbook) -> None:
    key = table.field.key
    if table.name not in book.sheetnames:
        filled.problems.append(Detail(f"{table.name}!A1", f"the {table.name} sheet is missing"))
        return
    sheet = book[table.name]
    columns = table.columns
    keys_row = _cells(sheet, KEY_ROW, KEY_ROW, len(columns))
    keys = [str(v) if v is not None else "" for v in (keys_row[0] if keys_row else ())]
    if keys != [c.key for c in columns]:
        filled.problems.append(
            Detail(
                f"{table.name}!A{KEY_ROW}",
                "the columns were changed; download a new blank workbook and "
                "copy your lines into it",
            )
        )
        return
    registry = form_values.widgets()
    inputs = [(i, c) for i, c in enumerate(columns) if not registry.for_field(c).computed]
    lines: list[dict[str, Any]] = []
    rows_read: list[int] = []
    last_scanned = table.last_row + OVERFLOW_SCAN_ROWS
    for offset, values in enumerate(_cells(sheet, FIRST_LINE_ROW, last_scanned, len(columns))):
        row = FIRST_LINE_ROW + offset
        values = tuple(values) + (None,) * (len(columns) - len(values))
        if all(_blank(values[i]) for i, _c in inputs):
            continue
        if row > table.last_row:
            filled.problems.append(
                Detail(
                    f"{table.name}!A{row}",
                    f"at most {table.capacity} lines fit, in rows {FIRST_LINE_ROW} "
                    f"to {table.last_row}; this row would be lost",
                )
            )
            break
        lines.append({c.key: cell_to_raw(c, values[i]) for i, c in inputs if not _blank(values[i])})
        rows_read.append(row)
    filled.data[key] = lines
    filled.rows[key] = rows_read


def cell_to_raw(f: Any, value: Any) -> Any:
    """A cell's value as the widget's parser takes it (the parser is the judge of it)."""
    return form_values.widgets().for_field(f).from_cell(f, value)


# --- upload ---------------------------------------------------------------------------------------
def import_workbook(user: User, key: str, content: bytes, filename: str | None) -> Submission:
    """A new draft from a filled workbook, or Invalid with every problem addressed by cell.

    Nothing is kept when any problem exists: the draft is created by the form service inside
    the caller's transaction, and rolled back here if the workbook had problems of its own.
    """
    record = template_service.template_by_key(key)
    if record.kind != "form":
        raise NotFound(f"{key} is not a form.")
    if not access.may_fill_forms(user):
        raise Forbidden("You are not allowed to fill in forms.")
    check_package(content, filename, max_upload_bytes())
    version, template = template_service.published(key)
    field_access = service.new_form_access(user, template)
    filled = read_workbook(
        content, key=key, version=version.version, template=template, field_access=field_access
    )
    problems = list(filled.problems)
    try:
        submission = service.create(user, key, filled.data)
    except Invalid as exc:
        problems += [filled.locate(d) for d in exc.details]
        submission = None
    if problems:
        db.session.rollback()
        raise Invalid(f"The workbook has {len(problems)} problem(s); nothing was saved.", problems)
    assert submission is not None
    audit.record(
        user,
        "submission.upload",
        object_type="submission",
        object_id=submission.id,
        changes={
            "form": key,
            "version": version.version,
            "number": submission.number,
            "file": (filename or "")[:200],
            "size": len(content),
            "lines": {k: len(v) for k, v in filled.rows.items()},
        },
    )
    return submission


def record_rejected_upload(
    user: User, key: str, filename: str | None, error: Invalid | TooLarge
) -> None:
    """Keep a trace of a refused upload (the caller has rolled back and commits this alone)."""
    audit.record(
        user,
        "submission.upload_refused",
        object_type="template",
        object_id=key,
        changes={
            "file": (filename or "")[:200],
            "problems": len(error.details) or 1,
            "first": error.details[0].as_dict() if error.details else error.message,
        },
    )


def record_blank_download(user: User, blank: BlankWorkbook) -> None:
    audit.record(
        user,
        "form.workbook",
        object_type="template",
        object_id=blank.template.key,
        changes={"version": blank.version},
    )
