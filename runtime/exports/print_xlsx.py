"""The Excel print copy: the same fields, lines, totals and history as the PDF, as real
numbers and dates, written with XlsxWriter from a resolved :class:`PrintCopy`.

Sheets, named in the downloader's language: the form (表单 / Form: the submission's facts and
fields in layout order, the total in capital numerals), one sheet per table named by its
label (费用明细), and the history (审批记录 / History). Nothing here reads the database;
masked values arrive masked.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..render.values import display_width
from .cells import WORKBOOK_OPTIONS, CellValue, CellWriter, sheet_names
from .print import PrintCopy, TableEntry

#: Sheet names by language (a printed workbook is read by people, not imported).
FORM_SHEET = {"zh": "表单", "en": "Form"}
HISTORY_SHEET = {"zh": "审批记录", "en": "History"}
A4 = 9
#: Characters a sheet name may not hold.
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\']")

_TITLE = {"bold": True, "font_size": 14}
_LABEL = {"bold": True, "valign": "top"}
_SECTION = {"bold": True, "bg_color": "#E7E6E6", "bottom": 1}
_HEADER = {"bold": True, "bg_color": "#E7E6E6", "bottom": 1, "text_wrap": True, "valign": "top"}
_TOTAL = {"bold": True, "top": 1, "bg_color": "#F2F2F2"}
_WRAP = {"text_wrap": True, "valign": "top"}
_DRAFT = {"bold": True, "font_color": "#B71C1C"}


def write_print_xlsx(copy: PrintCopy, out: BinaryIO | str) -> None:
    workbook = xlsxwriter.Workbook(out, {**WORKBOOK_OPTIONS, "in_memory": True})
    try:
        cells = CellWriter(workbook)
        workbook.set_properties(
            {
                "title": f"{copy.title} {copy.number}",
                "author": copy.printed_by,
                "company": copy.company,
                "comments": f"{copy.template_key} v{copy.template_version}",
            }
        )
        lang = "zh" if copy.lang == "zh-CN" else "en"
        names = _table_sheet_names(copy, reserved=(FORM_SHEET[lang], HISTORY_SHEET[lang]))
        form = workbook.add_worksheet(FORM_SHEET[lang])
        _write_form(form, copy, cells, names)
        for table in copy.tables:
            _write_table(workbook.add_worksheet(names[table.key]), copy, table, cells)
        if copy.show_history:
            _write_history(workbook.add_worksheet(HISTORY_SHEET[lang]), copy, cells)
        form.activate()
    finally:
        workbook.close()


def _table_sheet_names(copy: PrintCopy, reserved: tuple[str, ...]) -> dict[str, str]:
    """A sheet per table, named by its label (费用明细), unique and valid; by its key
    (``Lines``) when the label cannot name a sheet."""
    by_key = sheet_names([t.key for t in copy.tables], reserved=reserved)
    taken = {name.lower() for name in reserved}
    names = {}
    for table in copy.tables:
        label = _NOT_IN_SHEET_NAME.sub("", table.label).strip()[:31]
        name = label if label and label.lower() not in taken else by_key[table.key]
        taken.add(name.lower())
        names[table.key] = name
    return names


def _page_setup(sheet: Worksheet, copy: PrintCopy, *, landscape: bool = False) -> None:
    sheet.set_paper(A4)
    if landscape or copy.orientation == "landscape":
        sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    if copy.stamp:
        sheet.set_header(f'&C&"-,Bold"&14{copy.stamp.replace("&", "&&")}')
    sheet.set_footer(f"&L{copy.number}&R&P / &N")


def _write_form(
    sheet: Worksheet, copy: PrintCopy, cells: CellWriter, names: dict[str, str]
) -> None:
    _page_setup(sheet, copy)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 44)
    sheet.set_column(2, 2, 18)
    cells.text(sheet, 0, 0, copy.title, **_TITLE)
    facts: list[tuple[str, str | None, dict]] = [
        ("编号 Number", copy.number, {}),
        ("状态 Status", copy.status_label, _DRAFT if copy.draft else {}),
        ("部门 Department", copy.department, {}),
        ("申请人 Submitted by", copy.submitter, {}),
    ]
    if copy.revision_of:
        facts.insert(1, ("变更自 Revision of", copy.revision_of, {}))
    if copy.superseded_by:
        facts.insert(1, ("已被变更取代 Replaced by", copy.superseded_by, _DRAFT))
    row = 2
    for label, value, style in facts:
        cells.text(sheet, row, 0, label, **_LABEL)
        cells.text(sheet, row, 1, value or "", **style)
        row += 1
    moments = [
        ("创建 Created", copy.created_at),
        ("提交 Submitted", copy.submitted_at),
        ("打印 Printed", copy.printed_at),
    ]
    for label, moment in moments:
        cells.text(sheet, row, 0, label, **_LABEL)
        if moment is not None:
            cells.timestamp(sheet, row, 1, moment, align="left")
        row += 1
    cells.text(sheet, row - 1, 2, copy.printed_by)
    if copy.total_in_words:
        cells.text(sheet, row, 0, "金额合计（大写） Amount in words", **_LABEL)
        cells.text(sheet, row, 1, copy.total_in_words, bold=True)
        cells.text(sheet, row, 2, copy.total_text, bold=True, align="right")
        row += 1
    row += 1
    for entry in copy.fields:
        if isinstance(entry, str):
            cells.text(sheet, row, 0, entry, **_SECTION)
            sheet.write_blank(row, 1, None, cells.format(**_SECTION))
        elif isinstance(entry, TableEntry):
            cells.text(sheet, row, 0, entry.label, **_LABEL)
            cells.text(sheet, row, 1, entry.masked or f"见工作表 see sheet {names[entry.key]}")
        else:
            cells.text(sheet, row, 0, entry.label, **_LABEL)
            cells.value(sheet, row, 1, entry.cell, **_WRAP)
        row += 1
    if copy.attachments:
        row += 1
        cells.text(sheet, row, 0, "附件 Attachments", **_SECTION)
        sheet.write_blank(row, 1, None, cells.format(**_SECTION))
        row += 1
        for attachment in copy.attachments:
            cells.text(sheet, row, 0, attachment.where, **_WRAP)
            cells.text(sheet, row, 1, attachment.name, **_WRAP)
            row += 1


def _write_table(sheet: Worksheet, copy: PrintCopy, table: TableEntry, cells: CellWriter) -> None:
    _page_setup(sheet, copy, landscape=len(table.columns) > 5)
    cells.text(sheet, 0, 0, f"{table.label} · {copy.number}", **_TITLE)
    header = 2
    for col, (_key, label) in enumerate(table.columns):
        cells.text(sheet, header, col, label, **_HEADER)
        sheet.set_column(col, col, _width(label, [r[col] for r in table.rows]))
    sheet.freeze_panes(header + 1, 0)
    if table.masked:
        cells.text(sheet, header + 1, 0, table.masked)
        return
    row = header + 1
    for values in table.rows:
        for col, value in enumerate(values):
            cells.value(sheet, row, col, value)
        row += 1
    if table.totals:
        keys = [key for key, _label in table.columns]
        for col, key in enumerate(keys):
            total = table.totals.get(key)
            if total is not None:
                cells.value(sheet, row, col, total, **_TOTAL)
            elif col == 0:
                cells.text(sheet, row, col, "合计 Total", **_TOTAL)
            else:
                sheet.write_blank(row, col, None, cells.format(**_TOTAL))
    sheet.repeat_rows(header)


def _write_history(sheet: Worksheet, copy: PrintCopy, cells: CellWriter) -> None:
    _page_setup(sheet, copy, landscape=True)
    offset = copy.printed_at.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    headings = [
        f"时间 Time ({offset})",
        "步骤 Step",
        "处理人 By",
        "代 On behalf of",
        "操作 Action",
        "审批意见 Remarks",
    ]
    for col, (heading, width) in enumerate(zip(headings, (18, 18, 16, 16, 14, 50), strict=True)):
        cells.text(sheet, 0, col, heading, **_HEADER)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    for row, entry in enumerate(copy.history, start=1):
        cells.timestamp(sheet, row, 0, entry.at, valign="top")
        for col, text in enumerate(
            (entry.step, entry.actor, entry.on_behalf_of or "", entry.action, entry.comment or ""),
            start=1,
        ):
            cells.text(sheet, row, col, text, **_WRAP)
    if not copy.history:
        cells.text(sheet, 1, 0, "尚无审批记录 No approval history yet.")


def _width(label: str, values: list[CellValue]) -> float:
    widest = display_width(label)
    for value in values[:200]:
        if value.kind == "text":
            widest = max(widest, display_width(str(value.value or "")))
        elif value.kind == "date":
            widest = max(widest, 10)
        else:
            widest = max(widest, 12)
    return float(min(50, widest + 2))
