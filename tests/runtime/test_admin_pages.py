"""Administration pages: each person sees and changes only what their role and scope allow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from quire.runtime import clock
from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, RoleGrant


def usernames_on(page_text: str) -> set[str]:
    return set(re.findall(r'href="/admin/users/([\w.-]+)"', page_text))


def test_admin_sees_every_user_and_can_create_one(signed_in):
    admin = signed_in("admin")
    page = admin.get("/admin/users?per_page=200")
    assert {"sales1", "rd1", "cfo", "auditor"} <= usernames_on(page.text)
    response = admin.post_form(
        "/admin/users/new",
        {
            "username": "sales4",
            "display_name": "新同事 New Hire",
            "email": "sales4@example.com",
            "department": "SALES-E",
            "manager": "salesmgr",
            "status": "active",
            "locale": "",
            "delegate": "",
            "password": "welcome-to-quire",
        },
    )
    assert response.status_code == 302, response.text
    assert "sales4" in usernames_on(admin.get("/admin/users?q=sales4").text)


def test_sales_manager_sees_sales_and_east_china_people_only(signed_in):
    page = signed_in("salesmgr").get("/admin/users")
    seen = usernames_on(page.text)
    assert {"sales1", "sales2", "sales3", "salesmgr"} == seen
    assert "New user" not in page.text and "新建用户" not in page.text


def test_sales_manager_gets_404_for_rnd_people_and_403_for_editing_own(signed_in):
    salesmgr = signed_in("salesmgr")
    assert salesmgr.get("/admin/users/rd1").status_code == 404
    assert salesmgr.get("/admin/users/sales3").status_code == 200
    assert salesmgr.get("/admin/users/sales3/edit").status_code == 403


def test_staff_have_no_administration(signed_in):
    rd1 = signed_in("rd1")
    assert rd1.get("/admin/users").status_code == 403
    assert rd1.get("/admin/departments").status_code == 403
    assert rd1.get("/admin/roles").status_code == 403
    assert "/admin/users" not in rd1.get("/").text


def test_auditor_reads_everything_but_changes_nothing(signed_in):
    auditor = signed_in("auditor")
    assert auditor.get("/admin/users").status_code == 200
    assert auditor.get("/admin/roles").status_code == 200
    assert auditor.get("/admin/users/new").status_code == 403
    assert auditor.get("/admin/roles/staff").status_code == 403
    response = auditor.post_form(
        "/admin/users/sales1/grants",
        {"g-role": "cfo", "g-department": ""},
        page="/admin/users/sales1",
    )
    assert response.status_code == 403


def test_admin_grants_a_scoped_role_and_it_is_audited(signed_in, user):
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/users/rd1/grants",
        {
            "g-role": "dept_manager",
            "g-department": "RD",
            "g-include_subtree": "y",
            "g-period_from": "2026-01",
            "g-period_until": "2026-12",
            "g-note": "acting manager",
        },
        page="/admin/users/rd1",
    )
    assert response.status_code == 302, response.text
    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.note == "acting manager")).one()
    assert grant.user.username == "rd1" and grant.department.code == "RD"
    assert grant.period_from.isoformat() == "2026-01-01"
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "grant.create")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event.actor_name == "admin" and event.changes["role"] == "dept_manager"


def test_a_bad_grant_period_is_shown_at_its_field(signed_in):
    response = signed_in("admin").post_form(
        "/admin/users/rd1/grants",
        {
            "g-role": "dept_manager",
            "g-department": "RD",
            "g-period_from": "2026-13",
        },
        page="/admin/users/rd1",
    )
    assert response.status_code == 422
    assert 'id="g-period_from-error"' in response.text


def test_nobody_grants_rights_to_themselves(signed_in):
    response = signed_in("admin").post_form(
        "/admin/users/admin/grants",
        {"g-role": "cfo", "g-department": ""},
        page="/admin/users/admin",
    )
    assert response.status_code == 403


def test_admin_revokes_a_grant(signed_in, user):
    admin = signed_in("admin")
    grant = next(g for g in user("salesmgr").grants if g.role.key == "dept_manager")
    response = admin.post_form(f"/admin/grants/{grant.id}/revoke", {}, page="/admin/users/salesmgr")
    assert response.status_code == 302
    db.session.refresh(grant)
    assert grant.revoked_at is not None
    assert signed_in("salesmgr").get("/admin/users").status_code == 403


def test_admin_creates_a_department_under_sales(signed_in):
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/departments/new",
        {
            "code": "SALES-S",
            "name_zh": "华南销售",
            "name_en": "Sales South China",
            "parent": "SALES",
            "manager": "salesmgr",
            "cost_center": "CC-220",
            "active": "y",
        },
    )
    assert response.status_code == 302, response.text
    assert "SALES-S" in signed_in("salesmgr").get("/admin/departments").text


def test_a_duplicate_department_code_is_refused_at_the_field(signed_in):
    response = signed_in("admin").post_form(
        "/admin/departments/new",
        {
            "code": "RD",
            "name_zh": "重复",
            "name_en": "Dup",
            "parent": "",
            "manager": "",
            "active": "y",
        },
    )
    assert response.status_code == 422
    assert "RD is already used" in response.text


def test_department_cannot_move_under_its_own_child(signed_in):
    response = signed_in("admin").post_form(
        "/admin/departments/SALES",
        {
            "code": "SALES",
            "name_zh": "销售部",
            "name_en": "Sales",
            "parent": "SALES-E",
            "manager": "salesmgr",
            "active": "y",
        },
    )
    assert response.status_code == 422


def test_roles_page_lists_permissions_and_admin_edits_a_role(signed_in):
    admin = signed_in("admin")
    assert "finance_reviewer" in admin.get("/admin/roles").text
    response = admin.post_form(
        "/admin/roles/new",
        {
            "key": "budget_viewer",
            "name_zh": "预算查看",
            "name_en": "Budget viewer",
            "permissions": ["report.read"],
        },
    )
    assert response.status_code == 302
    assert "budget_viewer" in admin.get("/admin/roles").text


def test_unknown_pages_and_objects_are_404_not_500(signed_in):
    admin = signed_in("admin")
    assert admin.get("/admin/users/nobody-here").status_code == 404
    assert admin.get("/admin/departments/NOPE").status_code == 404
    assert admin.get("/admin/roles/nope").status_code == 404
    assert admin.get("/admin/users?page=abc").status_code == 400


def test_a_grant_valid_until_a_day_ends_at_midnight_where_the_company_is(signed_in):
    """Valid until 31 Dec means through 23:59:59 Shanghai time (the demo's zone), which is
    15:59:59 UTC, not through 23:59:59 UTC, eight hours into 1 January there."""
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/users/rd1/grants",
        {
            "g-role": "dept_manager",
            "g-department": "RD",
            "g-valid_until": "2026-12-31",
            "g-note": "until new year",
        },
        page="/admin/users/rd1",
    )
    assert response.status_code == 302, response.text
    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.note == "until new year")).one()
    last_minute = datetime(2026, 12, 31, 23, 59, tzinfo=clock.zone())
    assert grant.is_current(last_minute.astimezone(UTC))
    assert not grant.is_current((last_minute + timedelta(minutes=1)).astimezone(UTC))


def test_admin_sets_the_cost_centre_whose_budget_lines_someone_fills_in(signed_in):
    from quire.runtime.models import User

    admin = signed_in("admin")
    page = admin.get("/admin/users/rd1/edit")
    assert page.status_code == 200 and 'name="cost_center"' in page.text
    fields = {
        "username": "rd1",
        "display_name": "rd1",
        "department": "RD",
        "manager": "rdmgr",
        "status": "active",
        "locale": "",
        "delegate": "",
        "cost_center": "CC-301",
    }
    response = admin.post_form("/admin/users/rd1/edit", fields, page="/admin/users/rd1/edit")
    assert response.status_code == 302, response.text
    rd1 = db.session.scalars(select(User).where(User.username == "rd1")).one()
    assert rd1.cost_center == "CC-301"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.update").order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None and event.changes["cost_center"] == [None, "CC-301"]
    bad = admin.post_form(
        "/admin/users/rd1/edit",
        {**fields, "cost_center": "CC 301; drop"},
        page="/admin/users/rd1/edit",
    )
    assert bad.status_code == 422
