"""Handing a task to someone else: the one way a task changes hands.

An approver hands it on (``delegate``, ``transfer``), the sweep escalates it to the holder's
manager when it is overdue, or moves it off someone who has left or is away. Each closes
the old task as ``delegated`` and opens the same step, same round, for the new holder;
the caller writes the history line and tells whom it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import ApprovalTask, Submission, TaskStatus, User
from . import notify, routing
from .state import record, unfinished_tasks


def already_holds(task: ApprovalTask, person: User) -> bool:
    """Whether ``person`` already has a task at ``task``'s step, open or waiting their turn."""
    return person.id in holder_ids(task)


def holder_ids(task: ApprovalTask) -> set[int]:
    """Who has a task at ``task``'s step, open or waiting their turn."""
    return {t.assignee_id for t in unfinished_tasks(task.submission, task.step_key)}


def hand_over(
    task: ApprovalTask,
    to: User,
    *,
    now: datetime,
    on_behalf_of: User | None,
    through_delegation: bool,
    due_at: datetime | None,
    created_at: datetime | None = None,
    comment: str | None = None,
) -> ApprovalTask:
    """Close ``task`` as handed on and open the same step for ``to``; returns the new task.

    ``created_at`` is now unless given (moving a task off someone away keeps its age in the
    inbox)."""
    task.status = TaskStatus.DELEGATED
    task.decided_at = now
    notify.task_left(task, now)
    if comment is not None:
        task.comment = comment
    new = ApprovalTask(
        submission=task.submission,
        step_key=task.step_key,
        step_index=task.step_index,
        round=task.round,
        assignee=to,
        on_behalf_of=on_behalf_of,
        through_delegation=through_delegation,
        status=TaskStatus.OPEN,
        created_at=created_at or now,
        due_at=due_at,
        checks=task.checks,
        added_by_id=task.added_by_id,
        added_as=task.added_as,
        added_to_id=task.added_to_id,
    )
    db.session.add(new)
    db.session.flush()
    # Signers added to the old task now stand beside the new holder.
    for signer in db.session.scalars(
        select(ApprovalTask).where(ApprovalTask.added_to_id == task.id)
    ):
        signer.added_to_id = new.id
    return new


def record_notes(
    submission: Submission,
    notes: Iterable[routing.Note],
    *,
    step: str | None,
    now: datetime,
    round: int,
) -> None:
    """History lines for why routing chose someone else ("X for Y", "Y has left: X")."""
    for note in notes:
        record(
            submission,
            "delegate" if note.kind == "delegate" else "reassign",
            now=now,
            round=round,
            step=step,
            actor=None,
            on_behalf_of=note.original,
            comment=note.sentence_en(),
            details={
                "kind": note.kind,
                "from": note.original.username,
                "to": note.replacement.username,
                "zh": note.sentence_zh(),
                "en": note.sentence_en(),
            },
        )
