"""Budget vs actual with ERP actuals from the configured `erp-actuals` data source."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from quire.runtime.extensions import db
from quire.runtime.reports import engine

from .conftest import YEAR


@pytest.fixture
def erp_totals(erp_ledger):  # type: ignore[no-untyped-def]
    """ERP actuals of the sample ledger by department."""
    _, summary = erp_ledger
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (department, _account), amount in summary.by_department_account.items():
        totals[department] += amount
    return totals


def test_without_an_erp_source_the_report_is_claims_only(budget, claim, user):
    budget("RD", {"travel": 30000})
    claim("RD", [("travel", 777)], month=3)
    db.session.commit()
    result = engine.run(user("cfo"), "budget-vs-actual", {"department": "RD"})
    assert result.totals["actual"] == Decimal("777.00")


def test_erp_actuals_are_added_to_the_actual_column_within_the_readers_scope(
    budget,
    claim,
    user,
    make_source,
    erp_ledger,
    erp_totals,
):
    budget("RD", {"travel": 30000})
    budget("SALES", {"travel": 100000})
    claim("RD", [("travel", 777)], month=3)
    claim("SALES", [("travel", 1000)], month=2)
    db.session.commit()
    make_source("erp-actuals", "erp_ledger", {"url": erp_ledger[0]})

    rd = engine.run(user("cfo"), "budget-vs-actual", {"department": "RD", "year": str(YEAR)})
    assert rd.totals["actual"] == Decimal("777.00") + erp_totals["RD"]
    assert {r["department"] for r in rd.rows} == {"RD"}
    rd_travel = next(r for r in rd.rows if r.get("account") == "travel" and not r.get("_style"))
    assert rd_travel["department_name"] == "研发部"

    # The sales manager sees SALES and SALES-E ledger lines, never RD's.
    sales = engine.run(user("salesmgr"), "budget-vs-actual", {"year": str(YEAR)})
    expected = Decimal("1000.00") + erp_totals["SALES"] + erp_totals["SALES-E"]
    assert sales.totals["actual"] == expected
    assert {r["department"] for r in sales.rows} <= {"SALES", "SALES-E"}

    by_month = engine.run(user("cfo"), "budget-vs-actual", {"dimension": "month"})
    assert {r["month"] for r in by_month.rows if r.get("month")} >= {f"{YEAR}-01", f"{YEAR}-12"}


def test_an_unavailable_erp_source_is_a_clear_503_not_a_500(api, make_source, tmp_path):
    make_source("erp-actuals", "erp_ledger", {"url": f"sqlite:///{tmp_path / 'no' / 'erp.db'}"})
    response = api("cfo").get(f"/api/v1/reports/budget-vs-actual?year={YEAR}")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "source_unavailable"
    assert "ERP-ACTUALS" in response.json["error"]["message"]


def test_an_erp_source_added_in_the_ui_feeds_the_report(signed_in, api, erp_ledger, erp_totals):
    url, _ = erp_ledger
    b = signed_in("finadmin")
    created = b.post_form(
        "/admin/data-sources/new/erp_ledger",
        {"key": "erp-actuals", "name": "ERP", "cfg_url": url, "timeout_s": "10"},
    )
    assert created.status_code == 302, created.text
    response = api("cfo").get(f"/api/v1/reports/budget-vs-actual?year={YEAR}&department=HR")
    assert response.status_code == 200, response.json
    assert Decimal(response.json["totals"]["actual"]) >= erp_totals["HR"] > 0
