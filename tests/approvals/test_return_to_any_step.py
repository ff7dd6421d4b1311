"""Return to any earlier step (退回到任意节点): the approver chooses whether the steps between
decide again or the form comes straight back to them."""

from __future__ import annotations

import pytest

from quire.runtime.errors import Invalid

from .conftest import NOW


@pytest.fixture
def send_back(user):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def run(username: str, submission, step: str, again: bool):  # type: ignore[no-untyped-def]
        engine.act(
            user(username),
            submission.id,
            "return",
            version=submission.version,
            comment="Which project is this for?",
            step=step,
            again=again,
            now=NOW,
        )
        db.session.commit()

    return run


def _at_cfo(claim, submit, act):  # type: ignore[no-untyped-def]
    c = submit(claim("sales1", 150000))
    act("salesmgr", c, "approve")
    act("finrev", c, "approve")
    assert c.current_step == "cfo"
    return c


def test_returned_to_the_manager_the_claim_comes_straight_back_to_the_cfo(
    claim, submit, act, send_back, holders, history
):
    c = _at_cfo(claim, submit, act)
    send_back("cfo", c, "manager", again=False)
    assert (c.current_step, holders(c)) == ("manager", ["salesmgr"])

    act("salesmgr", c, "approve")
    assert (c.current_step, holders(c)) == ("cfo", ["cfo"])
    assert [h for h in history(c) if h[1] == "approve"].count(("finance", "approve", "finrev")) == 1


def test_returned_to_the_manager_the_steps_between_decide_again(
    claim, submit, act, send_back, holders
):
    c = _at_cfo(claim, submit, act)
    send_back("cfo", c, "manager", again=True)
    act("salesmgr", c, "approve")
    assert (c.current_step, holders(c)) == ("finance", ["finrev"])
    act("finrev", c, "approve")
    assert c.current_step == "cfo"


def test_the_manager_s_old_approval_does_not_count_once_the_claim_is_back(
    claim, submit, act, send_back
):
    from quire.runtime.models import SubmissionStatus as S

    c = _at_cfo(claim, submit, act)
    send_back("cfo", c, "manager", again=False)
    act("salesmgr", c, "reject", comment="Not ours after all")
    assert c.status == S.REJECTED


def test_the_history_says_where_the_claim_went_and_what_follows(claim, submit, act, send_back):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    c = _at_cfo(claim, submit, act)
    send_back("cfo", c, "manager", again=False)
    event = [e for e in db.session.scalars(engine.history_query(c)) if e.action == "return"][-1]
    assert event.details["to"] == "manager" and event.details["back_to"] == "cfo"
    assert "直接回到" in event.details["zh"] and "straight back" in event.details["en"]


def test_again_must_be_true_or_false(claim, submit, act, user):
    from quire.runtime.approvals import engine

    c = _at_cfo(claim, submit, act)
    with pytest.raises(Invalid) as error:
        engine.act(
            user("cfo"), c.id, "return", version=c.version, comment="x", step="manager", again="no"
        )
    assert error.value.details[0].path == "again"


def test_the_api_returns_to_a_named_step_without_the_steps_between(claim, submit, act, api):
    c = _at_cfo(claim, submit, act)
    answer = api("cfo").post(
        f"/api/v1/submissions/{c.id}/actions",
        json={
            "action": "return",
            "step": "manager",
            "again": False,
            "comment": "Which project?",
            "version": c.version,
        },
    )
    assert answer.status_code == 200, answer.json
    assert c.current_step == "manager"
