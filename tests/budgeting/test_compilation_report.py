"""The ``budget-compilation`` report (CONTRACT): parameters, statuses, scope, drill-down."""

from __future__ import annotations

from decimal import Decimal


def test_the_report_lists_the_open_rounds_departments_by_default(open_round, api, year):  # type: ignore[no-untyped-def]
    open_round()
    response = api("finadmin").get("/api/v1/reports/budget-compilation")
    assert response.status_code == 200, response.json
    rows = {r["department"]: r for r in response.json["rows"] if r.get("department")}
    assert set(rows) == {"HQ", "FIN", "SALES", "SALES-E", "RD", "HR"}
    assert rows["SALES"]["status"] == "draft" and rows["RD"]["status"] == "in_review"
    sales = rows["SALES"]
    total, last = Decimal(str(sales["total"])), Decimal(str(sales["last_budget"]))
    assert Decimal(str(sales["change"])) == total - last
    keys = {c["key"] for c in response.json["columns"]}
    assert {"status", "total", "last_budget", "actuals", "change", "change_rate"} <= keys


def test_a_department_manager_sees_only_their_departments(open_round, api):  # type: ignore[no-untyped-def]
    open_round()
    response = api("salesmgr").get("/api/v1/reports/budget-compilation")
    codes = {r["department"] for r in response.json["rows"] if r.get("department")}
    assert codes == {"SALES", "SALES-E"}


def test_without_an_open_round_the_year_is_the_current_one(app, api):  # type: ignore[no-untyped-def]
    response = api("finadmin").get("/api/v1/reports/budget-compilation")
    assert response.status_code == 200
    assert [r for r in response.json["rows"] if r.get("department")] == []


def test_a_department_drills_down_to_its_budget(open_round, signed_in, year):  # type: ignore[no-untyped-def]
    round = open_round()
    sales = next(e for e in round.entries if e.department.code == "SALES")
    page = signed_in("finadmin").get(f"/reports/budget-compilation?year={year}").text
    assert f"/submissions/{sales.submission_id}" in page
