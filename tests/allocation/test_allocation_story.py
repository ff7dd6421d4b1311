"""Issue 19's allocation story: IT costs by headcount, to the cent, run twice, seen in reports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def _lines(run):  # type: ignore[no-untyped-def]
    return sorted(
        (line.department.code, line.account, line.kind, line.amount) for line in run.lines
    )


@settings(deadline=None)
@given(
    amount=st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2),
    weights=st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=8).filter(
        lambda w: sum(w) > 0
    ),
)
def test_shares_sum_to_the_source_to_the_cent_and_stay_within_a_cent(amount, weights):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation.service import split

    named = {f"D{index}": Decimal(w) for index, w in enumerate(weights)}
    shares = split(amount, named)
    assert sum(shares.values()) == amount
    total = sum(named.values())
    for code, share in shares.items():
        exact = amount * named[code] / total
        assert abs(share - exact) < Decimal("0.01")


def test_the_cents_left_over_go_to_the_largest_remainders():  # type: ignore[no-untyped-def]
    from quire.runtime.allocation.service import split

    # 100.00 in thirds: 33.33 each and one cent left, to the first code on a tie.
    assert split(Decimal("100.00"), {"RD": 1, "HR": 1, "SALES": 1}) == {
        "HR": Decimal("33.34"),
        "RD": Decimal("33.33"),
        "SALES": Decimal("33.33"),
    }
    # 10.00 by 1:2 → 3.333… and 6.666…: the larger remainder (6.666) gets the cent.
    assert split(Decimal("10.00"), {"A": 1, "B": 2}) == {"A": Decimal("3.33"), "B": Decimal("6.67")}


def test_it_costs_by_headcount_run_monthly_and_rerun_changes_nothing(
    it_costs, it_rule, user, month, api
):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow

    def bva_sales() -> dict:  # type: ignore[type-arg]
        body = api("cfo").get(f"/api/v1/reports/budget-vs-actual?year={month.year}").json
        rows = [
            r
            for r in body["rows"]
            if r.get("department") == "SALES"
            and r.get("account") == "other"
            and not r.get("_style")
        ]
        return rows[0]

    earlier = bva_sales()  # the demo's IT allocations of past months are in already
    it_costs("10000.00")
    it_costs("2345.67")
    run = service.run(user("finadmin"), it_rule, month, now=utcnow())
    db.session.commit()
    assert run.source_amount == Decimal("12345.67")
    shares = {line.department.code: line for line in run.lines}
    assert set(shares) == {"SALES", "SALES-E", "RD", "HR"}
    assert sum(line.amount for line in run.lines) == Decimal("12345.67")
    # Headcount in the demo: SALES 3, SALES-E 1, RD 2, HR 1.
    assert {c: line.driver_value for c, line in shares.items()} == {
        "SALES": 3,
        "SALES-E": 1,
        "RD": 2,
        "HR": 1,
    }
    # 12345.67 × 3/7 = 5291.0014…; the two cents left go to HR and SALES-E (.71 each).
    assert shares["SALES"].amount == Decimal("5291.00")
    assert shares["HR"].amount == shares["SALES-E"].amount == Decimal("1763.67")
    before = _lines(run)

    seen = bva_sales()
    allocated_before = Decimal(str(earlier.get("allocated") or "0"))
    assert Decimal(str(seen["allocated"])) - allocated_before == shares["SALES"].amount
    assert Decimal(str(seen["direct"])) + Decimal(str(seen["allocated"])) == Decimal(
        str(seen["actual"])
    )

    again = service.run(user("finadmin"), it_rule, month, now=utcnow())
    db.session.commit()
    assert again.id == run.id and again.times == 2
    db.session.refresh(again)
    assert _lines(again) == before
    assert bva_sales() == seen


def test_the_allocation_report_shows_each_share_driver_and_percentage(
    it_costs, it_rule, user, month, api
):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow

    it_costs("100.00")
    service.run(user("finadmin"), it_rule, month, now=utcnow())
    db.session.commit()
    body = (
        api("finadmin")
        .get(f"/api/v1/reports/allocation?year={month.year}&month={month.month}&rule=it-test")
        .json
    )
    rows = [r for r in body["rows"] if r.get("department")]
    assert {r["department"]: r["share"] for r in rows} == {
        "SALES": "42.86",
        "SALES-E": "14.28",
        "RD": "28.57",
        "HR": "14.29",
    }
    assert {r["source_amount"] for r in rows} == {"100.00"}
    assert Decimal(body["totals"]["share"]) == Decimal("100.00")
    # A department manager sees only their own departments' shares.
    mine = api("salesmgr").get(f"/api/v1/reports/allocation?year={month.year}").json
    assert {r["department"] for r in mine["rows"] if r.get("department")} == {"SALES", "SALES-E"}


def test_the_monthly_job_runs_last_month_once_per_rule(it_rule, user, month, it_costs):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from quire.runtime.allocation import service
    from quire.runtime.extensions import db
    from quire.runtime.models import AllocationRun

    it_costs("700.00")
    next_month = (month + timedelta(days=32)).replace(day=1)
    moment = datetime(next_month.year, next_month.month, 1, 3, 0, tzinfo=UTC)
    # The demo's monthly IT rule runs as well (it reads the same FIN forms).
    assert service.run_monthly(moment) == {"ran": 2, "failed": 0}
    assert service.run_monthly(moment) == {"ran": 2, "failed": 0}
    runs = db.session.scalars(
        AllocationRun.__table__.select()
        .where(AllocationRun.rule_id == it_rule.id)
        .with_only_columns(AllocationRun.times)
    ).all()
    assert runs == [2]


def test_rules_are_checked_field_by_field(app, user):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.errors import Forbidden, Invalid

    with pytest.raises(Invalid) as caught:
        service.save_rule(
            user("finadmin"),
            {
                "key": "bad key",
                "source_kind": "ledger",
                "driver": "fixed",
                "receivers": ["SALES", "NOPE"],
                "percentages": "SALES=40, NOPE=50",
            },
        )
    paths = {d.path for d in caught.value.details}
    assert {"key", "name_zh", "receivers", "source_datasource", "percentages"} <= paths
    with pytest.raises(Forbidden):
        service.save_rule(user("salesmgr"), {"key": "x"})


def test_a_claims_budget_check_counts_the_costs_allocated_to_its_department(
    it_costs, it_rule, user, month
):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.approvals import budget
    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow
    from quire.runtime.org import department_by_code

    sales = department_by_code("SALES")
    claim = {"other": Decimal("100.00")}
    before = budget.check(sales, month.year, claim)
    it_costs("7000.00")
    run = service.run(user("finadmin"), it_rule, month, now=utcnow())
    db.session.commit()
    share = next(line.amount for line in run.lines if line.department.code == "SALES")
    after = budget.check(sales, month.year, claim)
    other = {a.account: a for a in after.accounts}["other"]
    assert other.spent - {a.account: a for a in before.accounts}["other"].spent == share
    assert after.remaining == before.remaining - share
    # Running the month again replaces its lines: the check does not count them twice.
    service.run(user("finadmin"), it_rule, month, now=utcnow())
    db.session.commit()
    assert budget.check(sales, month.year, claim).remaining == after.remaining
