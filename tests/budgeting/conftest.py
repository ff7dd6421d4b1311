"""Budget round fixtures: next year's round opened by finadmin over the demo organisation.

The demo seed leaves next year's budgets in compilation (HQ, RD and HR in review; FIN,
SALES and SALES-E drafts), which a round opened for the whole organisation adopts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest


@pytest.fixture
def year(app) -> int:  # type: ignore[no-untyped-def]
    from quire.runtime.approvals.routing import local_today

    return local_today().year + 1


@pytest.fixture
def now(app):  # type: ignore[no-untyped-def]
    from quire.runtime.models import utcnow

    return utcnow()


@pytest.fixture
def open_round(app, user, year, now):  # type: ignore[no-untyped-def]
    """``open_round()`` → next year's round for the whole organisation, as finadmin."""
    from quire.runtime.budgeting import service
    from quire.runtime.extensions import db

    def make(**overrides: Any):  # type: ignore[no-untyped-def]
        raw = {
            "fiscal_year": year,
            "department": "HQ",
            "deadline": (now.date() + timedelta(days=14)).isoformat(),
            "instructions": "Plan flat travel; explain any rise over 5 %.",
            "reference": ["last_budget", "actuals"],
            **overrides,
        }
        request = service.parse_request(raw, now.date())
        round = service.open_round(user("finadmin"), request, now=now)
        db.session.commit()
        return round

    return make


@pytest.fixture
def approve_through(app):  # type: ignore[no-untyped-def]
    """``approve_through(submission)``: every holder approves until the route ends."""
    from sqlalchemy import select

    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, SubmissionStatus, TaskStatus

    def walk(submission, *, stop_before: str | None = None):  # type: ignore[no-untyped-def]
        for _ in range(10):
            db.session.refresh(submission)
            if submission.status != SubmissionStatus.IN_REVIEW:
                return submission
            if submission.current_step == stop_before:
                return submission
            task = db.session.scalar(
                select(ApprovalTask)
                .where(
                    ApprovalTask.submission_id == submission.id,
                    ApprovalTask.status == TaskStatus.OPEN,
                )
                .limit(1)
            )
            engine.act(task.assignee, submission.id, "approve", version=submission.version)
            db.session.commit()
        raise AssertionError("the route did not end")

    return walk
