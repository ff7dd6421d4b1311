"""Cross-tabs: department × month with row and column totals and subtree subtotals, in scope,
on the web, in the API and in every export format."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from quire.runtime.errors import Invalid
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.org import user_by_username
from quire.runtime.reports import engine, export

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


def test_excel_csv_and_pdf_exports_carry_the_cross_tab(spending, user):
    cfo = user("cfo")
    workbook = export.export(cfo, "spending-by-month", {"year": str(YEAR)}, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][-1] == "合计 Total"
    assert any(row[0] == "SALES" and row[-1] == pytest.approx(1500.10) for row in values)
    assert values[-1][-1] == pytest.approx(62000.35)

    text = export.export(cfo, "spending-by-month", {"year": str(YEAR)}, "csv").data
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert rows[0][-1].endswith("Total") and rows[-1][-1] == "62000.35"

    pdf = export.export(cfo, "spending-by-month", {"year": str(YEAR)}, "pdf").data
    assert pdf.startswith(b"%PDF")


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
