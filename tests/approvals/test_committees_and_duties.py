"""Step modes (any, all, N of M) and separation of duties."""

from __future__ import annotations

import pytest

from quire.runtime.errors import Forbidden
from quire.runtime.models import SubmissionStatus as S

from .conftest import COMMITTEE, step


def test_a_2_of_3_committee_approves_with_two_votes(route, capex, submit, act, holders):
    route(step("committee", COMMITTEE, mode="n_of_m", required=2))
    c = submit(capex("sales1"))
    assert sorted(holders(c)) == ["cfo", "finadmin", "finrev"]

    act("finrev", c, "approve")
    assert c.status == S.IN_REVIEW
    act("cfo", c, "approve")

    assert (c.status, holders(c)) == (S.APPROVED, [])


def test_a_2_of_3_committee_survives_one_rejection(route, capex, submit, act):
    route(step("committee", COMMITTEE, mode="n_of_m", required=2))
    c = submit(capex("sales1"))
    act("finrev", c, "reject", comment="too expensive")
    assert c.status == S.IN_REVIEW
    act("cfo", c, "approve")
    act("finadmin", c, "approve")

    assert c.status == S.APPROVED


def test_a_2_of_3_committee_rejects_once_two_approvals_can_no_longer_be_reached(
    route, capex, submit, act
):
    route(step("committee", COMMITTEE, mode="n_of_m", required=2))
    c = submit(capex("sales1"))
    act("finrev", c, "reject", comment="no")
    act("cfo", c, "reject", comment="no")

    assert c.status == S.REJECTED


def test_an_all_step_waits_for_everyone_and_finishes_once(
    route, capex, submit, act, holders, history
):
    route(step("board", COMMITTEE, mode="all"), step("manager", {"kind": "manager_of_submitter"}))
    c = submit(capex("sales1"))
    act("finrev", c, "approve")
    act("finadmin", c, "approve")
    assert c.current_step == "board"
    act("cfo", c, "approve")

    assert (c.current_step, holders(c)) == ("manager", ["salesmgr"])
    assert [h for h in history(c) if h[1] != "approve"] == [(None, "submit", "sales1")]


def test_one_rejection_rejects_an_all_step(route, capex, submit, act):
    route(step("board", COMMITTEE, mode="all"))
    c = submit(capex("sales1"))
    act("finrev", c, "approve")
    act("cfo", c, "reject", comment="no")

    assert c.status == S.REJECTED


def test_in_an_any_step_the_first_decision_counts_and_the_others_are_released(
    route, capex, submit, act, holders
):
    route(step("finance", COMMITTEE))
    c = submit(capex("sales1"))
    act("finadmin", c, "approve")

    assert (c.status, holders(c)) == (S.APPROVED, [])


def test_nobody_approves_their_own_claim_nor_decides_two_steps_of_it(
    claim, submit, act, holders, history
):
    c = submit(claim("finrev", 25000))
    act("cfo", c, "approve")  # finrev's manager

    # The finance step would pass from finrev (the claimant) to the cfo, who has already
    # decided the manager step: nobody decides two steps, and nobody else may decide it,
    # so the cfo's decision stands for it, with the reason in the history.
    steps = [(step, action, actor) for step, action, actor in history(c)]
    assert ("manager", "approve", "cfo") in steps and ("finance", "skip", None) in steps
    assert [a for _, action, a in steps if action == "approve"] == ["cfo"]
    assert (c.status, holders(c)) == (S.APPROVED, [])


def test_a_submitter_holding_the_role_cannot_decide_even_when_acting_directly(
    route, capex, submit, act
):
    route(step("finance", COMMITTEE))
    c = submit(capex("finrev"))
    with pytest.raises(Forbidden):
        act("finrev", c, "approve")


def test_someone_who_edited_a_submission_does_not_approve_it(claim, submit, holders, user):
    from quire.runtime import audit
    from quire.runtime.extensions import db

    c = claim("sales1", 25000)
    audit.record(user("salesmgr"), "submission.update", object_type="submission", object_id=c.id)
    db.session.commit()
    submit(c)

    assert holders(c) == ["cfo"], "salesmgr edited it: his manager decides instead"
