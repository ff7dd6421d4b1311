"""Where a task someone was sent to has gone, when it is no longer theirs.

A notification email links to one task (``/submissions/7?task=31#decide``). By the time the
person opens it, someone else may have decided the step, the task may have been handed on,
or the form withdrawn: the page then says so in words instead of showing a form that is not
there. Pure engine code: the page asks, the template words the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from .. import access
from ..extensions import db
from ..models import ApprovalEvent, ApprovalTask, Submission, TaskStatus, User
from .state import S, open_tasks

#: History actions that settle a step: the last of them after the task was sent says who
#: took the decision away from its holder.
_DECISIONS = ("approve", "reject", "return", "auto_approve", "auto_reject", "withdraw")


@dataclass(frozen=True)
class TaskGone:
    """Why the linked task is no longer its reader's.

    ``reason``: ``you_decided`` (they did, earlier), ``withdrawn`` (the submitter took the form
    back), ``with_others`` (open now for ``who``), ``decided`` (``who`` decided it: ``action``
    at ``at``), ``closed`` (nothing more to say)."""

    reason: str
    who: list[str] = field(default_factory=list)
    at: datetime | None = None
    action: str | None = None


def task_gone(viewer: User, submission: Submission, task_id: int, today: date) -> TaskGone | None:
    """Why task ``task_id`` of ``submission`` is no longer ``viewer``'s, or None when it still
    is (or when the id names no task of theirs on this submission: nothing is said about
    other people's tasks)."""
    task = db.session.get(ApprovalTask, task_id)
    if task is None or task.submission_id != submission.id:
        return None
    if not access.was_sent_task(viewer, task):
        return None
    if submission.status == S.IN_REVIEW and any(
        access.may_act_on_task(viewer, t, today) for t in open_tasks(submission)
    ):
        return None
    if access.is_task_holder(viewer, task) and task.status in (
        TaskStatus.APPROVED,
        TaskStatus.REJECTED,
        TaskStatus.RETURNED,
    ):
        action = {"approved": "approve", "rejected": "reject", "returned": "return"}
        return TaskGone("you_decided", at=task.decided_at, action=action[task.status.value])
    last = _last_decision(submission, task)
    if submission.status == S.WITHDRAWN:
        return TaskGone(
            "withdrawn",
            who=[submission.submitter.display_name],
            at=last.at if last is not None else submission.updated_at,
        )
    holders = [t for t in open_tasks(submission) if not access.is_task_holder(viewer, t)]
    if submission.status == S.IN_REVIEW and holders:
        return TaskGone("with_others", who=_names(t.assignee for t in holders))
    if last is not None:
        return TaskGone(
            "decided",
            who=[last.actor.display_name] if last.actor is not None else [],
            at=last.at,
            action=last.action,
        )
    return TaskGone("closed")


def _last_decision(submission: Submission, task: ApprovalTask) -> ApprovalEvent | None:
    return db.session.scalar(
        select(ApprovalEvent)
        .where(
            ApprovalEvent.submission_id == submission.id,
            ApprovalEvent.action.in_(_DECISIONS),
            ApprovalEvent.at >= task.created_at,
        )
        .order_by(ApprovalEvent.at.desc(), ApprovalEvent.id.desc())
        .limit(1)
    )


def _names(users: object) -> list[str]:
    seen: list[str] = []
    for user in users:  # type: ignore[attr-defined]
        if user.display_name not in seen:
            seen.append(user.display_name)
    return seen
