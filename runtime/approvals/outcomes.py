"""What a built-in form does once it is approved, inside the decision's transaction.

Most forms are records: approving one changes nothing else. A few built-in forms change
the organisation when they are approved (an ``access-request`` creates a grant). Each
registers a :class:`FormOutcome` here, the one place that lists them:

- ``check(Check) -> list[Detail]`` runs when the form is submitted, after the template's
  own rules: problems by field path, in the submitter's language. An empty list lets it in.
- ``approved(Approved) -> None`` runs when the last step approves, before the approval is
  final. It applies the change through the organisation's services, so their rules hold at
  that moment. Raising a :class:`~quire.runtime.errors.QuireError` (the person left, a
  separation-of-duties rule) undoes whatever it wrote and ends the form *rejected*, with
  the error's sentence in the history; nothing else changes.

The engine calls :func:`settle` from its finish and the form service :func:`check` at
submit; neither knows which forms have outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select

from quire.designer.model import Template

from .. import audit
from ..errors import Detail, QuireError
from ..extensions import db
from ..forms import values as form_values
from ..models import ApprovalEvent, Submission, SubmissionStatus, User
from . import amend


@dataclass(frozen=True)
class Check:
    """A form being submitted: who submits it, its values, today, their language."""

    submitter: User
    submission: Submission
    values: dict[str, Any]
    today: date
    locale: str


@dataclass(frozen=True)
class Approved:
    """A form whose last step just approved: its values and who approved each step."""

    submission: Submission
    values: dict[str, Any]
    #: Step key -> the person who approved it in this round, or whose decision of another
    #: step stands for it (four eyes); steps skipped by their condition are absent.
    approvers: dict[str, User]
    now: datetime


@dataclass(frozen=True)
class FormOutcome:
    """The effects of one built-in form (by template key)."""

    form: str
    check: Callable[[Check], list[Detail]]
    approved: Callable[[Approved], None]


class OutcomeRegistry:
    """The forms that do something when approved, by template key."""

    def __init__(self, outcomes: Iterable[FormOutcome]) -> None:
        self._by_form = {o.form: o for o in outcomes}

    def get(self, form: str) -> FormOutcome | None:
        return self._by_form.get(form)

    def forms(self) -> list[str]:
        return sorted(self._by_form)


@lru_cache(maxsize=1)
def default_outcomes() -> OutcomeRegistry:
    """The built-in forms' outcomes: listed here, explicitly, not collected on import."""
    from ..access_requests.service import ACCESS_REQUEST, ROLE_CHANGE

    return OutcomeRegistry([ACCESS_REQUEST, ROLE_CHANGE])


def check(
    submitter: User, submission: Submission, template: Template, today: date, locale: str
) -> list[Detail]:
    """The form's own checks at submission (none for most forms)."""
    outcome = default_outcomes().get(template.key)
    if outcome is None:
        return []
    values = form_values.to_python(template, submission.data)
    return outcome.check(Check(submitter, submission, values, today, locale))


def _round(submission: Submission) -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(ApprovalEvent)
        .where(ApprovalEvent.submission_id == submission.id, ApprovalEvent.action == "submit")
    )
    return int(count or 0)


def _approvers(submission: Submission) -> dict[str, User]:
    events = db.session.scalars(
        select(ApprovalEvent)
        .where(
            ApprovalEvent.submission_id == submission.id,
            ApprovalEvent.round == _round(submission),
            ApprovalEvent.action.in_(("approve", "skip")),
        )
        .order_by(ApprovalEvent.id)
    )
    found: dict[str, User] = {}
    for event in events:
        actor = db.session.get(User, event.actor_id) if event.actor_id else None
        covered = (event.details or {}).get("four_eyes") if event.action == "skip" else None
        if covered:
            # Four eyes passed the step: the earlier decision of that person stands for it.
            actor = db.session.scalar(select(User).where(User.username == covered))
        if event.step_key and actor is not None:
            found[event.step_key] = actor
    return found


def settle(
    submission: Submission,
    template: Template,
    outcome: SubmissionStatus,
    comment: str | None,
    *,
    now: datetime,
) -> tuple[SubmissionStatus, str | None]:
    """Apply an approved built-in form's effect; a refusal turns it into a rejection. An
    approved revision (变更) replaces the submission it revises.

    Returns the final status and comment the engine records.
    """
    if outcome != SubmissionStatus.APPROVED:
        return outcome, comment
    outcome, comment = _effect(submission, template, outcome, comment, now=now)
    if outcome == SubmissionStatus.APPROVED and submission.supersedes_id is not None:
        amend.supersede_original(submission, now)
    return outcome, comment


def _effect(
    submission: Submission,
    template: Template,
    outcome: SubmissionStatus,
    comment: str | None,
    *,
    now: datetime,
) -> tuple[SubmissionStatus, str | None]:
    effect = default_outcomes().get(template.key)
    if effect is None:
        return outcome, comment
    values = form_values.to_python(template, submission.data)
    try:
        with db.session.begin_nested():
            effect.approved(Approved(submission, values, _approvers(submission), now))
    except QuireError as refusal:
        sentence = refusal.details[0].message if refusal.details else refusal.message
        db.session.add(
            ApprovalEvent(
                submission_id=submission.id,
                round=_round(submission),
                action="auto_reject",
                comment=sentence,
                details={"refused": refusal.code},
                at=now,
            )
        )
        audit.record(
            None,
            "submission.refused_on_approval",
            object_type="submission",
            object_id=submission.id,
            changes={"form": template.key, "number": submission.number, "reason": sentence},
        )
        return SubmissionStatus.REJECTED, sentence
    return outcome, comment
