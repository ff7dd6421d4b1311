"""The access-review report, grant use and hygiene: each reader sees the grants of the
people in their scope; a grant that allows a check is stamped used once a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select


def _report(api, username: str, **params):  # type: ignore[no-untyped-def]
    response = api(username).get("/api/v1/reports/access-review", query_string=params)
    assert response.status_code == 200, response.json
    return response.json["rows"]


def test_the_report_shows_only_the_callers_scope(app, api, sales_reviewer):
    everyone = {row["user"] for row in _report(api, "cfo")}
    assert {"sales2", "rdmgr", "finadmin", "admin"} <= everyone
    sales = {row["user"] for row in _report(api, "salesmgr")}
    assert sales == {"salesmgr", "sales1", "sales2", "sales3"}
    east = {row["user"] for row in _report(api, "cfo", department="SALES-E")}
    assert east == {"sales3"}


def test_the_report_names_the_source_last_use_and_last_review(
    app, api, start, sales_reviewer, item_of, user
):
    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow
    from quire.runtime.reviews import service

    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    service.decide(
        user("salesmgr"),
        item,
        service.parse_decision({"decision": "keep"}, service.local_day(utcnow())),
        now=utcnow(),
    )
    db.session.commit()
    rows = _report(api, "salesmgr")
    mine = next(r for r in rows if r["user"] == "sales2" and r["role_name"] == "财务审核")
    assert mine["source"] == "未经申请直接授予"
    assert mine["last_review"].startswith("保留")
    assert mine["scope"].startswith("SALES")
    staff = next(r for r in rows if r["user"] == "sales1")
    assert staff["last_review"] == "未复核"


def test_a_grant_that_allows_a_check_is_stamped_used_once_a_day(app, user, sales_reviewer):
    from quire.runtime import access
    from quire.runtime.access import Permission
    from quire.runtime.extensions import db
    from quire.runtime.models import RoleGrant, Submission
    from quire.runtime.org import department_by_code

    claim = db.session.scalar(
        select(Submission).where(Submission.department_id == department_by_code("SALES").id)
    )
    sales2 = user("sales2")
    access.record_grant_use()  # whatever the fixtures' own checks noted
    db.session.commit()
    assert access.can(sales2, Permission.SUBMISSION_READ, claim)
    assert access.record_grant_use() == 1
    db.session.commit()
    assert sales_reviewer.last_used_at is not None
    staff = db.session.scalar(
        select(RoleGrant).where(RoleGrant.user_id == sales2.id, RoleGrant.id != sales_reviewer.id)
    )
    assert staff.last_used_at is None, "the staff grant allowed nothing here"
    # The same day, nothing more is written (and nothing is even noted).
    assert access.can(sales2, Permission.SUBMISSION_READ, claim)
    assert access.record_grant_use() == 0


def test_hygiene_flags_dormant_accounts_and_unused_grants(app, signed_in, user, sales_reviewer):
    from quire.runtime.extensions import db
    from quire.runtime.models import RoleGrant, User, UserSession, utcnow

    long_ago = utcnow() - timedelta(days=200)
    db.session.execute(
        User.__table__.update().where(User.username == "rd1").values(created_at=long_ago)
    )
    db.session.execute(
        RoleGrant.__table__.update()
        .where(RoleGrant.id == sales_reviewer.id)
        .values(created_at=long_ago, last_used_at=long_ago)
    )
    db.session.execute(UserSession.__table__.delete().where(UserSession.user_id == user("rd1").id))
    db.session.commit()
    page = signed_in("auditor").get("/access-reviews/hygiene")
    assert page.status_code == 200
    assert 'data-testid="dormant-rd1"' in page.text
    assert f'data-testid="unused-{sales_reviewer.id}"' in page.text
    assert signed_in("sales1").get("/access-reviews/hygiene").status_code == 403
