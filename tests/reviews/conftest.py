"""Access review fixtures: sales2 holds a finance reviewer grant for SALES (as after an
access request), and ``start`` opens a campaign as finadmin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest


@pytest.fixture
def now(app):  # type: ignore[no-untyped-def]
    from quire.runtime.models import utcnow

    return utcnow()


@pytest.fixture
def sales_reviewer(app, user):  # type: ignore[no-untyped-def]
    """sales2's finance reviewer grant scoped to SALES (and its subtree)."""
    from quire.runtime import org
    from quire.runtime.extensions import db

    grant = org.grant_role(
        user("admin"),
        user("sales2"),
        org.role_by_key("finance_reviewer"),
        department=org.department_by_code("SALES"),
        note="covering month-end",
    )
    db.session.commit()
    return grant


@pytest.fixture
def start(app, user):  # type: ignore[no-untyped-def]
    """``start(**fields)`` → a campaign started by finadmin (all finance roles by default)."""
    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow
    from quire.runtime.reviews import service

    def make(by: str = "finadmin", at=None, **overrides: Any):  # type: ignore[no-untyped-def]
        moment = at or utcnow()
        raw = {
            "title": "Q4 finance access review",
            "scope": "finance_roles",
            "due_date": (service.local_day(moment) + timedelta(days=14)).isoformat(),
            **overrides,
        }
        request = service.parse_request(raw, service.local_day(moment))
        campaign = service.start_campaign(user(by), request, now=moment)
        db.session.commit()
        return campaign

    return make


@pytest.fixture
def item_of(app):  # type: ignore[no-untyped-def]
    """``item_of(campaign, "sales2", "finance_reviewer")`` → that grant's review item."""

    def find(campaign, username: str, role: str):  # type: ignore[no-untyped-def]
        for item in campaign.items:
            if item.grantee.username == username and item.role.key == role:
                return item
        raise AssertionError(f"no item for {username} {role}")

    return find
