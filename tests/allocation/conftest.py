"""Allocation fixtures: an approved IT cost-allocation form for this month, and the rule that
splits such forms by headcount."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture
def month(app):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals.routing import local_today

    return local_today().replace(day=1)


@pytest.fixture
def it_costs(app, user, month):  # type: ignore[no-untyped-def]
    """``it_costs("10000.00")`` → an approved cost-allocation form filed by finadmin (FIN)."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.forms import service as forms_service

    def make(amount: str):  # type: ignore[no-untyped-def]
        data = {
            "period": f"{month:%Y-%m}",
            "description": "IT 服务费 / IT services",
            "amount": amount,
            "shares": [{"department": "FIN", "percent": "100"}],
        }
        finadmin = user("finadmin")
        submission = forms_service.create(finadmin, "cost-allocation", data, today=month)
        engine.submit(finadmin, submission.id, submission.version)
        db.session.commit()
        engine.act(user("finrev"), submission.id, "approve", version=submission.version)
        db.session.commit()
        assert submission.status.value == "approved"
        return submission

    return make


@pytest.fixture
def it_rule(app, user):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.extensions import db

    rule = service.save_rule(
        user("finadmin"),
        {
            "key": "it-test",
            "name_zh": "IT 费用按人数分摊",
            "name_en": "IT costs by headcount",
            "source_kind": "submission",
            "source_department": "FIN",
            "driver": "headcount",
            "receivers": ["SALES", "SALES-E", "RD", "HR"],
            "account": "other",
            "schedule": "monthly",
        },
    )
    db.session.commit()
    return rule


ZERO = Decimal("0.00")
