"""Out of office, people who leave, and timeouts run by the periodic sweep."""

from __future__ import annotations

from datetime import timedelta

from quire.runtime.models import SubmissionStatus as S
from quire.runtime.models import UserStatus

from .conftest import COMMITTEE, NOW, TODAY, step


def _on_leave(user, name: str, delegate: str | None) -> None:  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db

    person = user(name)
    person.status = UserStatus.ON_LEAVE
    person.delegate = user(delegate) if delegate else None
    db.session.commit()


def test_salesmgr_on_leave_sends_the_next_claim_to_sales2_for_salesmgr(
    claim, submit, act, holders, user
):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    _on_leave(user, "salesmgr", "sales2")
    c = submit(claim("sales3", 25000))
    assert holders(c) == ["sales2"]

    act("sales2", c, "approve")
    events = list(db.session.scalars(engine.history_query(c)))
    delegated = [e for e in events if e.action == "delegate"][0]
    approved = [e for e in events if e.action == "approve"][0]
    assert "for" in delegated.comment and delegated.on_behalf_of.username == "salesmgr"
    assert (approved.actor.username, approved.on_behalf_of.username) == ("sales2", "salesmgr")


def test_open_tasks_of_someone_going_on_leave_reach_the_delegate_at_once(claim, submit, act, user):
    from quire.runtime.approvals import engine

    c = submit(claim("sales3", 25000))
    _on_leave(user, "salesmgr", "sales2")

    inbox = engine.inbox_query(user("sales2"), TODAY).subquery()
    from sqlalchemy import select

    from quire.runtime.extensions import db

    assert c.id in db.session.scalars(select(inbox.c.submission_id)).all()
    act("sales2", c, "approve")
    assert c.current_step == "finance"


def test_a_delegate_never_decides_their_own_claim(claim, submit, holders, user):
    _on_leave(user, "salesmgr", "sales2")
    c = submit(claim("sales2", 25000))

    assert holders(c) == ["cfo"], "sales2 is the claimant: salesmgr's manager decides"


def test_the_sweep_moves_open_tasks_to_the_delegate_and_says_x_for_y(claim, submit, holders, user):
    from quire.runtime.approvals import sweep

    c = submit(claim("sales3", 25000))
    _on_leave(user, "salesmgr", "sales2")
    sweep.run(now=NOW + timedelta(hours=1))

    assert holders(c) == ["sales2"]


def test_when_someone_leaves_their_tasks_go_to_their_manager_and_finance_is_told(
    claim, submit, holders, user
):
    from sqlalchemy import select

    from quire.runtime.approvals import sweep
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification
    from quire.runtime.org import set_status

    c = submit(claim("sales3", 25000))
    set_status(None, user("salesmgr"), UserStatus.LEFT)
    db.session.commit()

    # Moved at once, without waiting for the sweep; a later sweep finds nothing left to do.
    assert holders(c) == ["cfo"]
    assert sweep.run(now=NOW + timedelta(hours=1)).get("left", 0) == 0
    told = db.session.scalars(
        select(Notification.user_id).where(
            Notification.kind == "reassign", Notification.submission_id == c.id
        )
    ).all()
    assert {user("finrev").id, user("finadmin").id} <= set(told)


def test_running_the_sweep_twice_sends_one_reminder(claim, submit, user):
    from sqlalchemy import func, select

    from quire.runtime.approvals import sweep
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalEvent, Notification

    c = submit(claim("sales1", 25000))
    later = NOW + timedelta(days=3)  # Wednesday + 2 working days has passed
    sweep.run(now=later)
    sweep.run(now=later + timedelta(minutes=5))

    reminders = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == "reminder", Notification.submission_id == c.id)
    )
    events = db.session.scalar(
        select(func.count())
        .select_from(ApprovalEvent)
        .where(ApprovalEvent.action == "remind", ApprovalEvent.submission_id == c.id)
    )
    assert (reminders, events) == (1, 1)


def test_nothing_is_reminded_before_it_is_due(claim, submit):
    from quire.runtime.approvals import sweep

    submit(claim("sales1", 25000))
    assert "remind" not in sweep.run(now=NOW + timedelta(days=1))


def test_a_claim_left_at_finance_for_three_days_is_escalated_once(
    claim, submit, act, holders, history
):
    from quire.runtime.approvals import sweep

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve")
    later = NOW + timedelta(days=3)
    first = sweep.run(now=later)
    second = sweep.run(now=later + timedelta(minutes=5))

    assert first.get("escalate", 0) >= 1 and "escalate" not in second
    assert holders(c) == ["cfo"]
    assert [h for h in history(c) if h[1] == "escalate"] == [("finance", "escalate", None)]


def test_a_step_can_approve_itself_when_its_due_time_passes(route, capex, submit):
    from quire.runtime.approvals import sweep

    route(step("check", COMMITTEE, due={"hours": 4}, on_timeout="auto_approve"))
    c = submit(capex("sales1"))
    sweep.run(now=NOW + timedelta(hours=5))

    assert c.status == S.APPROVED


def test_a_step_can_reject_itself_when_its_due_time_passes(route, capex, submit, history):
    from quire.runtime.approvals import sweep

    route(step("check", COMMITTEE, due={"hours": 4}, on_timeout="auto_reject"))
    c = submit(capex("sales1"))
    sweep.run(now=NOW + timedelta(hours=5))
    sweep.run(now=NOW + timedelta(hours=6))

    assert c.status == S.REJECTED
    assert [h[1] for h in history(c)].count("auto_reject") == 1


def test_due_dates_count_working_days(claim, submit):
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask

    friday = NOW + timedelta(days=2)
    c = submit(claim("sales1", 25000), at=friday)
    task = db.session.scalar(select(ApprovalTask).where(ApprovalTask.submission_id == c.id))

    assert task.due_at - friday == timedelta(days=4), "Friday + 2 working days = Tuesday"


def test_a_delegate_opens_the_delegated_claim_at_once(claim, submit, user, api):
    from datetime import date

    from quire.runtime.extensions import db
    from quire.runtime.org import save_user

    mgr = user("salesmgr")
    c = submit(claim("sales1", 25000))
    save_user(
        None,
        username="salesmgr",
        display_name=mgr.display_name,
        department=mgr.department,
        email=mgr.email,
        manager=mgr.manager,
        status=UserStatus.ON_LEAVE,
        delegate=user("sales2"),
        delegate_from=date.today(),
        existing=mgr,
    )
    db.session.commit()
    assert api("sales2").get(f"/api/v1/submissions/{c.id}").status_code == 200
