"""Temporary grants: the holder and the role's owners hear before the end, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select


def test_holder_and_role_owner_are_reminded_once_before_a_temporary_grant_ends(app, user):
    from quire.runtime import org
    from quire.runtime.access_requests import reminders
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification, utcnow

    soon = org.grant_role(
        user("admin"),
        user("sales2"),
        org.role_by_key("finance_reviewer"),
        department=org.department_by_code("SALES"),
        valid_until=utcnow() + timedelta(days=3),
    )
    org.grant_role(
        user("admin"),
        user("sales1"),
        org.role_by_key("finance_reviewer"),
        department=org.department_by_code("SALES"),
        valid_until=utcnow() + timedelta(days=30),
    )
    db.session.commit()

    assert reminders.run() == 1
    told = db.session.scalars(select(Notification).where(Notification.kind == "grant_expiry"))
    assert sorted(n.user.username for n in told) == ["finadmin", "sales2"]
    assert soon.expiry_reminded_at is not None
    assert reminders.run() == 0
