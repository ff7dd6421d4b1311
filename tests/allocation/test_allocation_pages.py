"""Allocation pages: finance keeps rules and runs a month by hand; others may not."""

from __future__ import annotations

from decimal import Decimal


def test_finadmin_runs_the_demo_it_rule_for_a_month_by_hand(signed_in, month, it_costs):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import AllocationRule, AllocationRun

    it_costs("1200.00")
    rule = db.session.scalar(select(AllocationRule).where(AllocationRule.key == "it-by-headcount"))
    finadmin = signed_in("finadmin")
    assert "it-by-headcount" in finadmin.get("/allocation/rules").text
    page = f"/allocation/rules/{rule.id}"
    response = finadmin.post_form(f"{page}/run", {"month": f"{month:%Y-%m}"}, page=page)
    assert response.status_code == 302
    shown = finadmin.get(page).text
    assert f'data-testid="run-{month:%Y-%m}"' in shown
    run = db.session.scalar(
        select(AllocationRun).where(AllocationRun.rule_id == rule.id, AllocationRun.period == month)
    )
    assert run.source_amount == Decimal("1200.00")
    assert sum(line.amount for line in run.lines) == Decimal("1200.00")


def test_a_bad_month_is_named_and_nothing_runs(signed_in, month):  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from quire.runtime.extensions import db
    from quire.runtime.models import AllocationRule, AllocationRun

    rule = db.session.scalar(select(AllocationRule).where(AllocationRule.key == "it-by-headcount"))
    before = db.session.scalar(select(func.count()).select_from(AllocationRun))
    finadmin = signed_in("finadmin")
    page = f"/allocation/rules/{rule.id}"
    response = finadmin.post_form(f"{page}/run", {"month": "June"}, page=page)
    assert response.status_code == 302
    assert "month: must be a month (YYYY-MM)" in finadmin.get(page).text
    assert db.session.scalar(select(func.count()).select_from(AllocationRun)) == before


def test_a_new_rule_from_the_form(signed_in):  # type: ignore[no-untyped-def]
    finadmin = signed_in("finadmin")
    response = finadmin.post_form(
        "/allocation/rules",
        {
            "key": "rent-by-area",
            "name_zh": "房租按比例分摊",
            "name_en": "Rent by fixed shares",
            "source_kind": "submission",
            "driver": "fixed",
            "percentages": "SALES=60, RD=40",
            "receivers": ["SALES", "RD"],
            "schedule": "manual",
        },
        page="/allocation/rules",
    )
    assert response.status_code == 302 and "/allocation/rules/" in response.headers["Location"]


def test_only_finance_administrators_reach_the_rules(signed_in):  # type: ignore[no-untyped-def]
    assert signed_in("salesmgr").get("/allocation/rules").status_code == 403
    assert signed_in("cfo").get("/allocation/rules").status_code == 403
