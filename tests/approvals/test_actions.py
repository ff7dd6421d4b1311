"""Each action checks the actor's right at that moment, takes the version, and is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quire.runtime.errors import Conflict, Forbidden, Invalid, NotFound
from quire.runtime.models import SubmissionStatus as S


def test_an_approver_can_return_a_claim_to_the_submitter_with_a_comment(
    claim, submit, act, holders, history
):
    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "return", comment="Please attach the hotel invoice")

    assert (c.status, c.current_step, holders(c)) == (S.RETURNED, None, [])
    assert history(c)[-1] == ("manager", "return", "salesmgr")


def test_returning_needs_a_reason(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Invalid) as error:
        act("salesmgr", c, "return")
    assert error.value.details[0].path == "comment"


def test_a_returned_claim_is_resubmitted_as_a_new_round(claim, submit, act, holders):
    from quire.runtime.approvals import engine

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "return", comment="fix it")
    submit(c)

    assert engine.current_round(c) == 2
    assert (c.status, holders(c)) == (S.IN_REVIEW, ["salesmgr"])


def test_finance_can_send_a_claim_back_to_the_manager_step(claim, submit, act, holders):
    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve")
    act("finrev", c, "return", to="manager", comment="Manager: is this trip in the plan?")

    assert (c.status, c.current_step, holders(c)) == (S.IN_REVIEW, "manager", ["salesmgr"])


def test_a_claim_cannot_be_returned_to_a_step_it_has_not_passed(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Invalid):
        act("salesmgr", c, "return", to="cfo", comment="no")


def test_rejecting_ends_the_route_and_needs_a_reason(claim, submit, act, holders):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Invalid):
        act("salesmgr", c, "reject")
    act("salesmgr", c, "reject", comment="Not a business expense")

    assert (c.status, holders(c)) == (S.REJECTED, [])


def test_delegating_a_task_hands_it_on_for_its_holder(claim, submit, act, holders, history):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "delegate", to="sales3", comment="Please look at this while I travel")
    assert holders(c) == ["sales3"]

    act("sales3", c, "approve")
    approve = [e for e in db.session.scalars(engine.history_query(c)) if e.action == "approve"][0]
    assert (approve.actor.username, approve.on_behalf_of.username) == ("sales3", "salesmgr")


def test_transferring_a_task_hands_it_on_for_good(claim, submit, act, holders):
    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve")
    act("finrev", c, "transfer", to="finadmin")

    assert holders(c) == ["finadmin"]


def test_a_task_cannot_be_handed_to_the_submitter(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Invalid) as error:
        act("salesmgr", c, "delegate", to="sales1")
    assert error.value.details[0].path == "to"


def test_the_submitter_can_withdraw_before_the_first_decision_only(claim, submit, act):
    early = submit(claim("sales1", 25000))
    act("sales1", early, "withdraw")
    assert early.status == S.WITHDRAWN

    late = submit(claim("sales1", 26000))
    act("salesmgr", late, "approve")
    with pytest.raises(Conflict):
        act("sales1", late, "withdraw")


def test_only_the_submitter_can_withdraw(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Forbidden):
        act("salesmgr", c, "withdraw")


def test_a_comment_joins_the_history_without_changing_the_version(claim, submit, act, history):
    c = submit(claim("sales1", 25000))
    version = c.version
    act("sales1", c, "comment", comment="The invoice is in the mail")

    assert history(c)[-1] == ("manager", "comment", "sales1")
    assert c.version == version


def test_a_stale_version_is_refused_with_409(claim, submit, user):
    from quire.runtime.approvals import engine

    c = submit(claim("sales1", 25000))
    with pytest.raises(Conflict):
        engine.act(user("salesmgr"), c.id, "approve", version=c.version - 1)


def test_deciding_when_the_step_is_not_yours_is_403(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Forbidden):
        act("finrev", c, "approve")


def test_acting_on_a_submission_outside_your_scope_is_404(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(NotFound):
        act("rd1", c, "approve")


def test_deciding_on_a_decided_submission_is_409(claim, submit, act):
    c = submit(claim("sales1", 500))
    with pytest.raises(Conflict):
        act("salesmgr", c, "approve")


def test_submitting_twice_is_409(claim, submit):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Conflict):
        submit(c)


def test_an_incomplete_claim_cannot_be_submitted(claim, user):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.forms import service

    draft = service.create(user("sales1"), "expense-claim", {"payee_name": "Li"})
    db.session.commit()
    with pytest.raises(Invalid):
        engine.submit(user("sales1"), draft.id, draft.version)


def test_every_action_is_audited(claim, submit, act):
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve")
    act("finrev", c, "reject", comment="duplicate")
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "submission", AuditEvent.object_id == str(c.id))
        .order_by(AuditEvent.seq)
    ).all()

    assert actions[-3:] == ["submission.submit", "submission.approve", "submission.reject"]


def test_the_hand_on_picker_offers_only_people_the_action_would_accept(
    claim, submit, act, signed_in, user
):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.models import User

    from .conftest import TODAY

    c = submit(claim("sales1", 25000))
    offered = engine.people_to_hand_on(user("salesmgr"), c, "", TODAY, limit=100)
    names = {p.username for p in offered}
    assert "sales2" in names and "finrev" in names
    assert "sales1" not in names, "the submitter may not decide on their own claim"
    assert "salesmgr" not in names, "the task is already theirs"
    # Everyone offered is accepted by the action, everyone else refused by it: one rule.
    everyone = {u.username for u in db.session.scalars(select(User))}
    for name in sorted(everyone - names)[:3]:
        with pytest.raises(Invalid):
            act("salesmgr", c, "transfer", to=name)

    page = signed_in("salesmgr").get(f"/submissions/{c.id}/hand-on-people?to=SALES2")
    assert page.status_code == 200
    assert 'value="sales2"' in page.text and 'value="sales1"' not in page.text
    # Someone without a task there is offered nobody.
    assert "<option" not in signed_in("finrev").get(f"/submissions/{c.id}/hand-on-people").text
