"""The blank workbook written with XlsxWriter: a resolved :class:`.layout.BlankWorkbook` in,
bytes out, no database access. Every sheet is protected; only input cells are unlocked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from ...forms import values as form_values
from ..cells import WORKBOOK_OPTIONS, CellWriter, typed
from .layout import (
    FIRST_FORM_ROW,
    FIRST_LINE_ROW,
    FORM_SHEET_ROW,
    HEADER_ROW,
    HINT_ROW,
    KEY_ROW,
    LISTS_SHEET,
    META_SHEET,
    TABLE_SHEET_PREFIX,
    WORKBOOK_FORMAT,
    BlankWorkbook,
    LinesSheet,
    WorkbookLayout,
    _both,
    layout_of,
)

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
    layout = layout_of(template, blank.locale)
    workbook = xlsxwriter.Workbook(out, {**WORKBOOK_OPTIONS, "in_memory": True})
    try:
        cells = CellWriter(workbook)
        workbook.set_properties(
            {
                "title": _both(template.title),
                "comments": f"{template.key} v{blank.version} · {WORKBOOK_FORMAT}",
            }
        )
        form = workbook.add_worksheet(layout.form_sheet)
        sheets = {t.name: workbook.add_worksheet(t.name) for t in layout.tables}
        lists = workbook.add_worksheet(LISTS_SHEET)
        meta = workbook.add_worksheet(META_SHEET)
        sources = _write_lists(lists, blank.choices, cells)
        _write_form_sheet(form, blank, layout, cells, sources)
        for table in layout.tables:
            _write_lines_sheet(sheets[table.name], blank, table, cells, sources)
        _write_meta(meta, blank, layout, cells)
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


def _write_meta(
    sheet: Worksheet, blank: BlankWorkbook, layout: WorkbookLayout, cells: CellWriter
) -> None:
    """What the file is, and the names its sheets were given (the reader looks them up)."""
    rows: list[tuple[str, str | int]] = [
        ("template", blank.template.key),
        ("version", blank.version),
        ("format", WORKBOOK_FORMAT),
        ("title", _both(blank.template.title)),
        (FORM_SHEET_ROW, layout.form_sheet),
        *((f"{TABLE_SHEET_PREFIX}{t.field.key}", t.name) for t in layout.tables),
    ]
    for row, (name, value) in enumerate(rows):
        cells.text(sheet, row, 0, name)
        if isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            cells.text(sheet, row, 1, value)
