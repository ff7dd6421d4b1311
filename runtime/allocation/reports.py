"""Report rows of allocation lines (the ``allocations`` connector).

Used by the ``allocation`` report (shares received, per run) and by ``budget-vs-actual``
(every line, so a department's actual includes what it received and a pool's actual drops
by what it gave). Scoped in SQL by the reader's REPORT_READ scope before any total.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select

from .. import access
from ..access import Permission
from ..extensions import db
from ..models import AllocationLine, AllocationRule, AllocationRun, Department, User


def allocation_rows(
    user: User | None, config: Mapping[str, Any], filters: Any, locale: str
) -> list[dict[str, Any]]:
    """One row per allocation line; ``config.lines``: ``in`` (shares only, the default) or
    ``all`` (shares and the pools they came out of). ``user`` None is the organisation's own
    question (a claim's budget check, through budget actuals), which reads every line."""
    stmt = (
        select(AllocationLine, AllocationRun, AllocationRule, Department)
        .join(AllocationRun, AllocationRun.id == AllocationLine.run_id)
        .join(AllocationRule, AllocationRule.id == AllocationLine.rule_id)
        .join(Department, Department.id == AllocationLine.department_id)
        .order_by(AllocationLine.period, AllocationRule.key, Department.code, AllocationLine.id)
    )
    if user is not None:
        stmt = stmt.where(access.scope_filter(user, Permission.REPORT_READ, AllocationLine))
    if config.get("lines", "in") != "all":
        stmt = stmt.where(AllocationLine.kind == "in")
    if filters.year is not None:
        if filters.month is not None:
            stmt = stmt.where(AllocationLine.period == date(filters.year, filters.month, 1))
        else:
            stmt = stmt.where(
                AllocationLine.period >= date(filters.year, 1, 1),
                AllocationLine.period <= date(filters.year, 12, 31),
            )
    if filters.department is not None and getattr(filters, "alone", False):
        stmt = stmt.where(Department.id == filters.department.id)
    elif filters.department is not None:
        stmt = stmt.where(Department.path.startswith(filters.department.path, autoescape=True))
    rule_key = getattr(filters, "rule", None)
    if rule_key:
        stmt = stmt.where(AllocationRule.key == str(rule_key))
    rows = []
    for line, run, rule, department in db.session.execute(stmt):
        rows.append(
            {
                "run": run.id,
                "rule": rule.key,
                "rule_name": rule.name(locale),
                "period": line.period,
                "year": line.period.year,
                "month": line.period.strftime("%Y-%m"),
                "department": department.code,
                "department_name": department.name(locale),
                "account": line.account,
                "kind": line.kind,
                "project": "",
                "amount": line.amount,
                "share": line.amount,
                "actual": line.amount,
                "allocated": line.amount,
                "driver_value": line.driver_value,
                "percent": line.percent / 100 if line.percent is not None else None,
                "source_amount": run.source_amount,
            }
        )
    return rows
