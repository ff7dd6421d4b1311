"""Timeouts and absence, run by the sweep: remind, escalate or decide an overdue task; move
a task off someone who has left or is away.

Every once-only effect is stamped with a guarded UPDATE, so two sweeps at once remind once
and escalate once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from quire.designer.approval import ApprovalStep

from .. import access, audit
from ..extensions import affected_rows, db
from ..models import ApprovalTask, Submission, TaskStatus, User, UserStatus
from . import notify, routing, settings
from .facts import facts_at_submission
from .handing import already_holds, hand_over, record_notes
from .route import Run, decide
from .settings import local_day
from .state import (
    S,
    current_round,
    find_step,
    flush,
    iso,
    locked,
    races_are_conflicts,
    record,
    step_names,
    template_of,
    touch,
)


def overdue_task_ids(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(ApprovalTask.id)
            .join(Submission, Submission.id == ApprovalTask.submission_id)
            .where(
                ApprovalTask.status == TaskStatus.OPEN,
                ApprovalTask.due_at.is_not(None),
                ApprovalTask.due_at <= now,
                Submission.status == S.IN_REVIEW,
            )
            .order_by(ApprovalTask.due_at)
        )
    )


def _claim(task_id: int, column: Any, now: datetime) -> bool:
    """Stamp a once-only column; True for the one sweep that stamped it (idempotency)."""
    result = db.session.execute(
        update(ApprovalTask)
        .where(ApprovalTask.id == task_id, ApprovalTask.status == TaskStatus.OPEN, column.is_(None))
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result) == 1


def _open_task_locked(task_id: int) -> tuple[ApprovalTask, Submission] | None:
    """The task and its submission (row locked), while both are still waiting."""
    task = db.session.get(ApprovalTask, task_id)
    if task is None or task.status != TaskStatus.OPEN:
        return None
    submission = locked(task.submission_id)
    db.session.refresh(task)
    if submission is None or submission.status != S.IN_REVIEW or task.status != TaskStatus.OPEN:
        return None
    return task, submission


@races_are_conflicts
def handle_overdue(task_id: int, now: datetime) -> str | None:
    """Apply the step's ``on_timeout`` to one overdue task; returns what was done, if anything."""
    found_task = _open_task_locked(task_id)
    if found_task is None:
        return None
    task, submission = found_task
    template = template_of(submission)
    found = find_step(template, task.step_key)
    if found is None:
        return None
    _, step = found
    round = current_round(submission)
    run = Run(submission, template, facts_at_submission(submission, template), round, now)
    policy = step.on_timeout
    if policy == "escalate":
        return _escalate(run, task, step) or _remind(run, task)
    if policy in ("auto_approve", "auto_reject"):
        if not _claim(task.id, ApprovalTask.escalated_at, now):
            return None
        db.session.refresh(task)
        decide(
            run,
            task,
            policy == "auto_approve",
            actor=None,
            comment="due time passed",
            reason={
                "on_timeout": policy,
                "due_at": task.due_at.isoformat() if task.due_at else None,
            },
        )
        touch(submission, now)
        audit.record(
            None,
            f"submission.{policy}",
            object_type="submission",
            object_id=submission.id,
            changes={"step": step.key, "task": task.id},
        )
        flush()
        return policy
    return _remind(run, task)


def _remind(run: Run, task: ApprovalTask) -> str | None:
    if not _claim(task.id, ApprovalTask.reminded_at, run.now):
        return None
    db.session.refresh(task)
    record(
        run.submission,
        "remind",
        now=run.now,
        round=run.round,
        step=task.step_key,
        on_behalf_of=task.assignee,
        comment=f"reminded {task.assignee.username}: overdue since {iso(task.due_at)}",
    )
    notify.reminder(task)
    return "remind"


def _escalate(run: Run, task: ApprovalTask, step: ApprovalStep) -> str | None:
    boss = routing.manager_of(task.assignee)
    settled = (
        routing.settle(boss, run.submission, run.today, task.step_key) if boss is not None else None
    )
    if settled is None or settled.user.id == task.assignee_id:
        return None
    if already_holds(task, settled.user):
        return None
    if not _claim(task.id, ApprovalTask.escalated_at, run.now):
        return None
    db.session.refresh(task)
    new = hand_over(
        task,
        settled.user,
        now=run.now,
        on_behalf_of=settled.on_behalf_of,
        through_delegation=settled.on_behalf_of is not None,
        due_at=routing.due_at(step, run.now),
    )
    record(
        run.submission,
        "escalate",
        now=run.now,
        round=run.round,
        step=task.step_key,
        on_behalf_of=task.assignee,
        comment=(
            f"{task.assignee.display_name} did not decide in time; "
            f"escalated to {settled.user.display_name}"
        ),
        details={
            "from": task.assignee.username,
            "to": settled.user.username,
            "due_at": task.due_at.isoformat() if task.due_at else None,
        },
    )
    notify.escalation(new, task)
    touch(run.submission, run.now)
    audit.record(
        None,
        "submission.escalate",
        object_type="submission",
        object_id=run.submission.id,
        changes={
            "step": task.step_key,
            "from": task.assignee.username,
            "to": settled.user.username,
        },
    )
    flush()
    return "escalate"


def finance_people() -> list[User]:
    """Who "finance" is when the engine must tell finance something."""
    people: dict[int, User] = {}
    for key in settings.current().finance_roles:
        for person in routing.role_holders(key):
            people.setdefault(person.id, person)
    return list(people.values())


def absent_task_ids(today: date) -> list[int]:
    """Open tasks whose holder has left or is away with a delegate."""
    rows = db.session.execute(
        select(ApprovalTask.id, User)
        .join(User, User.id == ApprovalTask.assignee_id)
        .join(Submission, Submission.id == ApprovalTask.submission_id)
        .where(
            ApprovalTask.status == TaskStatus.OPEN,
            Submission.status == S.IN_REVIEW,
            (User.status != UserStatus.ACTIVE) | User.delegate_id.is_not(None),
        )
    ).all()
    return [
        task_id
        for task_id, person in rows
        if person.status == UserStatus.LEFT
        or access.delegation_active(person, today)
        or person.status == UserStatus.ON_LEAVE
    ]


@races_are_conflicts
def reroute(task_id: int, now: datetime) -> str | None:
    """Move one task off someone who left (to their manager; finance is told) or who is
    away (to their delegate, "X for Y")."""
    found_task = _open_task_locked(task_id)
    if found_task is None:
        return None
    task, submission = found_task
    holder = task.assignee
    settled = routing.settle(holder, submission, local_day(now), task.step_key)
    if settled is None or settled.user.id == holder.id:
        return None
    if already_holds(task, settled.user):
        return None
    template = template_of(submission)
    new = hand_over(
        task,
        settled.user,
        now=now,
        on_behalf_of=settled.on_behalf_of or task.on_behalf_of,
        through_delegation=settled.on_behalf_of is not None or task.through_delegation,
        due_at=task.due_at,
        created_at=task.created_at,
    )
    record_notes(
        submission, settled.notes, step=task.step_key, now=now, round=current_round(submission)
    )
    notify.new_task(new, step_names(template, task.step_key))
    kind = "left" if holder.status == UserStatus.LEFT else "away"
    if kind == "left":
        notify.reassigned(finance_people(), submission, holder, settled.user)
    touch(submission, now)
    audit.record(
        None,
        "submission.reassign",
        object_type="submission",
        object_id=submission.id,
        changes={
            "step": task.step_key,
            "from": holder.username,
            "to": settled.user.username,
            "why": kind,
        },
    )
    flush()
    return kind
