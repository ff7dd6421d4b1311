"""The inbox offers only tasks the reader may decide, and "waiting for you" notifications
clear once the task has left them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from quire.runtime.models import UserStatus

from .conftest import TODAY


def _delegate_from(user, name: str, to: str) -> None:  # type: ignore[no-untyped-def]
    """``name`` hands their approvals to ``to`` from today (a planned absence)."""
    from quire.runtime.extensions import db

    person = user(name)
    person.delegate = user(to)
    person.delegate_from = date(2000, 1, 1)
    db.session.commit()


def _inbox(user, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    return [t.submission_id for t in db.session.scalars(engine.inbox_query(user(name), TODAY))]


def _waiting_notices(user, name: str, submission) -> list[str]:  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import notify

    return [
        n.subject_en
        for n in notify.notifications_for(user(name), 50, today=TODAY)
        if n.kind == "task" and n.submission_id == submission.id
    ]


def test_my_own_claim_delegated_to_me_is_not_offered_in_my_inbox(claim, submit, user):
    from quire.runtime.approvals import engine

    own = submit(claim("sales2", 25000))
    colleague = submit(claim("sales1", 25000))
    _delegate_from(user, "salesmgr", "sales2")

    inbox = _inbox(user, "sales2")

    assert colleague.id in inbox, "salesmgr's other tasks reach the delegate"
    assert own.id not in inbox
    assert engine.inbox_count(user("sales2"), TODAY) == len(inbox)


def test_my_own_claim_delegated_to_me_shows_no_decision_on_its_page(claim, submit, user, signed_in):
    own = submit(claim("sales2", 25000))
    _delegate_from(user, "salesmgr", "sales2")

    page = signed_in("sales2").get(f"/submissions/{own.id}").text

    assert f'data-testid="approve-{own.id}"' not in page
    assert 'data-testid="save-and-approve"' not in page


def test_the_api_inbox_leaves_out_my_own_claim_too(claim, submit, user, api):
    own = submit(claim("sales2", 25000))
    _delegate_from(user, "salesmgr", "sales2")

    body = api("sales2").get("/api/v1/inbox", query_string={"per_page": 200}).json

    assert own.id not in [item["submission_id"] for item in body["items"]]


def test_waiting_for_you_clears_when_the_task_moves_on(claim, submit, act, user):
    c = submit(claim("sales1", 25000))
    assert _waiting_notices(user, "salesmgr", c), "salesmgr is told the claim waits for them"

    act("salesmgr", c, "approve")

    assert _waiting_notices(user, "salesmgr", c) == []
    assert _waiting_notices(user, "finrev", c), "the next step's holder is told now"


def test_waiting_for_you_clears_when_the_claim_is_withdrawn(claim, submit, act, user):
    c = submit(claim("sales1", 25000))

    act("sales1", c, "withdraw")

    assert _waiting_notices(user, "salesmgr", c) == []


def test_waiting_for_you_clears_when_the_task_is_handed_on(claim, submit, act, user):
    c = submit(claim("sales1", 25000))

    act("salesmgr", c, "transfer", to="sales2", comment="please take this one")

    assert _waiting_notices(user, "salesmgr", c) == []
    assert _waiting_notices(user, "sales2", c)


def test_other_notifications_stay(claim, submit, act, user):
    from quire.runtime.approvals import notify

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "reject", comment="no receipt")

    kinds = [n.kind for n in notify.notifications_for(user("sales1"), 50, today=TODAY)]
    assert "decision" in kinds


def test_the_inbox_page_lists_no_stale_waiting_for_you(claim, submit, act, user, signed_in):
    c = submit(claim("sales1", 25000))
    notices = signed_in("salesmgr").get("/inbox").text.partition('id="notifications-title"')[2]
    assert c.number in notices

    act("salesmgr", c, "approve")

    notices = signed_in("salesmgr").get("/inbox").text.partition('id="notifications-title"')[2]
    assert c.number not in notices


def test_a_person_on_leave_is_still_told_of_a_task_their_delegate_holds_for_them(
    claim, submit, user
):
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    person = user("salesmgr")
    person.status = UserStatus.ON_LEAVE
    person.delegate = user("sales2")
    db.session.commit()
    c = submit(claim("sales3", 25000))

    task = db.session.scalar(
        select(ApprovalTask).where(
            ApprovalTask.submission_id == c.id, ApprovalTask.status == TaskStatus.OPEN
        )
    )
    assert task.assignee.username == "sales2"
    assert _waiting_notices(user, "sales2", c)
