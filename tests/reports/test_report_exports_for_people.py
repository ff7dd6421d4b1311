"""Report exports as finance opens them: the basis sentence in Excel and PDF (CSV carries the
raw data alone), print setup in the workbook, the company's name on the PDF, and labels in
the reader's language (never raw codes) on the web, in Excel and in the PDF."""

from __future__ import annotations

import html as html_lib
import io
import re
import subprocess

import pytest
from openpyxl import load_workbook

from quire.runtime.reports import engine, export
from quire.runtime.words import STATUS_WORDS

from .conftest import YEAR


def pdf_text(pdf: bytes) -> str:
    """Text as a reader copies it out of the PDF (poppler's pdftotext)."""
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")


CATEGORIES = {"travel", "meals", "office", "training", "other"}


def _xlsx(user, key: str, params: dict[str, str]):  # type: ignore[no-untyped-def]
    made = export.export(user, key, params, "xlsx", locale="zh_CN")
    assert made.data is not None
    return load_workbook(io.BytesIO(made.data)).worksheets[0]


def test_the_basis_sentence_is_a_note_below_the_excel_table_outside_its_sorted_range(app, user):
    cfo = user("cfo")
    result = engine.run(cfo, "expense-ledger", {}, locale="zh_CN")
    assert result.basis
    sheet = _xlsx(cfo, "expense-ledger", {})
    last_filtered = int(sheet.auto_filter.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    notes = [
        (cell.row, cell.value)
        for row in sheet.iter_rows(min_row=last_filtered + 1)
        for cell in row
        if cell.value == " ".join(result.basis)
    ]
    assert notes and notes[0][0] > last_filtered + 1  # the totals row comes first


def test_the_csv_export_carries_the_raw_data_without_a_leading_note(app, user):
    made = export.export(user("cfo"), "budget-vs-actual", {}, "csv", locale="zh_CN")
    assert made.data is not None
    first = made.data.decode("utf-8-sig").splitlines()[0]
    assert first.startswith("部门代码")


def test_a_wide_report_prints_landscape_one_page_wide_with_its_header_on_every_page(app, user):
    sheet = _xlsx(user("cfo"), "budget-vs-actual", {})
    assert sheet.max_column > 8
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    # One page wide (1 is the file format's default, which the writer leaves out), as many
    # pages long as it takes.
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
    assert int(sheet.page_setup.paperSize) == 9  # A4, the template's paper


def test_a_narrow_report_prints_portrait_on_the_templates_paper(app, user):
    sheet = _xlsx(user("cfo"), "expense-ledger", {})
    assert sheet.max_column <= 8
    assert sheet.page_setup.orientation == "portrait"
    assert sheet.print_title_rows == "$1:$1"


def test_report_pdfs_carry_the_company_name_from_the_setting(app, user):
    app.config["COMPANY_NAME"] = "示例集团有限公司 Example Group Ltd."
    made = export.export(user("cfo"), "approval-efficiency", {}, "pdf", locale="zh_CN")
    assert made.data is not None
    text = pdf_text(made.data)
    assert "Example Group Ltd." in text
    assert "Quire" not in text


# --------------------------------------------------------------------------- raw codes

REPORTS = {
    "budget-vs-actual": {},
    "expense-ledger": {"status": "all"},
    "approval-efficiency": {},
}


@pytest.fixture
def codes(app, user):  # type: ignore[no-untyped-def]
    """Every status, category and approval step key the demo's reports carry."""
    found = set(STATUS_WORDS) | CATEGORIES
    steps = engine.run(user("cfo"), "approval-efficiency", {}).rows
    found |= {r["step"] for r in steps if r.get("step")}
    ledger = engine.run(user("cfo"), "expense-ledger", {"status": "all"}).rows
    assert {r["category"] for r in ledger} & CATEGORIES
    assert {r["status"] for r in ledger} >= {"approved", "in_review"}
    return found


def _cells(page: str) -> list[str]:
    table = page.split('data-testid="report-table"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table, re.S)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


@pytest.mark.parametrize("key", sorted(REPORTS))
def test_the_chinese_ui_shows_labels_not_codes_on_the_web(app, signed_in, codes, key):
    browser = signed_in("cfo")
    query = "&".join(f"{k}={v}" for k, v in REPORTS[key].items())
    page = browser.get(f"/reports/{key}?year={YEAR}&per_page=200&{query}")
    assert page.status_code == 200
    cells = _cells(page.get_data(as_text=True))
    assert cells
    assert not set(cells) & codes, set(cells) & codes


@pytest.mark.parametrize("key", sorted(REPORTS))
def test_the_chinese_excel_and_pdf_show_labels_not_codes(app, user, codes, key):
    cfo = user("cfo")
    sheet = _xlsx(cfo, key, REPORTS[key])
    values = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None}
    assert not values & codes, values & codes
    made = export.export(cfo, key, REPORTS[key], "pdf", locale="zh_CN")
    assert made.data is not None
    words = set(re.findall(r"[A-Za-z_]+", pdf_text(made.data)))
    assert not words & codes, words & codes


def test_the_csv_and_the_api_keep_the_codes(app, user, api):
    made = export.export(user("cfo"), "expense-ledger", {"status": "all"}, "csv", locale="zh_CN")
    assert made.data is not None
    text = made.data.decode("utf-8-sig")
    assert ",approved," in text and ("travel" in text or "meals" in text)
    body = api("cfo").get("/api/v1/reports/approval-efficiency").get_json()
    assert {"step", "step_name"} <= {c["key"] for c in body["columns"]}
