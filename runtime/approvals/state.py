"""A submission's approval state as stored: the locked row, its tasks and its history lines.

Every change the engine makes goes through here: lock the row, write a history line, find
or cancel open tasks, bump the optimistic lock, flush so a lost race is a 409.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import exists, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from quire.designer.approval import ApprovalStep
from quire.designer.model import Template

from ..errors import Conflict, Detail, Invalid, NotFound
from ..extensions import db
from ..forms import service as forms_service
from ..forms import templates as template_service
from ..models import ApprovalEvent, ApprovalTask, Submission, SubmissionStatus, TaskStatus, User
from . import notify

#: History actions that are decisions (withdrawal is only allowed before the first).
DECISIONS = ("approve", "reject", "return", "auto_approve", "auto_reject")
MAX_COMMENT = 4000
S = SubmissionStatus
P = ParamSpec("P")
R = TypeVar("R")


def template_of(submission: Submission) -> Template:
    version = template_service.version_record(submission.template, submission.template_version)
    return template_service.parsed(version)


def steps_of(template: Template) -> list[ApprovalStep]:
    return template.approval.all_steps() if template.approval else []


def find_step(template: Template, key: str | None) -> tuple[int, ApprovalStep] | None:
    for index, step in enumerate(steps_of(template)):
        if step.key == key:
            return index, step
    return None


def bilingual(step: ApprovalStep) -> tuple[str, str]:
    return step.name.zh, step.name.en


def step_names(template: Template, key: str) -> tuple[str, str]:
    """A step's name in both languages (its key when the route no longer has it)."""
    found = find_step(template, key)
    return bilingual(found[1]) if found else (key, key)


def locked(submission_id: int) -> Submission | None:
    """The submission row, locked for this transaction and freshly read.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite has no row locks and pysqlite starts a
    transaction only at the first write, so a no-op write takes the database's write lock
    first; everything read after it is current until commit.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            text("UPDATE submissions SET id = id WHERE id = :id"), {"id": submission_id}
        )
    return db.session.scalar(
        select(Submission)
        .where(Submission.id == submission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def load_locked(actor: User, submission_id: int) -> forms_service.Loaded:
    submission = locked(submission_id)
    if submission is None:
        raise NotFound("No such submission, or it is outside your scope.")
    return forms_service.load(actor, submission_id)


def touch(submission: Submission, now: datetime) -> None:
    """Bump the optimistic lock: every state change makes older pages stale."""
    submission.updated_at = now


def flush() -> None:
    """Write now, so a concurrent change surfaces inside the engine as a 409, not at commit."""
    db.session.flush()


def races_are_conflicts(fn: Callable[P, R]) -> Callable[P, R]:
    """A change that lost a race is a 409, like a stale ``version``: on PostgreSQL the row
    lock makes the loser see the new version; on SQLite its write is refused."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except StaleDataError as exc:
            raise Conflict(
                "Someone else changed this submission at the same moment; reload it and try again."
            ) from exc
        except OperationalError as exc:
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
            raise Conflict("The submission is being changed by someone else; try again.") from exc

    return guarded


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def clean_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise Invalid("Please check the request.", [Detail("comment", "must be text")])
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(
            "Please check the request.", [Detail("comment", f"at most {MAX_COMMENT} characters")]
        )
    return comment or None


def current_round(submission: Submission) -> int:
    """Review rounds: 1 after the first submission, 2 after it was returned and resubmitted…"""
    count = db.session.scalar(
        select(func.count())
        .select_from(ApprovalEvent)
        .where(ApprovalEvent.submission_id == submission.id, ApprovalEvent.action == "submit")
    )
    return int(count or 0)


def decided_in_round(submission: Submission, round: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    ApprovalEvent.submission_id == submission.id,
                    ApprovalEvent.round == round,
                    ApprovalEvent.action.in_(DECISIONS),
                )
            )
        )
    )


def record(
    submission: Submission,
    action: str,
    *,
    now: datetime,
    round: int,
    actor: User | None = None,
    on_behalf_of: User | None = None,
    step: str | None = None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> ApprovalEvent:
    """Add one line to the submission's history."""
    event = ApprovalEvent(
        submission_id=submission.id,
        step_key=step,
        round=round,
        actor_id=actor.id if actor else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
        action=action,
        comment=comment,
        details=details,
        at=now,
    )
    db.session.add(event)
    return event


def open_tasks(submission: Submission, step_key: str | None = None) -> list[ApprovalTask]:
    stmt = select(ApprovalTask).where(
        ApprovalTask.submission_id == submission.id, ApprovalTask.status == TaskStatus.OPEN
    )
    if step_key is not None:
        stmt = stmt.where(ApprovalTask.step_key == step_key)
    return list(db.session.scalars(stmt.order_by(ApprovalTask.id)))


def unfinished_tasks(submission: Submission, step_key: str | None = None) -> list[ApprovalTask]:
    """Open tasks and those waiting for their turn (what a decision or a return cancels)."""
    stmt = select(ApprovalTask).where(
        ApprovalTask.submission_id == submission.id,
        ApprovalTask.status.in_((TaskStatus.OPEN, TaskStatus.WAITING)),
    )
    if step_key is not None:
        stmt = stmt.where(ApprovalTask.step_key == step_key)
    return list(db.session.scalars(stmt.order_by(ApprovalTask.id)))


def step_tasks(submission: Submission, step_key: str, round: int) -> list[ApprovalTask]:
    return list(
        db.session.scalars(
            select(ApprovalTask)
            .where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.step_key == step_key,
                ApprovalTask.round == round,
            )
            .order_by(ApprovalTask.id)
        )
    )


def step_tasks_of_round(submission: Submission, round: int) -> list[ApprovalTask]:
    """Every task of every step in this round."""
    return list(
        db.session.scalars(
            select(ApprovalTask)
            .where(ApprovalTask.submission_id == submission.id, ApprovalTask.round == round)
            .order_by(ApprovalTask.id)
        )
    )


def cancel(tasks: Iterable[ApprovalTask], now: datetime) -> None:
    for task in tasks:
        if task.status in (TaskStatus.OPEN, TaskStatus.WAITING):
            task.status = TaskStatus.CANCELLED
            task.decided_at = now
            notify.task_left(task, now)
