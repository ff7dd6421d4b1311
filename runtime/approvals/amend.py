"""Amending an approved submission (变更): a revision opened, and the original replaced once
the revision is approved.

The revision is an ordinary draft (see :mod:`quire.runtime.forms.revisions` for its number
and for the rule of which submissions count); both histories say what happened, and the
audit log has the amendment and the replacement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import access, audit
from ..errors import Conflict, Detail, Forbidden
from ..extensions import db
from ..forms import revisions
from ..forms import service as forms_service
from ..models import ApprovalEvent, Submission, User, utcnow
from .budget import BUDGET_FORM
from .settings import local_day
from .state import S, clean_comment, current_round, flush, load_locked, races_are_conflicts, record


@races_are_conflicts
def amend(
    actor: User,
    submission_id: int,
    *,
    version: Any,
    comment: Any = None,
    now: datetime | None = None,
) -> Submission:
    """Open the next revision of an approved submission as ``actor``: a draft copy, numbered
    ``<original>-R1``…, that refers to the original and is submitted and routed again. One
    revision at a time: while one is open, amending again names it (409)."""
    text = clean_comment(comment)
    now = now or utcnow()
    loaded = load_locked(actor, submission_id)
    original = loaded.submission
    forms_service.check_version(original, version)
    if not access.may_amend(actor, original):
        raise Forbidden("Only the submitter can amend this form.")
    refused = refusal(original)
    if refused is not None:
        raise refused
    revision, left_out = forms_service.create_revision(actor, original, today=local_day(now))
    record(
        original,
        "amend",
        now=now,
        round=current_round(original),
        actor=actor,
        comment=text,
        details={
            "revision": revision.number,
            "revision_id": revision.id,
            "zh": f"变更为 {revision.number}",
            "en": f"amended by {revision.number}",
        },
    )
    record(
        revision,
        "amend",
        now=now,
        round=0,
        actor=actor,
        comment=text,
        details={
            "revision_of": original.number,
            "revision_of_id": original.id,
            "zh": f"由 {original.number} 变更而来",
            "en": f"revision of {original.number}",
        },
    )
    audit.record(
        actor,
        "submission.amend",
        object_type="submission",
        object_id=original.id,
        changes={
            "number": original.number,
            "revision": revision.number,
            "revision_id": revision.id,
            **({"left_out": [d.path for d in left_out]} if left_out else {}),
            **({"comment": text} if text else {}),
        },
    )
    flush()
    return revision


def refusal(original: Submission) -> Conflict | None:
    """Why ``original`` cannot be amended now (a 409), or None: it must be approved, not
    already replaced, without a revision still open, and not a budget (a budget changes
    through an adjustment, which knows about budget rounds)."""
    if original.status != S.APPROVED:
        return Conflict(
            f"Only an approved submission can be amended; this one is {original.status.value}."
        )
    if original.template.key == BUDGET_FORM:
        return Conflict(
            "A budget is changed by a budget adjustment, from its department's budget page."
        )
    if original.superseded_by is not None:
        newer = original.superseded_by.number
        return Conflict(
            f"This submission was replaced by its revision {newer}; amend that one instead.",
            [Detail("superseded_by", newer)],
        )
    pending = revisions.open_revision(original)
    if pending is not None:
        return Conflict(
            f"Revision {pending.number} is already open; submit or finish it first.",
            [Detail("revision", pending.number)],
        )
    return None


def supersede_original(revision: Submission, now: datetime) -> None:
    """A revision was just approved: the submission it revises stops counting (it keeps its
    ``approved`` status and history, and says what replaced it)."""
    original = revision.supersedes
    if original is None or original.status != S.APPROVED or original.superseded_by_id is not None:
        return
    original.superseded_by_id = revision.id
    original.updated_at = now
    db.session.add(
        ApprovalEvent(
            submission_id=original.id,
            round=current_round(original),
            action="supersede",
            details={
                "revision": revision.number,
                "revision_id": revision.id,
                "zh": f"已由 {revision.number} 取代",
                "en": f"replaced by {revision.number}",
            },
            at=now,
        )
    )
    audit.record(
        None,
        "submission.supersede",
        object_type="submission",
        object_id=original.id,
        changes={"number": original.number, "superseded_by": revision.number},
    )
