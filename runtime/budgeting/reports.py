"""Report rows of budget rounds (the ``budget_rounds`` connector of ``budget-compilation``).

Scoped in SQL like every report source: only departments in the reader's REPORT_READ (or
budget management) scope reach a row, a total or an export.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from .. import access
from ..access import Permission
from ..approvals import routing
from ..extensions import db
from ..models import BudgetRound, BudgetRoundEntry, Department, RoundStatus, User
from . import service


def default_year() -> int:
    """Next year while a round for it is open, else the current year."""
    this_year = routing.local_today().year
    upcoming = db.session.scalar(
        select(BudgetRound.id).where(
            BudgetRound.fiscal_year == this_year + 1,
            BudgetRound.status == RoundStatus.OPEN.value,
        )
    )
    return this_year + 1 if upcoming is not None else this_year


def round_rows(
    user: User, config: Mapping[str, Any], filters: Any, locale: str
) -> list[dict[str, Any]]:
    """One row per department of the year's latest round the reader may report on."""
    year = filters.year if filters.year is not None else default_year()
    round = db.session.scalar(
        select(BudgetRound)
        .where(BudgetRound.fiscal_year == year)
        .order_by(BudgetRound.id.desc())
        .limit(1)
    )
    if round is None:
        return []
    stmt = (
        select(BudgetRoundEntry)
        .join(Department, Department.id == BudgetRoundEntry.department_id)
        .where(
            BudgetRoundEntry.round_id == round.id,
            access.scope_filter(user, Permission.REPORT_READ, BudgetRoundEntry)
            | access.scope_filter(user, Permission.BUDGET_MANAGE, BudgetRoundEntry),
        )
        .order_by(Department.path)
    )
    if filters.department is not None:
        stmt = stmt.where(Department.path.startswith(filters.department.path, autoescape=True))
    english = locale.startswith("en")
    rows = []
    for row in service.consolidate_entries(round, list(db.session.scalars(stmt))).rows:
        department = row.department
        rows.append(
            {
                "round": round.id,
                "year": round.fiscal_year,
                "department": department.code,
                "department_name": department.name(locale),
                "status": row.status,
                "status_name": service.STATUS_LABELS[row.status][1 if english else 0],
                "total": row.total,
                "last_budget": row.last_budget,
                "actuals": row.actuals,
                "submission_id": row.entry.submission_id,
            }
        )
    return rows
