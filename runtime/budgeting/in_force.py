"""Which approved budgets count: the one rule budget checks and budget-vs-actual share.

A budget approved inside a round that is still open is not yet the year's budget: it becomes
so when finance closes the round, all departments at once. Budgets made outside any round
(and adjustments after closing) count as soon as they are approved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select

from ..models import BudgetRound, BudgetRoundEntry, RoundStatus, Submission


def in_force() -> ColumnElement[bool]:
    """WHERE clause on :class:`Submission`: not the department's part of an open round."""
    pending: Any = (
        select(BudgetRoundEntry.submission_id)
        .join(BudgetRound, BudgetRound.id == BudgetRoundEntry.round_id)
        .where(
            BudgetRound.status == RoundStatus.OPEN.value,
            BudgetRoundEntry.submission_id.is_not(None),
        )
    )
    return Submission.id.not_in(pending)
