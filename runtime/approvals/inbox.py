"""Reading approvals: the inbox (tasks waiting for someone), its count, a submission's history."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from quire.designer.model import Template

from .. import access
from ..errors import Detail, Invalid
from ..extensions import db
from ..models import ApprovalEvent, ApprovalTask, Submission, TaskStatus, User
from .state import S, find_step

INBOX_SORTS = {
    "-since": (ApprovalTask.created_at.desc(), ApprovalTask.id.desc()),
    "since": (ApprovalTask.created_at.asc(), ApprovalTask.id.asc()),
    "-total": (Submission.total.desc().nulls_last(), ApprovalTask.id.desc()),
    "total": (Submission.total.asc().nulls_last(), ApprovalTask.id.asc()),
    "due": (ApprovalTask.due_at.asc().nulls_last(), ApprovalTask.id.asc()),
}


def inbox_query(user: User, today: date, sort: str = "-since") -> Select[Any]:
    """Open tasks ``user`` may decide now (their own and those delegated to them), never one
    on a form they submitted (see :func:`quire.runtime.access.offered_tasks`)."""
    if sort not in INBOX_SORTS:
        raise Invalid("Invalid sort.", [Detail("sort", "must be one of " + ", ".join(INBOX_SORTS))])
    return (
        select(ApprovalTask)
        .join(Submission, Submission.id == ApprovalTask.submission_id)
        .where(
            ApprovalTask.status == TaskStatus.OPEN,
            access.offered_tasks(user, today),
            Submission.status == S.IN_REVIEW,
        )
        .options(
            joinedload(ApprovalTask.submission).joinedload(Submission.submitter),
            joinedload(ApprovalTask.submission).joinedload(Submission.department),
            joinedload(ApprovalTask.submission).joinedload(Submission.template),
            joinedload(ApprovalTask.assignee),
            joinedload(ApprovalTask.on_behalf_of),
        )
        .order_by(*INBOX_SORTS[sort])
    )


def inbox_count(user: User, today: date) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ApprovalTask)
            .join(Submission, Submission.id == ApprovalTask.submission_id)
            .where(
                ApprovalTask.status == TaskStatus.OPEN,
                access.offered_tasks(user, today),
                Submission.status == S.IN_REVIEW,
            )
        )
        or 0
    )


def history_query(submission: Submission) -> Select[Any]:
    """Every line of the submission's history, oldest first."""
    return (
        select(ApprovalEvent)
        .where(ApprovalEvent.submission_id == submission.id)
        .options(joinedload(ApprovalEvent.actor), joinedload(ApprovalEvent.on_behalf_of))
        .order_by(ApprovalEvent.at.asc(), ApprovalEvent.id.asc())
    )


def step_name(template: Template, key: str | None, locale: str) -> str:
    found = find_step(template, key)
    return found[1].name.text(locale) if found else (key or "")
