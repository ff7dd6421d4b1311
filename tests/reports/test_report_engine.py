"""The report engine: scope before aggregation, parameters, transforms and the three built-ins."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quire.runtime.errors import Forbidden, Invalid, NotFound
from quire.runtime.extensions import db
from quire.runtime.reports import engine

from .conftest import YEAR


@pytest.fixture
def sales_and_rnd(budget, claim):  # type: ignore[no-untyped-def]
    budget("SALES", {"travel": 100000, "meals": 20000})
    budget("SALES-E", {"travel": 50000})
    budget("RD", {"training": 10000, "travel": 30000})
    claim("SALES", [("travel", "40000.50"), ("meals", 1200)], month=2)
    claim("SALES", [("travel", 30000)], month=5)
    claim("SALES-E", [("travel", "52000.25")], month=3)
    claim("RD", [("training", 9600), ("travel", 777)], month=3)
    # Neither counts as actual spending: still in review, and last year.
    claim("SALES", [("travel", 99999)], month=4, status="in_review")
    claim("SALES", [("travel", 55555)], month=4, year=YEAR - 1)
    db.session.commit()


def test_sales_manager_totals_are_the_hand_computed_sum_over_sales_and_east_china_only(
    sales_and_rnd, user
):
    result = engine.run(user("salesmgr"), "budget-vs-actual", {"year": str(YEAR)})
    # By hand: budgets 100,000 + 20,000 (SALES) + 50,000 (SALES-E); actuals
    # 40,000.50 + 1,200 + 30,000 (SALES) + 52,000.25 (SALES-E). Nothing of RD's.
    budget = Decimal("100000") + Decimal("20000") + Decimal("50000")
    actual = Decimal("40000.50") + Decimal("1200") + Decimal("30000") + Decimal("52000.25")
    assert result.totals["budget"] == budget
    assert result.totals["actual"] == actual
    assert result.totals["variance"] == budget - actual
    assert result.totals["execution_rate"] == actual / budget
    assert {r["department"] for r in result.rows} == {"SALES", "SALES-E"}
    chart = result.charts[0].vega_lite["data"]["values"]
    assert {p["department_name"] for p in chart} == {"销售部", "华东销售"}
    for row in result.rows:
        for target in (row.get("_links") or {}).values():
            params = target["params"]
            assert params.get("only_department", params.get("department")) in {"SALES", "SALES-E"}


def test_the_cfo_sees_every_department_and_rows_are_department_by_account(sales_and_rnd, user):
    result = engine.run(user("cfo"), "budget-vs-actual", {})
    detail = [r for r in result.rows if not r.get("_style")]
    assert {(r["department"], r["account"]) for r in detail} == {
        ("RD", "training"),
        ("RD", "travel"),
        ("SALES", "meals"),
        ("SALES", "travel"),
        ("SALES-E", "travel"),
    }
    training = next(r for r in detail if r["account"] == "training")
    assert training["budget"] == Decimal("10000.00") and training["actual"] == Decimal("9600.00")
    assert training["execution_rate"] == Decimal("0.96")
    assert training["_flags"] == {"execution_rate": "amber"}
    east = next(r for r in detail if r["department"] == "SALES-E")
    assert east["_flags"] == {"execution_rate": "red"}
    subtotal = next(
        r for r in result.rows if r.get("_style") == "subtotal" and r["department"] == "RD"
    )
    assert subtotal["budget"] == Decimal("40000.00") and subtotal["actual"] == Decimal("10377.00")
    # A department opens the lines that make its actual (claims, ledger, allocations).
    assert subtotal["_links"]["department_name"] == {
        "report": "actual-lines",
        "params": {"year": str(YEAR), "only_department": "RD"},
    }


def test_a_department_parameter_includes_its_subtree(sales_and_rnd, user):
    result = engine.run(user("cfo"), "budget-vs-actual", {"department": "SALES"})
    assert result.totals["actual"] == Decimal("123200.75")


def test_the_same_template_switches_dimension_to_account_or_month(sales_and_rnd, user):
    by_account = engine.run(user("cfo"), "budget-vs-actual", {"dimension": "account"})
    assert [c.key for c in by_account.columns][:2] == ["account", "account_name"]
    assert "department" not in {c.key for c in by_account.columns}
    travel = next(r for r in by_account.rows if r["account"] == "travel")
    assert travel["budget"] == Decimal("180000.00")
    by_month = engine.run(user("cfo"), "budget-vs-actual", {"dimension": "month"})
    march = [r for r in by_month.rows if r.get("month") == f"{YEAR}-03" and not r.get("_style")]
    assert sum(r["actual"] for r in march) == Decimal("62377.25")
    # Budgets are phased by quarter, so twelve months add back up to the annual figure.
    assert by_month.totals["budget"] == Decimal("210000.00")


def test_the_expense_ledger_has_one_row_per_line_filtered_by_month_and_status(sales_and_rnd, user):
    ledger = engine.run(user("cfo"), "expense-ledger", {"year": str(YEAR)})
    # Approved claims by default (the claim in review is left out), and the report says so.
    assert len(ledger.rows) == 6
    assert {r["status"] for r in ledger.rows} == {"approved"}
    assert ledger.totals["amount"] == sum(r["amount"] for r in ledger.rows)
    assert ledger.basis == ["仅含状态为“已批准”的单据，合计只计这些（默认；可选择其他状态查看）。"]
    first = ledger.rows[0]
    assert set(first) >= {
        "number",
        "department",
        "status",
        "date",
        "category",
        "description",
        "amount",
    }
    assert first["_links"]["number"]["submission"] > 0
    march = engine.run(user("cfo"), "expense-ledger", {"month": "3"})
    assert {r["department"] for r in march.rows} == {"SALES-E", "RD"}
    in_review = engine.run(user("cfo"), "expense-ledger", {"status": "in_review"})
    assert [r["amount"] for r in in_review.rows] == [Decimal("99999.00")]
    # "All statuses" lifts the default, and the sentence says the total mixes them.
    everything = engine.run(user("cfo"), "expense-ledger", {"year": str(YEAR), "status": "all"})
    assert len(everything.rows) == 7
    assert {r["status"] for r in everything.rows} == {"approved", "in_review"}
    assert everything.basis == ["包含所有状态：合计把各状态的金额加在一起。"]


def test_someone_elses_draft_never_shows_in_a_report(claim, user):
    claim("SALES", [("travel", 10)], month=1, status="draft", submitter="sales1")
    db.session.commit()
    assert engine.run(user("salesmgr"), "expense-ledger", {}).rows == []


def test_approval_efficiency_counts_decisions_median_p90_and_overdue(claim, task, user):
    c = claim("SALES", [("travel", 100)], month=1)
    for hours in (1, 2, 3, 4, 30):
        task(c, "manager", "salesmgr", hours=hours, due_hours=24)
    task(c, "finance", "finrev", hours=None, due_hours=1)
    db.session.commit()
    result = engine.run(user("cfo"), "approval-efficiency", {})
    manager = next(r for r in result.rows if r.get("step") == "manager" and not r.get("_style"))
    assert manager["decisions"] == 5
    assert manager["median_hours"] == Decimal("3.00")
    assert manager["p90_hours"] == Decimal("19.60")
    assert manager["overdue"] == 1
    finance = next(r for r in result.rows if r.get("step") == "finance")
    assert (finance["decisions"], finance["pending"], finance["overdue"]) == (0, 1, 1)
    assert result.totals["decisions"] == 5 and result.totals["overdue"] == 2
    assert result.totals.get("median_hours") is None


@pytest.mark.parametrize(
    ("params", "path"),
    [({"year": "20x6"}, "year"), ({"dimension": "colour"}, "dimension")],
)
def test_a_bad_parameter_is_named(app, user, params, path):
    with pytest.raises(Invalid) as caught:
        engine.run(user("cfo"), "budget-vs-actual", params)
    assert [d.path for d in caught.value.details] == [path]


def test_scope_and_permission_errors(app, user):
    with pytest.raises(NotFound):
        engine.run(user("cfo"), "no-such-report", {})
    with pytest.raises(NotFound):
        engine.run(user("cfo"), "expense-claim", {})  # a form, not a report
    with pytest.raises(Forbidden):
        engine.run(user("sales1"), "budget-vs-actual", {})
    with pytest.raises(NotFound):
        engine.run(user("salesmgr"), "budget-vs-actual", {"department": "RD"})
    with pytest.raises(NotFound):
        engine.run(user("salesmgr"), "budget-vs-actual", {"department": "NOPE"})
    engine.run(user("salesmgr"), "budget-vs-actual", {"department": "SALES-E"})


def test_the_document_carries_columns_thresholds_chart_and_parameters(sales_and_rnd, user):
    result = engine.run(user("cfo"), "budget-vs-actual", {"department": "SALES"})
    doc = result.to_document(company="Example Ltd.")
    rate = next(c for c in doc.columns if c.key == "execution_rate")
    assert rate.type == "percent" and rate.thresholds.red == Decimal("1")
    assert doc.chart is not None and doc.chart.kind == "bar"
    assert ("部门 Department", "SALES 销售部") in doc.parameters
    assert doc.orientation == "landscape"


def test_only_the_latest_approved_budget_of_a_department_counts(budget, user):
    from datetime import timedelta

    from quire.runtime.models import utcnow

    first = budget("HR", {"training": 5000})
    first.decided_at = utcnow() - timedelta(days=30)
    budget("HR", {"training": 8000})  # the revision, approved later
    db.session.commit()
    result = engine.run(user("cfo"), "budget-vs-actual", {"department": "HR"})
    assert result.totals["budget"] == Decimal("8000.00")
