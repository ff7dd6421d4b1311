"""Approval fixtures: the built-in templates published, budgets approved, claims at hand.

``claim("sales1", 25000)`` files an expense claim through the form service (a draft);
``submit(claim)`` sends it into review through the engine; ``act`` decides as someone.
Times are fixed on a Wednesday so due dates in working days are predictable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

COMMITTEE = {"kind": "role", "role": "finance_reviewer"}
#: A Wednesday, 10:00 in Shanghai.
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 18)


@pytest.fixture
def org(app, user):  # type: ignore[no-untyped-def]
    """Templates published and every department's budget for the year approved."""
    from quire.runtime.approvals import budget
    from quire.runtime.demo_data import BUDGET_FILERS, make_budget
    from quire.runtime.extensions import db
    from quire.runtime.forms.templates import import_builtins
    from quire.runtime.org import department_by_code

    import_builtins()
    db.session.commit()
    for code, filer in BUDGET_FILERS.items():
        if budget.approved_budget(department_by_code(code), TODAY.year) is None:
            make_budget(user(filer), code, TODAY.year, submitted=NOW - timedelta(days=300))
    db.session.commit()
    return app


CAPEX_TEMPLATE: dict[str, Any] = {
    "key": "capex-request",
    "kind": "form",
    "title": {"zh": "资本支出申请", "en": "Capital expenditure request"},
    "fields": [
        {"key": "item", "type": "text", "label": {"zh": "项目", "en": "Item"}, "required": True},
        {
            "key": "total",
            "type": "money",
            "label": {"zh": "金额", "en": "Amount"},
            "required": True,
        },
    ],
    "approval": {"steps": []},
}


@pytest.fixture
def route(org, user):  # type: ignore[no-untyped-def]
    """``route(step, ...)`` publishes the ``capex-request`` form with these approval steps.
    The finance committee: finadmin and cfo also get the ``finance_reviewer`` role, so it
    is held by three people (finadmin, finrev, cfo)."""
    import copy

    # finadmin designs templates: sitting on the committee is a CFO-approved exception to
    # the "design templates / approve claims" separation-of-duties rule.
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.forms import templates
    from quire.runtime.models import SodException, SodRule
    from quire.runtime.org import grant_role, role_by_key

    rule = db.session.scalar(select(SodRule).where(SodRule.key == "design-vs-approve"))
    db.session.add(
        SodException(
            rule=rule, user=user("finadmin"), reason="finance committee", approved_by=user("cfo")
        )
    )
    for name in ("finadmin", "cfo"):
        grant_role(
            None, user(name), role_by_key("finance_reviewer"), department=None, note="committee"
        )
    db.session.commit()

    def publish(*steps: dict[str, Any], auto: str | None = None):  # type: ignore[no-untyped-def]
        doc = copy.deepcopy(CAPEX_TEMPLATE)
        doc["approval"] = {"steps": list(steps), **({"auto_approve_when": auto} if auto else {})}
        templates.save_draft(None, doc)
        templates.publish(None, doc["key"])
        db.session.commit()

    return publish


@pytest.fixture
def capex(route, user):  # type: ignore[no-untyped-def]
    """``capex("sales1", 50000)`` → a draft of the capex-request form."""
    from quire.runtime.extensions import db
    from quire.runtime.forms import service

    def make(username: str, amount: Any = 50000):  # type: ignore[no-untyped-def]
        submission = service.create(
            user(username), "capex-request", {"item": "Server", "total": str(amount)}, today=TODAY
        )
        db.session.commit()
        return submission

    return make


def step(key: str, assignee: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": {"zh": key, "en": key.title()}, "assignee": assignee, **extra}


@pytest.fixture
def claim(org, user) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """``claim("sales1", 25000, category="travel")`` → a saved draft expense claim."""
    from quire.runtime.extensions import db
    from quire.runtime.forms import service

    serial = iter(range(1, 10_000))

    def make(username: str, *amounts: Any, category: str = "travel", department: str | None = None):  # type: ignore[no-untyped-def]
        n = next(serial)
        data: dict[str, Any] = {
            "payee_name": username,
            "bank_account": "6222 0210 0000 1234",
            "lines": [
                {
                    "date": "2026-11-10",
                    "category": category,
                    "description": f"trip {n}.{i}",
                    "amount": str(Decimal(str(a))),
                    "invoice": f"FPT{n:05d}{i}",
                }
                for i, a in enumerate(amounts or (100,))
            ],
        }
        if department:
            data["department"] = department
        submission = service.create(user(username), "expense-claim", data, today=TODAY)
        db.session.commit()
        return submission

    return make


@pytest.fixture
def submit(user):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def run(submission, *, at: datetime = NOW):  # type: ignore[no-untyped-def]
        engine.submit(submission.submitter, submission.id, submission.version, now=at)
        db.session.commit()
        return submission

    return run


@pytest.fixture
def act(user):  # type: ignore[no-untyped-def]
    """``act("salesmgr", claim, "approve")`` decides through the engine and commits."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def run(
        username: str,
        submission,
        action: str,
        *,
        comment: str | None = None,  # type: ignore[no-untyped-def]
        to: str | None = None,
        at: datetime = NOW,
    ):
        engine.act(
            user(username),
            submission.id,
            action,
            version=submission.version,
            comment=comment,
            to=to,
            now=at,
        )
        db.session.commit()
        return submission

    return run


@pytest.fixture
def holders():  # type: ignore[no-untyped-def]
    """Usernames holding open tasks on a submission, by step."""
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    def get(submission) -> list[str]:  # type: ignore[no-untyped-def]
        tasks = db.session.scalars(
            select(ApprovalTask)
            .where(
                ApprovalTask.submission_id == submission.id, ApprovalTask.status == TaskStatus.OPEN
            )
            .order_by(ApprovalTask.id)
        )
        return [t.assignee.username for t in tasks]

    return get


@pytest.fixture
def history():  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def get(submission) -> list[tuple[str | None, str, str | None]]:  # type: ignore[no-untyped-def]
        return [
            (e.step_key, e.action, e.actor.username if e.actor else None)
            for e in db.session.scalars(engine.history_query(submission))
        ]

    return get
