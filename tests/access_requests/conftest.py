"""Access-request fixtures: file a request as someone, decide it as someone else.

Times are real (a grant's validity is checked against the clock); tests that need a later
day move the clock by patching :func:`quire.runtime.access.utcnow`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest


@pytest.fixture
def request_access(app, user):  # type: ignore[no-untyped-def]
    """``request_access("sales2", role="finance_reviewer", scope="SALES", days=30)`` files
    and submits an access request through the form service and the engine."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.forms import service

    def make(username: str, *, submit: bool = True, days: int | None = 30, **data: Any):  # type: ignore[no-untyped-def]
        values: dict[str, Any] = {"reason": "month-end close cover", **data}
        if days is not None:
            values.setdefault("valid_until", (date.today() + timedelta(days=days)).isoformat())
        submission = service.create(user(username), "access-request", values)
        db.session.commit()
        if submit:
            engine.submit(submission.submitter, submission.id, submission.version)
            db.session.commit()
        return submission

    return make


@pytest.fixture
def decide(app, user):  # type: ignore[no-untyped-def]
    """``decide("salesmgr", submission, "approve")`` acts through the engine and commits."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def run(username: str, submission, action: str = "approve", comment: str | None = None):  # type: ignore[no-untyped-def]
        engine.act(
            user(username), submission.id, action, version=submission.version, comment=comment
        )
        db.session.commit()
        return submission

    return run


@pytest.fixture
def waiting_with(app):  # type: ignore[no-untyped-def]
    """Usernames holding the open tasks of a submission."""
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    def get(submission) -> list[str]:  # type: ignore[no-untyped-def]
        return [
            t.assignee.username
            for t in db.session.scalars(
                select(ApprovalTask)
                .where(
                    ApprovalTask.submission_id == submission.id,
                    ApprovalTask.status == TaskStatus.OPEN,
                )
                .order_by(ApprovalTask.id)
            )
        ]

    return get


@pytest.fixture
def act_on_request(app, user):  # type: ignore[no-untyped-def]
    """``act_on_request("salesmgr", submission_id)`` approves through the engine."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    def run(username: str, submission_id: int, action: str = "approve"):  # type: ignore[no-untyped-def]
        submission = db.session.get(Submission, submission_id)
        engine.act(user(username), submission_id, action, version=submission.version)
        db.session.commit()

    return run
