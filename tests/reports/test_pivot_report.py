"""Cross-tabs: department × month with row and column totals and subtree subtotals, in scope,
on the web, in the API and in every export format."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from quire.runtime.errors import Invalid
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.org import user_by_username
from quire.runtime.reports import engine, export
from quire.widgets.base import Bilingual

from .conftest import YEAR

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "spending-by-month.json"


def spending_template() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def publish(doc: dict) -> None:
    admin = user_by_username("finadmin")
    template_service.save_draft(admin, doc)
    template_service.publish(admin, doc["key"])
    db.session.commit()


@pytest.fixture
def spending(claim):  # type: ignore[no-untyped-def]
    claim("SALES", [("travel", "1000.10"), ("meals", 200)], month=1)
    claim("SALES", [("travel", 300)], month=2)
    claim("SALES-E", [("travel", "500.25")], month=2)
    claim("RD", [("training", 60000)], month=1)
    claim("RD", [("training", 99999)], month=3, status="in_review")  # not approved
    publish(spending_template())


def _by_department(result) -> dict:  # type: ignore[no-untyped-def]
    return {(r["department"], r.get("_style")): r for r in result.rows}


def test_the_cfo_sees_department_by_month_with_row_column_and_subtree_totals(spending, user):
    result = engine.run(user("cfo"), "spending-by-month", {"year": str(YEAR)})
    jan, feb = f"{YEAR}-01", f"{YEAR}-02"
    keys = [c.key for c in result.columns]
    assert keys == ["department", "department_name", jan, feb, "total"]
    rows = _by_department(result)
    assert rows[("SALES", None)][jan] == Decimal("1200.10")
    assert rows[("SALES", None)][feb] == Decimal("300")
    assert rows[("SALES", None)]["total"] == Decimal("1500.10")
    assert rows[("SALES-E", None)][jan] is None
    assert rows[("RD", None)][jan] == Decimal("60000")
    # SALES' subtotal rolls its subtree up: SALES plus SALES-E.
    subtotal = rows[("SALES", "subtotal")]
    assert subtotal[feb] == Decimal("800.25")
    assert subtotal["total"] == Decimal("2000.35")
    order = [(r["department"], r.get("_style")) for r in result.rows]
    assert order.index(("SALES-E", None)) < order.index(("SALES", "subtotal"))
    # Column totals add the departments once, never the subtotal rows again.
    assert result.totals[jan] == Decimal("61200.10")
    assert result.totals["total"] == Decimal("62000.35")
    # Amber from 50,000: RD's January.
    assert rows[("RD", None)]["_flags"] == {jan: "amber", "total": "amber"}


def test_month_columns_are_headed_as_periods_in_each_language(spending, user):
    chinese = engine.run(user("cfo"), "spending-by-month", {"year": str(YEAR)}, locale="zh_CN")
    english = engine.run(user("cfo"), "spending-by-month", {"year": str(YEAR)}, locale="en")
    jan = f"{YEAR}-01"
    assert next(c.label("zh_CN") for c in chinese.columns if c.key == jan) == f"{YEAR}年1月"
    assert {c["key"]: c["label"] for c in english.to_json()["columns"]}[jan] == f"Jan {YEAR}"
    assert {c["key"]: c["label"] for c in chinese.to_json()["columns"]}["total"] == "合计"


def test_quarters_read_as_quarters_and_other_values_as_themselves():
    from quire.runtime.reports.run import period_heading

    assert period_heading("2027-Q3") == Bilingual(zh="2027年第3季度", en="Q3 2027")
    assert period_heading("2027-12").en == "Dec 2027"
    assert period_heading("2027-13") == Bilingual(zh="2027-13", en="2027-13")
    assert period_heading("travel") == Bilingual(zh="travel", en="travel")


def test_the_sales_manager_sees_only_sales_and_east_china_in_the_same_report(spending, user):
    result = engine.run(user("salesmgr"), "spending-by-month", {"year": str(YEAR)})
    assert {r["department"] for r in result.rows} == {"SALES", "SALES-E"}
    assert result.totals["total"] == Decimal("2000.35")
    for row in result.rows:
        for link in (row.get("_links") or {}).values():
            assert link["report"] == "expense-ledger"
            assert link["params"]["department"] in {"SALES", "SALES-E"}


def test_sums_pushed_into_sql_give_the_cross_tab_the_lines_give(spending, user):
    for username in ("cfo", "salesmgr"):
        pushed = engine.run(user(username), "spending-by-month", {"year": str(YEAR)})
        read = engine.run(user(username), "spending-by-month", {"year": str(YEAR)}, push_down=False)
        assert pushed.to_json() == read.to_json()


def test_the_stacked_chart_plots_each_month_per_department(spending, user):
    result = engine.run(user("cfo"), "spending-by-month", {"year": str(YEAR)})
    chart = result.charts[0]
    assert chart.stacked and chart.values == (f"{YEAR}-01", f"{YEAR}-02")
    assert chart.vega_lite["encoding"]["y"]["stack"] == "zero"
    departments = [p["department_name"] for p in chart.vega_lite["data"]["values"]]
    assert "销售部" in departments and len(departments) == len(set(departments))


def test_the_api_serves_the_cross_tab_with_its_totals(spending, browser):
    browser.login("cfo")
    body = browser.client.get(f"/api/v1/reports/spending-by-month?year={YEAR}").get_json()
    assert [c["key"] for c in body["columns"]][-1] == "total"
    assert body["totals"]["total"] == "62000.35"
    subtotals = [r for r in body["rows"] if r.get("_style") == "subtotal"]
    assert [r["department"] for r in subtotals] == ["SALES"]


def test_excel_keeps_subtotal_and_total_rows_below_the_sorted_range_as_cached_formulas(
    spending, user, tmp_path
):
    cfo = user("cfo")
    data = export.export(cfo, "spending-by-month", {"year": str(YEAR)}, "xlsx").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "合计 Total"
    details = [r for r in rows[1:] if not str(r[-1]).startswith("=")]
    assert [r[0] for r in details] == ["FIN", "RD", "SALES", "SALES-E"][-len(details) :]
    # Autofilter and sort act on the detail rows only.
    last_detail = len(details) + 1
    assert sheet.auto_filter.ref == f"A1:E{last_detail}"
    subtotal, total = rows[last_detail], rows[last_detail + 1]
    assert subtotal[0] == "SALES"
    keys = f"$A$2:$A${last_detail}"
    assert subtotal[-1] == (
        f"=SUMPRODUCT(SUBTOTAL(109,OFFSET($E$2,ROW($E$2:$E${last_detail})-ROW($E$2),0)),"
        f'--((({keys}="SALES")+({keys}="SALES-E"))>0))'
    )
    assert total[-1] == f"=SUBTOTAL(109,$E$2:$E${last_detail})"
    # The values are cached, so a viewer that does not calculate shows them too.
    assert cached.cell(last_detail + 1, 5).value == pytest.approx(2000.35)
    assert cached.cell(last_detail + 2, 5).value == pytest.approx(62000.35)
    # Amber as a real conditional-format rule.
    rules = [r for rng in sheet.conditional_formatting for r in rng.rules]
    assert any(r.formula == ["50000.0"] and r.operator == "greaterThanOrEqual" for r in rules)

    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("LibreOffice is not installed")
    source = tmp_path / "spending.xlsx"
    source.write_bytes(data)
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
    assert (tmp_path / "spending.pdf").stat().st_size > 1000

    # Filtered in an office program (SALES-E hidden), the SALES subtotal and the total count
    # only the rows left: LibreOffice calculates the formulas with the row hidden.
    book = openpyxl.load_workbook(io.BytesIO(data))
    filtered = book.worksheets[0]
    hidden = next(r for r in range(2, last_detail + 1) if filtered.cell(r, 1).value == "SALES-E")
    filtered.row_dimensions[hidden].hidden = True
    book.save(tmp_path / "filtered.xlsx")
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "csv",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "filtered.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    lines = list(csv.reader((tmp_path / "filtered.csv").read_text(encoding="utf-8").splitlines()))
    sales_e = Decimal(lines[hidden - 1][-1])
    assert Decimal(lines[last_detail][-1]) == Decimal("2000.35") - sales_e
    assert Decimal(lines[last_detail + 1][-1]) == Decimal("62000.35") - sales_e


def test_csv_and_pdf_exports_carry_the_cross_tab(spending, user):
    cfo = user("cfo")
    text = export.export(cfo, "spending-by-month", {"year": str(YEAR)}, "csv").data
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert rows[0][-1].endswith("Total") and rows[-1][-1] == "62000.35"
    assert any(r[0] == "SALES" and r[-1] == "2000.35" for r in rows)

    pdf = export.export(cfo, "spending-by-month", {"year": str(YEAR)}, "pdf").data
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "62,000.35" in text and "华东销售" in text


def test_a_step_that_cannot_run_on_the_data_is_a_422_naming_template_and_step(claim, user):
    claim("SALES", [("travel", 10)], month=1)
    claim("SALES", [("travel", 10)], month=2)
    doc = spending_template()
    doc["transforms"][0]["max_columns"] = 1
    publish(doc)
    with pytest.raises(Invalid) as raised:
        engine.run(user("cfo"), "spending-by-month", {"year": str(YEAR)})
    [detail] = raised.value.details
    assert detail.path == "transforms[0]"
    assert detail.message.startswith("spending-by-month: pivot (cross-tab) step: the cross-tab")
