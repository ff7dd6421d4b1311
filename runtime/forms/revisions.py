"""Amendments (变更): which submissions count, and how revisions are found and numbered.

An approved submission is never changed. Its submitter amends it instead: a new draft, a
copy numbered ``<original>-R1`` (``-R2`` for the next…) that refers to the original
(``supersedes``) and is routed again like any submission. Once a revision is approved the
original is marked ``superseded_by`` it; its status stays ``approved``, but from then on only
the revision counts. :func:`in_effect` is that one rule: reports, budget checks and cost
allocation read approved submissions through it.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, select

from ..extensions import db
from ..models import Submission, SubmissionStatus

#: A revision's number: its original's, then ``-R`` and the revision's count.
_REVISION = re.compile(r"^(?P<base>.+)-R(?P<n>\d+)$")
#: Statuses in which a revision is still open (a second amendment waits for it).
OPEN_STATUSES = (SubmissionStatus.DRAFT, SubmissionStatus.IN_REVIEW, SubmissionStatus.RETURNED)
#: How far a chain of revisions is followed (a guard, not a limit anyone reaches).
_DEPTH = 1000


def in_effect() -> ColumnElement[bool]:
    """WHERE clause on :class:`Submission`: not replaced by an approved revision."""
    return Submission.superseded_by_id.is_(None)


def lineage(submission: Submission) -> set[int]:
    """The ids of ``submission`` and of every submission it revises, back to the first."""
    found = {submission.id}
    parent = submission.supersedes_id
    while parent is not None and parent not in found and len(found) < _DEPTH:
        found.add(parent)
        parent = db.session.scalar(select(Submission.supersedes_id).where(Submission.id == parent))
    return found


def family(submission: Submission) -> set[int]:
    """:func:`lineage` plus every revision made from ``submission`` since (its whole story):
    an invoice shared inside it is the same claim corrected, never a duplicate."""
    found = lineage(submission)
    frontier = {submission.id}
    while frontier and len(found) < _DEPTH:
        frontier = (
            set(
                db.session.scalars(
                    select(Submission.id).where(Submission.supersedes_id.in_(frontier))
                )
            )
            - found
        )
        found |= frontier
    return found


def open_revision(original: Submission) -> Submission | None:
    """The revision of ``original`` still being prepared or decided, if there is one."""
    return db.session.scalar(
        select(Submission)
        .where(Submission.supersedes_id == original.id, Submission.status.in_(OPEN_STATUSES))
        .order_by(Submission.id.desc())
        .limit(1)
    )


def next_number(original: Submission) -> str:
    """The number of ``original``'s next revision: ``EC-2026-00042-R1``, then ``-R2``… A
    revision of a revision continues its original's count (``-R2`` revises ``-R1``)."""
    base = original.number
    match = _REVISION.match(base)
    if match is not None and original.supersedes_id is not None:
        base = match["base"]
    taken = db.session.scalars(
        select(Submission.number).where(Submission.number.startswith(f"{base}-R", autoescape=True))
    )
    highest = 0
    for number in taken:
        found = _REVISION.match(number)
        if found is not None and found["base"] == base:
            highest = max(highest, int(found["n"]))
    return f"{base}-R{highest + 1}"
