"""Reminders before a deadline and escalation after it, once each: the one rule that budget
rounds and access reviews (and whatever else asks people for something by a date) share.

A sweep may run twice, or twice at once: each nudge is a once-only timestamp on the row,
set by a conditional UPDATE, so only the sweep that sets it sends the message.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import update

from .extensions import affected_rows, db

Nudge = Literal["remind", "escalate"]


def _stamp(model: Any, row_id: int, column: Any, now: datetime) -> bool:
    """Set a once-only timestamp; False when another sweep got there first."""
    done = db.session.execute(
        update(model)
        .where(model.id == row_id, column.is_(None))
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return affected_rows(done) == 1


def due_nudge(
    model: Any,
    row: Any,
    *,
    deadline: date,
    remind_days: int,
    today: date,
    now: datetime,
    may_remind: bool = True,
) -> Nudge | None:
    """The nudge ``row`` (of ``model``, with ``reminded_at`` and ``escalated_at`` columns) is
    due today, already stamped as sent: ``escalate`` once past the deadline, ``remind`` from
    ``remind_days`` before it; None when nothing is due or another sweep sent it."""
    if today > deadline and row.escalated_at is None:
        return "escalate" if _stamp(model, row.id, model.escalated_at, now) else None
    if (
        may_remind
        and today >= deadline - timedelta(days=remind_days)
        and row.reminded_at is None
        and _stamp(model, row.id, model.reminded_at, now)
    ):
        return "remind"
    return None
