from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from quire.runtime.render.document import ChartSpec
from quire.runtime.render.excel import write_report_xlsx


def xlsx(doc) -> bytes:
    out = io.BytesIO()
    write_report_xlsx(doc, out)
    return out.getvalue()


def load(doc) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(xlsx(doc)))


def decorated_rows(budget_rows):
    rows = budget_rows(3)
    rows[1]["_flags"] = {"budget": "amber"}
    rows[2]["_flags"] = {"budget": "red"}
    rows.append({"dept": "小计 Subtotal", "budget": Decimal("75003.00"), "_style": "subtotal"})
    return rows


def test_numbers_and_dates_are_real_values_with_finance_formats(make_doc):
    sheet = load(make_doc()).worksheets[0]
    day, count, budget, used = (sheet.cell(2, c) for c in (3, 4, 5, 6))
    assert day.value == dt.datetime(2025, 1, 1) and day.is_date
    assert day.number_format == "yyyy-mm-dd"
    assert count.value == 1 and count.number_format == "#,##0"
    assert budget.value == 25000.0 and budget.data_type == "n"
    assert budget.number_format == "#,##0.00"
    assert used.value == pytest.approx(0.915) and used.number_format == "0.0%"


def test_header_is_bilingual_frozen_and_filtered(make_doc):
    sheet = load(make_doc()).worksheets[0]
    assert [c.value for c in sheet[1]][:2] == ["部门 Department", "说明 Note"]
    assert sheet.cell(1, 5).value == "预算 Budget"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F4"


def test_column_widths_fit_cjk_text(make_doc, budget_rows):
    rows = budget_rows(2)
    rows[0]["note"] = "季度部门团建活动场地费用与交通补贴"  # 17 wide characters
    sheet = load(make_doc(rows=rows)).worksheets[0]
    assert sheet.column_dimensions["B"].width >= 34
    assert sheet.column_dimensions["D"].width < 20


def test_flags_become_fills_and_subtotals_are_bold_with_a_rule(make_doc, budget_rows):
    sheet = load(make_doc(rows=decorated_rows(budget_rows))).worksheets[0]
    amber, red = sheet.cell(3, 5), sheet.cell(4, 5)
    assert amber.fill.fgColor.rgb.endswith("FFEB9C")
    assert red.fill.fgColor.rgb.endswith("FFC7CE")
    assert amber.number_format == "#,##0.00"
    subtotal = sheet[5]
    assert subtotal[0].value == "小计 Subtotal"
    assert all(c.font.b for c in subtotal)
    assert all(c.border.top.style == "thin" for c in subtotal)


def test_thresholds_are_exported_as_excel_rules(make_doc):
    sheet = load(make_doc()).worksheets[0]
    rules = {str(cf.sqref): cf.rules for cf in sheet.conditional_formatting}
    assert set(rules) == {"E2:E4"}
    assert [(r.type, r.operator, r.formula) for r in rules["E2:E4"]] == [
        ("cellIs", "greaterThanOrEqual", ["10000.0"]),
        ("cellIs", "greaterThanOrEqual", ["9000.0"]),
    ]


def test_totals_row_closes_the_sheet_below_the_filtered_range(make_doc):
    data = xlsx(make_doc(totals={"budget": Decimal("75003")}))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True).worksheets[0]
    # The document's subtitle is a note one blank row below the totals.
    at = sheet.max_row - 2
    assert sheet.cell(sheet.max_row, 1).value == "2025 年一季度"
    last = sheet[at]
    assert last[0].value == "合计 Total" and last[0].font.b
    # A SUBTOTAL over the data rows with its value cached, outside the autofilter range.
    assert last[4].value == f"=SUBTOTAL(109,$E$2:$E${at - 1})"
    assert cached[at][4].value == 75003.0
    assert sheet.auto_filter.ref.endswith(str(at - 1))


def test_formula_like_text_stays_text(make_doc, budget_rows):
    rows = budget_rows(5)
    payloads = ["=1+2", "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1:A2)", "\tX"]
    for row, text in zip(rows, payloads, strict=True):
        row["note"] = text
    data = xlsx(make_doc(rows=rows))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [sheet.cell(r, 2) for r in range(2, 7)]
    assert [c.value for c in cells] == payloads
    assert all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c in cells)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert b"<f>" not in package.read("xl/worksheets/sheet1.xml")


def test_chart_and_parameters_sheets(make_doc, bar_chart):
    data = xlsx(make_doc(chart=bar_chart))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
    assert "xl/charts/chart1.xml" in names
    assert any(n.startswith("xl/chartsheets/") for n in names)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "部门预算执行表",
        "图表数据 Chart data",
        "图表 Chart",
        "参数 Parameters",
    ]
    assert list(book["图表数据 Chart data"].values) == [
        ("部门 Department", "预算 Budget"),
        ("研发中心", 25000),
        ("华东销售部", 18000),
    ]
    params = {row[0]: row[1] for row in book["参数 Parameters"].values if row[0]}
    assert params["期间 Period"] == "2025-Q1"
    assert params["生成时间 Generated at"] == dt.datetime(2025, 4, 2, 9, 15)
    assert params["时区 UTC offset"] == "+0800"
    assert params["生成人 Generated by"] == "李娜 Li Na"
    assert params["模板 Template"] == "budget-execution"
    assert params["模板版本 Template version"] == "4"


def test_a_chart_of_rates_reads_in_percent_on_its_axis_and_cells(make_doc):
    rates = ChartSpec(
        vega_lite={
            "data": {
                "values": [{"dept": "研发中心", "used": 0.25}, {"dept": "华东销售部", "used": 0.9}]
            },
            "mark": "bar",
            "encoding": {
                "x": {"field": "dept", "type": "nominal"},
                "y": {"field": "used", "type": "quantitative"},
            },
        },
        kind="bar",
        category="dept",
        values=("used",),
        title={"zh": "执行率", "en": "Used"},
    )
    data = xlsx(make_doc(chart=rates))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        chart_xml = package.read("xl/charts/chart1.xml").decode()
    assert 'formatCode="0%"' in chart_xml
    sheet = openpyxl.load_workbook(io.BytesIO(data))["图表数据 Chart data"]
    assert sheet["B2"].value == 0.25 and sheet["B2"].number_format.endswith("%")


def test_rows_stream_from_a_generator(make_doc):
    def rows():
        for i in range(3000):
            yield {"dept": "研发中心", "budget": Decimal(i), "day": dt.date(2025, 1, 1)}

    sheet = load(make_doc(rows=rows())).worksheets[0]
    # The header, 3,000 rows, a blank row and the subtitle's note.
    assert sheet.max_row == 3003
    assert sheet.cell(3001, 5).value == 2999


@pytest.mark.slow
def test_libreoffice_opens_the_workbook(make_doc, budget_rows, bar_chart, tmp_path):
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (libreoffice/soffice not on PATH)")
    source = tmp_path / "report.xlsx"
    source.write_bytes(xlsx(make_doc(rows=decorated_rows(budget_rows), chart=bar_chart)))
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "report.pdf"
    assert pdf.stat().st_size > 1000
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "研发中心" in text and "25,000.00" in text
