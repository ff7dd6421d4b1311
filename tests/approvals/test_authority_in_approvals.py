"""Approval rights decided at the moment of acting: delegations, four eyes, leavers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from quire.runtime import access, org
from quire.runtime.approvals import engine
from quire.runtime.errors import Forbidden
from quire.runtime.extensions import db
from quire.runtime.forms import service
from quire.runtime.models import (
    ApprovalTask,
    AuditEvent,
    RoleGrant,
    SubmissionStatus,
    TaskStatus,
    UserStatus,
)

from .conftest import TODAY

S = SubmissionStatus


def _delegate(user, who: str, to: str | None) -> None:  # type: ignore[no-untyped-def]
    person = user(who)
    person.delegate = user(to) if to else None
    person.delegate_from = date(2026, 11, 1) if to else None
    person.delegate_until = date(2026, 11, 30) if to else None
    db.session.commit()


def _inbox(person) -> set[int]:  # type: ignore[no-untyped-def]
    return {t.submission_id for t in db.session.scalars(engine.inbox_query(person, TODAY))}


def test_a_withdrawn_delegation_stops_at_once_even_for_tasks_already_handed_over(
    claim, submit, act, user, holders
):
    _delegate(user, "salesmgr", "rdmgr")
    c = submit(claim("sales1", 25000))
    # The task went to rdmgr "for salesmgr" when the step opened.
    assert holders(c) == ["rdmgr"]
    _delegate(user, "salesmgr", None)  # salesmgr is back early

    with pytest.raises(Forbidden):
        act("rdmgr", c, "approve")
    db.session.rollback()
    assert not access.holds_task(user("rdmgr"), c, on=TODAY)
    assert c.id not in _inbox(user("rdmgr"))
    # The task is the holder's again: in salesmgr's inbox, and his to decide.
    assert c.id in _inbox(user("salesmgr"))
    act("salesmgr", c, "approve")
    assert c.current_step == "finance"


def test_the_inbox_and_the_task_check_are_one_predicate(claim, submit, user):
    _delegate(user, "salesmgr", "rdmgr")
    c = submit(claim("sales1", 25000))
    for name in ("rdmgr", "salesmgr", "finrev", "sales1", "admin"):
        person = user(name)
        listed = {t.id for t in db.session.scalars(engine.inbox_query(person, TODAY))}
        for task in db.session.scalars(
            select(ApprovalTask).where(ApprovalTask.submission_id == c.id)
        ):
            if task.status == TaskStatus.OPEN:
                assert (task.id in listed) == access.may_act_on_task(person, task, TODAY), name


def test_the_submission_list_and_the_read_check_agree_for_a_delegate(claim, submit, user):
    _delegate(user, "salesmgr", "rdmgr")
    c = submit(claim("sales1", 25000))
    for name in ("rdmgr", "salesmgr", "rd1", "auditor", "admin", "sales2", "sales1"):
        person = user(name)
        listed = c.id in {s.id for s in db.session.scalars(service.list_query(person))}
        assert listed == access.may_read_submission(person, c), name
    assert access.may_read_submission(user("rdmgr"), c)
    assert not access.may_read_submission(user("rd1"), c)


def test_one_person_never_decides_two_steps_of_the_cfos_own_claim(
    claim, submit, act, holders, history
):
    c = submit(claim("cfo", 150000))
    deciders: list[str] = []
    while c.status == S.IN_REVIEW:
        (holder,) = holders(c)
        assert holder not in deciders, f"{holder} would decide a second step"
        act(holder, c, "approve")
        deciders.append(holder)
    decisions = [(step, actor) for step, action, actor in history(c) if action == "approve"]
    assert len({actor for _, actor in decisions}) == len(decisions)
    skipped = [
        e
        for e in db.session.scalars(engine.history_query(c))
        if e.action == "skip" and (e.details or {}).get("four_eyes")
    ]
    assert skipped, "the history says why a step was not decided again"
    assert "four eyes" in skipped[0].details["en"] and "四眼原则" in skipped[0].details["zh"]


def test_a_person_holding_an_earlier_decision_cannot_take_a_later_step_by_hand_on(
    route, capex, submit, act, user
):
    from .conftest import step

    route(
        step("first", {"kind": "user", "username": "finrev"}),
        step("second", {"kind": "user", "username": "cfo"}),
    )
    c = submit(capex("sales1"))
    act("finrev", c, "approve")
    with pytest.raises(Exception) as refused:
        act("cfo", c, "delegate", to="finrev")
    assert "finrev" in str(getattr(refused.value, "details", refused.value))


def test_a_leaver_loses_grants_tokens_sessions_and_tasks_at_once(claim, submit, user, holders):
    from quire.runtime.auth.service import create_token, user_for_token

    c = submit(claim("sales1", 25000))
    assert holders(c) == ["salesmgr"]
    salesmgr = user("salesmgr")
    _token, clear = create_token(salesmgr, "script")
    _delegate(user, "rdmgr", "salesmgr")
    version = salesmgr.auth_version
    db.session.commit()

    org.set_status(user("hr1"), salesmgr, UserStatus.LEFT)
    db.session.commit()

    assert salesmgr.auth_version == version + 1
    assert user_for_token(clear) is None
    open_grants = db.session.scalars(
        select(RoleGrant).where(RoleGrant.user_id == salesmgr.id, RoleGrant.revoked_at.is_(None))
    ).all()
    assert open_grants == []
    revoked = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "grant.revoke", AuditEvent.actor_name == "hr1"
        )
    ).all()
    assert len(revoked) == len(salesmgr.grants) >= 2
    assert user("rdmgr").delegate is None
    assert holders(c) == ["cfo"], "salesmgr's manager takes his open task"


def test_the_hr_sync_and_the_cli_leave_the_same_way(user, runner):
    result = runner.invoke("users", "disable", "rd1")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    rd1 = user("rd1")
    assert rd1.status == UserStatus.LEFT
    assert all(g.revoked_at is not None for g in rd1.grants)


def test_engine_reads_the_acting_time_not_the_assignment(claim, submit, user):
    """A delegate may act for the holder only while the delegation lasts."""
    _delegate(user, "salesmgr", "rdmgr")
    c = submit(claim("sales1", 25000))
    task = db.session.scalars(
        select(ApprovalTask).where(
            ApprovalTask.submission_id == c.id, ApprovalTask.status == TaskStatus.OPEN
        )
    ).one()
    assert task.through_delegation and task.on_behalf_of.username == "salesmgr"
    assert access.may_act_on_task(user("rdmgr"), task, TODAY)
    assert not access.may_act_on_task(user("rdmgr"), task, date(2026, 12, 1))
    assert access.may_act_on_task(user("salesmgr"), task, date(2026, 12, 1))
