"""Access review campaigns: who is asked, what a decision does, who may not decide."""

from __future__ import annotations

import pytest
from sqlalchemy import select


def _decide(item, username, raw, user, now):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.reviews import service

    decision = service.parse_decision(raw, service.local_day(now))
    service.decide(user(username), item, decision, now=now)
    db.session.commit()


def test_a_finance_roles_campaign_asks_each_grantees_manager_and_never_the_grantee(
    start, sales_reviewer, item_of
):
    campaign = start()
    roles = {(i.grantee.username, i.role.key) for i in campaign.items}
    assert ("sales2", "finance_reviewer") in roles
    assert ("finrev", "finance_reviewer") in roles
    assert not any(key == "staff" for _, key in roles), "staff is not a finance role"
    assert item_of(campaign, "sales2", "finance_reviewer").reviewer.username == "salesmgr"
    assert item_of(campaign, "finrev", "finance_reviewer").reviewer.username == "cfo"
    # The CFO has no manager and heads HQ himself: whoever started the campaign reviews him.
    assert item_of(campaign, "cfo", "cfo").reviewer.username == "finadmin"
    assert all(i.reviewer_id != i.grantee_id for i in campaign.items)


def test_a_department_campaign_covers_every_grant_of_its_people(start, user):
    campaign = start(scope="department", department="SALES")
    people = {i.grantee.username for i in campaign.items}
    assert people == {"salesmgr", "sales1", "sales2", "sales3"}
    assert {i.reviewer.username for i in campaign.items if i.grantee.username != "salesmgr"} == {
        "salesmgr"
    }


def test_a_revocation_applies_at_once_and_the_audit_log_names_the_campaign(
    app, start, sales_reviewer, item_of, user, now
):
    from quire.runtime import access
    from quire.runtime.access import Permission
    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent

    sales2 = user("sales2")
    assert access.can(sales2, Permission.SUBMISSION_APPROVE)
    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    _decide(item, "salesmgr", {"decision": "revoke", "comment": "month-end is over"}, user, now)

    assert item.decision == "revoke" and item.decided_by.username == "salesmgr"
    assert sales_reviewer.revoked_at is not None
    assert not access.can(sales2, Permission.SUBMISSION_APPROVE)
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "grant.revoke", AuditEvent.object_id == str(sales_reviewer.id)
        )
    )
    assert event.actor_name == "salesmgr"
    assert event.changes["campaign"] == campaign.id
    assert event.changes["review_item"] == item.id
    decided = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "access_review.decide", AuditEvent.object_id == str(item.id)
        )
    )
    assert decided.changes["decision"] == "revoke"


def test_narrowing_shrinks_the_grant_to_a_sub_department(
    app, start, sales_reviewer, item_of, user, now
):
    from quire.runtime import access
    from quire.runtime.access import Permission
    from quire.runtime.org import department_by_code

    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    _decide(item, "salesmgr", {"decision": "narrow", "department": "SALES-E"}, user, now)
    assert sales_reviewer.revoked_at is None
    assert sales_reviewer.department.code == "SALES-E"
    sales2 = user("sales2")
    assert access.can(sales2, Permission.SUBMISSION_READ, department_by_code("SALES-E"))
    assert not access.can(sales2, Permission.SUBMISSION_READ, department_by_code("SALES"))
    assert item.narrowed_to["department"] == "SALES-E"


def test_narrowing_to_an_end_date_ends_the_grant_when_that_local_day_ends(
    app, start, sales_reviewer, item_of, user, now
):
    from datetime import UTC, datetime, timedelta

    from quire.runtime.reviews import service

    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    last_day = service.local_day(now) + timedelta(days=30)
    _decide(
        item,
        "salesmgr",
        {"decision": "narrow", "department": "SALES", "valid_until": last_day.isoformat()},
        user,
        now,
    )
    assert sales_reviewer.revoked_at is None
    # Shanghai is UTC+8: the local day ends at 16:00 UTC.
    ends = sales_reviewer.valid_until.astimezone(UTC)
    assert ends == datetime.combine(last_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=16)


def test_narrowing_never_widens(app, start, sales_reviewer, item_of, user, now):
    from quire.runtime.errors import Invalid

    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    with pytest.raises(Invalid) as caught:
        _decide(item, "salesmgr", {"decision": "narrow", "department": "RD"}, user, now)
    assert caught.value.details[0].path == "department"
    assert sales_reviewer.department.code == "SALES"


def test_a_manager_cannot_review_their_own_grant(app, start, item_of, user, now):
    from quire.runtime.errors import Forbidden
    from quire.runtime.extensions import db

    campaign = start(scope="department", department="SALES")
    own = item_of(campaign, "salesmgr", "dept_manager")
    assert own.reviewer.username == "cfo"
    with pytest.raises(Forbidden):
        _decide(own, "salesmgr", {"decision": "keep"}, user, now)
    db.session.rollback()
    # Even named as the reviewer by hand, nobody decides on their own grant.
    own.reviewer = user("salesmgr")
    db.session.commit()
    with pytest.raises(Forbidden):
        _decide(own, "salesmgr", {"decision": "keep"}, user, now)
    db.session.rollback()
    assert own.decision is None


def test_only_the_reviewer_decides_and_only_once(app, start, sales_reviewer, item_of, user, now):
    from quire.runtime.errors import Conflict, Forbidden
    from quire.runtime.extensions import db

    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    with pytest.raises(Forbidden):
        _decide(item, "rdmgr", {"decision": "keep"}, user, now)
    db.session.rollback()
    _decide(item, "salesmgr", {"decision": "keep", "comment": "still needed"}, user, now)
    with pytest.raises(Conflict):
        _decide(item, "salesmgr", {"decision": "revoke", "comment": "changed my mind"}, user, now)
    db.session.rollback()
    assert sales_reviewer.revoked_at is None


def test_only_finance_admins_and_auditors_start_campaigns(app, start):
    from quire.runtime.errors import Forbidden

    with pytest.raises(Forbidden):
        start(by="admin")
    with pytest.raises(Forbidden):
        start(by="salesmgr", scope="department", department="SALES")
    assert start(by="auditor").items
