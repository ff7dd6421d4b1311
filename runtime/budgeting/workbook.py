"""The round's Excel copy: the consolidated sheet first, then one sheet per department."""

from __future__ import annotations

import io
from decimal import Decimal

import xlsxwriter

from .service import QUARTERS, Consolidation, quarter_lines

_HEAD = {
    "zh": (
        "部门",
        "状态",
        "预算合计",
        "上年预算",
        "本年实际",
        "变动额",
        "变动率 %",
        "科目",
        "全年",
    ),
    "en": (
        "Department",
        "Status",
        "Total",
        "Last year's budget",
        "This year's actuals",
        "Change",
        "Change %",
        "Account",
        "Annual",
    ),
}
_STATUS = {
    "zh": {
        "not_started": "未开始",
        "draft": "草稿",
        "in_review": "审批中",
        "returned": "已退回",
        "approved": "已批准",
    },
    "en": {
        "not_started": "Not started",
        "draft": "Draft",
        "in_review": "In review",
        "returned": "Returned",
        "approved": "Approved",
    },
}


def _sheet_name(text: str, used: set[str]) -> str:
    name = "".join(c for c in text if c not in "[]:*?/\\")[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[:28]}-{n}"
        n += 1
    used.add(name)
    return name


def round_workbook(view: Consolidation, locale: str) -> bytes:
    """Money stays Decimal until the cell (written as numbers with a two-place format)."""
    lang = "en" if locale.startswith("en") else "zh"
    head, statuses = _HEAD[lang], _STATUS[lang]
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    used: set[str] = set()
    sheet = book.add_worksheet(_sheet_name("汇总" if lang == "zh" else "Consolidated", used))
    sheet.write_row(0, 0, head[:7], bold)
    for index, row in enumerate(view.rows, start=1):
        sheet.write(index, 0, f"{row.department.code} {row.department.name(locale)}")
        sheet.write(index, 1, statuses[row.status])
        for column, value in enumerate(
            (row.total, row.last_budget, row.actuals, row.change), start=2
        ):
            if value is not None:
                sheet.write_number(index, column, float(value), money)
        if row.change_percent is not None:
            sheet.write_number(index, 6, float(row.change_percent))
    at = len(view.rows) + 2
    sheet.write_row(at, 0, [head[7], *(q.upper() for q in QUARTERS), head[8]], bold)
    for offset, (account, amounts) in enumerate(view.by_account.items(), start=1):
        sheet.write(at + offset, 0, account)
        for column, amount in enumerate(amounts, start=1):
            sheet.write_number(at + offset, column, float(amount), money)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 6, 16)
    for row in view.rows:
        page = book.add_worksheet(_sheet_name(row.department.code, used))
        page.write(0, 0, f"{row.department.code} {row.department.name(locale)}", bold)
        page.write(0, 1, statuses[row.status])
        page.write_row(2, 0, [head[7], *(q.upper() for q in QUARTERS), head[8]], bold)
        total = Decimal("0.00")
        lines = quarter_lines(row.entry.submission)
        for offset, line in enumerate(lines, start=3):
            page.write(offset, 0, line["account"])
            for column, amount in enumerate([*line["quarters"], line["annual"]], start=1):
                page.write_number(offset, column, float(amount), money)
            total += line["annual"]
        page.write(len(lines) + 3, 0, head[2], bold)
        page.write_number(len(lines) + 3, 5, float(total), money)
        page.set_column(0, 5, 16)
    book.close()
    return out.getvalue()
