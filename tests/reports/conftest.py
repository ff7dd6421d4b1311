"""Report fixtures: approved budgets and claims written straight into the database.

The tests build exactly the rows they count, so they never depend on the demo sample data
(which may or may not be seeded); the ``clean_finance_data`` fixture removes whatever
sample submissions the seed made first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select

YEAR = date.today().year


@pytest.fixture
def clean_finance_data(app):  # type: ignore[no-untyped-def]
    """Remove every submission (and what hangs off it) the demo seed may have made."""
    from quire.runtime.extensions import db
    from quire.runtime.models import (
        AllocationLine,
        AllocationRun,
        ApprovalEvent,
        ApprovalTask,
        Attachment,
        Notification,
        Submission,
        VoucherUse,
    )

    for model in (AllocationLine, AllocationRun):
        db.session.execute(delete(model))
    for model in (ApprovalEvent, ApprovalTask, VoucherUse, Notification):
        db.session.execute(delete(model))
    db.session.execute(delete(Attachment).where(Attachment.submission_id.is_not(None)))
    db.session.execute(delete(Submission))
    db.session.commit()


def _money(value: Any) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


@pytest.fixture
def make_submission(app, clean_finance_data):  # type: ignore[no-untyped-def]
    """``make_submission("expense-claim", "SALES", "sales1", data, period=…, status=…)``."""
    from quire.runtime.extensions import db
    from quire.runtime.models import Department, FormTemplate, Submission, SubmissionStatus
    from quire.runtime.org import user_by_username

    def make(
        form: str,
        department: str,
        submitter: str,
        data: dict[str, Any],
        *,
        period: date,
        status: str = "approved",
        total: Any = None,
    ) -> Any:
        from quire.runtime.models import utcnow

        template = db.session.scalar(select(FormTemplate).where(FormTemplate.key == form))
        dept = db.session.scalar(select(Department).where(Department.code == department))
        submission = Submission(
            template=template,
            template_version=template.latest_version,
            number=f"T-{uuid.uuid4().hex[:10]}",
            status=SubmissionStatus(status),
            department=dept,
            period=period,
            submitter=user_by_username(submitter),
            data={"department": department, **data},
            total=Decimal(str(total)) if total is not None else None,
            decided_at=utcnow() if status in ("approved", "rejected") else None,
        )
        db.session.add(submission)
        db.session.flush()
        return submission

    return make


@pytest.fixture
def budget(make_submission) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """``budget("SALES", {"travel": 120000})``: an approved budget, spread evenly by quarter."""

    def make(department: str, accounts: dict[str, Any], *, year: int = YEAR) -> Any:
        lines = []
        total = Decimal(0)
        for account, annual in accounts.items():
            quarter = Decimal(str(annual)) / 4
            lines.append(
                {
                    "account": account,
                    **{f"q{i}": _money(quarter) for i in range(1, 5)},
                    "annual": _money(annual),
                }
            )
            total += Decimal(str(annual))
        return make_submission(
            "department-budget",
            department,
            "finadmin",
            {"fiscal_year": str(year), "lines": lines, "total": _money(total)},
            period=date(year, 1, 1),
            total=total,
        )

    return make


@pytest.fixture
def claim(make_submission) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """``claim("SALES", [("travel", 1200), ("meals", 80)], month=3)``: an expense claim."""

    def make(
        department: str,
        lines: list[tuple[str, Any]],
        *,
        month: int = 1,
        year: int = YEAR,
        status: str = "approved",
        submitter: str | None = None,
    ) -> Any:
        submitter = submitter or {"SALES": "sales1", "SALES-E": "sales3", "RD": "rd1"}.get(
            department, "finadmin"
        )
        day = date(year, month, 10)
        data_lines = [
            {
                "date": day.isoformat(),
                "category": category,
                "description": f"{category} 费用",
                "amount": _money(amount),
            }
            for category, amount in lines
        ]
        total = sum((Decimal(str(a)) for _, a in lines), Decimal(0))
        return make_submission(
            "expense-claim",
            department,
            submitter,
            {
                "lines": data_lines,
                "total": _money(total),
                "payee_name": "张三",
                "bank_account": "6222 0000 1111 2222",
            },
            period=date(year, month, 1),
            status=status,
            total=total,
        )

    return make


@pytest.fixture
def task(app):  # type: ignore[no-untyped-def]
    """``task(submission, "manager", "salesmgr", hours=5, due_hours=24, decided=True)``."""
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus, utcnow
    from quire.runtime.org import user_by_username

    def make(
        submission: Any,
        step: str,
        assignee: str,
        *,
        hours: float | None,
        due_hours: float = 24,
        start: datetime | None = None,
    ) -> Any:
        start = start or utcnow() - timedelta(hours=100)
        decided = hours is not None
        row = ApprovalTask(
            submission_id=submission.id,
            step_key=step,
            step_index=0,
            assignee_id=user_by_username(assignee).id,
            status=TaskStatus.APPROVED if decided else TaskStatus.OPEN,
            created_at=start,
            due_at=start + timedelta(hours=due_hours),
            decided_at=start + timedelta(hours=hours) if decided else None,
        )
        db.session.add(row)
        db.session.flush()
        return row

    return make
