"""The expense claim's route, as the contract tells it: automatic below 10,000 within budget,
manager then finance, and the CFO for 100,000 or more or for anything over budget."""

from __future__ import annotations

from decimal import Decimal

from quire.runtime.models import SubmissionStatus as S


def test_sales1_claims_3000_within_budget_and_it_is_approved_at_once(claim, submit, history):
    c = submit(claim("sales1", 1200, 1800))

    assert c.status == S.APPROVED
    assert c.decided_at is not None
    assert history(c) == [(None, "submit", "sales1"), (None, "auto_approve", None)]


def test_the_history_says_why_a_claim_was_approved_automatically(claim, submit):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    c = submit(claim("sales1", 3000))
    auto = [e for e in db.session.scalars(engine.history_query(c)) if e.action == "auto_approve"][0]

    assert auto.comment == "rule total < 10000 AND within_budget is true"
    assert auto.details["total"] == "3000.00"
    assert auto.details["within_budget"] is True


def test_sales1s_25000_claim_goes_to_salesmgr_then_finrev_and_skips_the_cfo(
    claim, submit, act, holders, history
):
    c = submit(claim("sales1", 25000))
    assert (c.status, c.current_step, holders(c)) == (S.IN_REVIEW, "manager", ["salesmgr"])

    act("salesmgr", c, "approve", comment="OK")
    assert (c.current_step, holders(c)) == ("finance", ["finrev"])

    act("finrev", c, "approve")
    assert c.status == S.APPROVED
    assert history(c) == [
        (None, "submit", "sales1"),
        ("manager", "approve", "salesmgr"),
        ("finance", "approve", "finrev"),
        ("cfo", "skip", None),
    ]


def test_the_skipped_cfo_step_says_its_condition_was_false(claim, submit, act):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve")
    act("finrev", c, "approve")
    skip = [e for e in db.session.scalars(engine.history_query(c)) if e.action == "skip"][0]

    assert skip.comment == "condition total >= 100000 OR NOT within_budget is false"
    assert skip.details["total"] == "25000.00"


def test_a_150000_claim_needs_the_cfo_as_well(claim, submit, act, holders):
    c = submit(claim("sales1", 90000, 60000))
    act("salesmgr", c, "approve")
    act("finrev", c, "approve")

    assert (c.status, c.current_step, holders(c)) == (S.IN_REVIEW, "cfo", ["cfo"])
    act("cfo", c, "approve")
    assert c.status == S.APPROVED


def test_a_small_claim_over_the_remaining_budget_is_flagged_and_goes_to_the_cfo(
    claim, submit, act, holders, user
):
    from quire.runtime.approvals import budget
    from quire.runtime.org import department_by_code

    from .conftest import TODAY

    before = budget.check(department_by_code("RD"), TODAY.year, {"training": Decimal("1")})
    remaining = before.accounts[
        [a.account for a in before.accounts].index("training")
    ].remaining_before
    c = submit(claim("rd1", remaining + Decimal("500"), category="training"))

    assert c.status == S.IN_REVIEW, "over budget: never approved automatically"
    task_checks = __import__("quire.runtime.approvals.engine", fromlist=["x"]).compute_facts
    facts = task_checks(
        c, __import__("quire.runtime.approvals.engine", fromlist=["x"]).template_of(c)
    )
    assert facts.checks["within_budget"] is False
    training = [a for a in facts.checks["budget"]["accounts"] if a["account"] == "training"][0]
    assert training["level"] == "over"
    assert Decimal(training["remaining_after"]) == Decimal("-500.00")

    act("rdmgr", c, "approve")
    act("finrev", c, "approve")
    assert (c.current_step, holders(c)) == ("cfo", ["cfo"])


def test_approvers_see_the_budget_numbers_of_a_flagged_claim(claim, submit, signed_in):
    c = submit(claim("rd1", 900000, category="training"))

    page = signed_in("rdmgr").get(f"/submissions/{c.id}").text

    assert "Over budget" in page or "超预算" in page
    assert "900000.00" in page


def test_an_approved_claim_can_no_longer_be_changed_by_anyone(claim, submit, user):
    import pytest

    from quire.runtime.errors import Conflict
    from quire.runtime.forms import service

    c = submit(claim("sales1", 500))
    assert c.status == S.APPROVED
    with pytest.raises(Conflict):
        service.update(user("sales1"), c.id, {"payee_name": "changed"}, c.version)
