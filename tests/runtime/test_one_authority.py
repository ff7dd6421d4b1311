"""One access authority, tried as an attacker with a demo account would.

A department-scoped grant never gives organisation-wide rights; administrators hold only
what grants give them and cannot hand themselves more; grants obey one set of rules
whichever path makes them.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from quire.runtime import access, audit, org
from quire.runtime.access import ORGANISATION
from quire.runtime.access import Permission as P
from quire.runtime.errors import Conflict, Forbidden
from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, Role, RoleGrant, UserStatus


def _grant(user, username: str, role: str, department: str | None):  # type: ignore[no-untyped-def]
    grant = org.grant_role(
        None,
        user(username),
        org.role_by_key(role),
        department=org.department_by_code(department) if department else None,
    )
    db.session.commit()
    return grant


@pytest.fixture
def no_sod_rules(app):  # type: ignore[no-untyped-def]
    """For tests about scopes and grantors, whose role mixes would otherwise break the demo's
    separation-of-duties rules (tests/access_requests cover those)."""
    from sqlalchemy import update

    from quire.runtime.models import SodRule

    db.session.execute(update(SodRule).values(enabled=False))
    db.session.commit()


# --- global and scoped permissions ---------------------------------------------------------------
def test_a_global_permission_counts_only_from_an_unscoped_grant(user):
    _grant(user, "sales1", "finance_admin", "SALES")
    sales1 = user("sales1")

    assert not access.can(sales1, P.TEMPLATE_DESIGN)
    assert not access.can(sales1, P.DATASOURCE_MANAGE)
    assert P.TEMPLATE_DESIGN not in access.permissions_of(sales1)
    # Its scoped permissions still count, in SALES ("somewhere" for menus).
    assert access.can(sales1, P.SUBMISSION_READ)
    assert access.can(sales1, P.SUBMISSION_READ, org.department_by_code("SALES"))
    assert not access.can(sales1, P.SUBMISSION_READ, org.department_by_code("RD"))
    assert access.can(user("finadmin"), P.TEMPLATE_DESIGN)


def test_a_sales_scoped_designer_reaches_no_global_page(user, signed_in, no_sod_rules):
    _grant(user, "sales1", "finance_admin", "SALES")
    _grant(user, "sales1", "sysadmin", "SALES")
    sales1 = signed_in("sales1")

    assert sales1.get("/designer/templates").status_code == 403
    assert sales1.get("/admin/data-sources/").status_code == 403
    assert sales1.get("/admin/roles").status_code == 403
    assert sales1.get("/admin/roles/staff").status_code == 403
    assert signed_in("finadmin").get("/designer/templates").status_code == 200


def test_a_sales_scoped_auditor_reads_sales_events_only(user, signed_in, api):
    _grant(user, "sales1", "auditor", "SALES")
    audit.record(user("rd1"), "user.update", object_type="user", object_id="rd1")
    audit.record(user("sales2"), "user.update", object_type="user", object_id="sales2")
    audit.record(user("admin"), "role.update", object_type="role", object_id="staff")
    db.session.commit()

    items = api("sales1").get("/api/v1/audit?per_page=200").get_json()["items"]
    seen = {(e["action"], e["object_id"]) for e in items}
    assert ("user.update", "sales2") in seen
    assert ("user.update", "rd1") not in seen
    assert ("role.update", "staff") not in seen, "organisation events need an unscoped grant"
    sales = org.department_by_code("SALES")
    department_ids = {
        db.session.scalar(select(AuditEvent.department_id).where(AuditEvent.seq == e["seq"]))
        for e in items
    }
    assert all(
        d is not None and org.department_by_code("SALES").path in _path(d) for d in department_ids
    ), sales
    page = signed_in("sales1").get("/admin/audit?object_id=rd1")
    assert (
        page.status_code == 200
        and "rd1" not in page.text.split("<main", 1)[-1].split("<tbody", 1)[-1].split("</tbody>")[0]
    )
    # The organisation-wide auditor still reads everything.
    every = api("auditor").get("/api/v1/audit?object_id=staff").get_json()["items"]
    assert any(e["action"] == "role.update" for e in every)


def _path(department_id: int) -> str:
    from quire.runtime.models import Department

    return db.session.get(Department, department_id).path


def test_an_event_carries_the_department_of_what_it_is_about(user):
    from quire.runtime.audit import verify_chain

    event = audit.record(user("admin"), "user.update", object_type="user", object_id="sales3")
    db.session.commit()
    assert event.department_id == org.department_by_code("SALES-E").id
    assert verify_chain().ok


# --- separation of duties for administrators -----------------------------------------------------
def test_admin_cannot_add_finance_rights_to_a_role_he_holds(user, signed_in):
    sysadmin = db.session.scalar(select(Role).where(Role.key == "sysadmin"))
    before = list(sysadmin.permissions)
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/roles/sysadmin",
        {
            "key": "sysadmin",
            "name_zh": sysadmin.name_zh,
            "name_en": sysadmin.name_en,
            "permissions": [*before, "submission.read", "report.read", "audit.read"],
        },
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert sorted(
        db.session.scalar(select(Role).where(Role.key == "sysadmin")).permissions
    ) == sorted(before)
    with pytest.raises(Forbidden):
        org.save_role(
            user("admin"),
            key="sysadmin",
            name_zh=sysadmin.name_zh,
            name_en=sysadmin.name_en,
            permissions=[*before, "submission.read"],
            existing=sysadmin,
        )
    db.session.rollback()
    # A role he does not hold he may still change.
    staff = org.role_by_key("staff")
    org.save_role(
        user("admin"),
        key="staff",
        name_zh=staff.name_zh,
        name_en=staff.name_en,
        permissions=list(staff.permissions),
        existing=staff,
    )


def test_admin_cannot_name_himself_the_cfos_delegate(user, signed_in):
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/users/cfo/edit",
        {
            "username": "cfo",
            "display_name": "CFO",
            "department": "HQ",
            "manager": "",
            "locale": "",
            "status": "active",
            "delegate": "admin",
            "delegate_from": "2026-11-01",
            "delegate_until": "2026-11-30",
        },
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert user("cfo").delegate is None
    # Naming someone else is an administrator's ordinary job.
    org.save_user(
        user("admin"),
        username="cfo",
        display_name="CFO",
        department=user("cfo").department,
        delegate=user("finrev"),
        existing=user("cfo"),
    )
    assert user("cfo").delegate.username == "finrev"


def test_admin_holds_no_finance_data_power(user):
    admin = user("admin")
    for permission in (P.SUBMISSION_READ, P.REPORT_READ, P.AUDIT_READ, P.SUBMISSION_APPROVE):
        assert not access.can(admin, permission)


def test_nobody_approves_a_change_to_their_own_rights(user):
    class Request:
        class template:  # noqa: N801 - shaped like a FormTemplate
            key = "access-request"

        id = -1
        submitter_id = user("sales2").id
        submitter = user("sales2")
        current_step = "owner"
        data = {"for": "salesmgr", "role": "finance_reviewer"}

    assert access.separation_of_duties(user("salesmgr"), Request) == "would get these rights"
    assert access.separation_of_duties(user("finadmin"), Request) is None


# --- grant rules in the organisation service -----------------------------------------------------
def test_nobody_grants_rights_to_themselves_on_any_path(user):
    with pytest.raises(Forbidden):
        org.grant_role(user("admin"), user("admin"), org.role_by_key("cfo"))


def test_nobody_is_granted_rights_after_leaving(user, runner):
    org.set_status(None, user("rd1"), UserStatus.LEFT)
    db.session.commit()
    with pytest.raises(Conflict):
        org.grant_role(user("admin"), user("rd1"), org.role_by_key("staff"))
    with pytest.raises(Conflict):
        org.grant_role(None, user("rd1"), org.role_by_key("staff"))


def test_a_scoped_grantor_grants_only_what_they_hold_within_their_scope(user, no_sod_rules):
    # salesmgr may manage SALES people, but is no organisation-wide administrator.
    _grant(user, "salesmgr", "hr_officer", "SALES")
    role = org.save_role(
        None,
        key="sales_people",
        name_zh="销售人事",
        name_en="Sales people",
        permissions=["user.manage", "user.read"],
    )
    org.grant_role(None, user("salesmgr"), role, department=org.department_by_code("SALES"))
    db.session.commit()
    salesmgr = user("salesmgr")

    # What he holds, where he holds it: yes.
    org.grant_role(
        salesmgr,
        user("sales3"),
        org.role_by_key("dept_manager"),
        department=org.department_by_code("SALES-E"),
    )
    # The CFO's powers, which he lacks: no.
    with pytest.raises(Forbidden):
        org.grant_role(salesmgr, user("sales2"), org.role_by_key("cfo"))
    # His own role, organisation-wide (beyond his scope): no.
    with pytest.raises(Forbidden):
        org.grant_role(salesmgr, user("sales2"), org.role_by_key("dept_manager"))
    # Someone outside the people he manages: no.
    with pytest.raises(Forbidden):
        org.grant_role(
            salesmgr,
            user("rd1"),
            org.role_by_key("staff"),
            department=org.department_by_code("SALES"),
        )
    # The organisation-wide administrator may grant any role anywhere (to others).
    org.grant_role(user("admin"), user("sales2"), org.role_by_key("cfo"))


def test_nobody_revokes_their_own_grant(user):
    grant = db.session.scalars(
        select(RoleGrant).where(RoleGrant.user_id == user("admin").id)
    ).first()
    with pytest.raises(Forbidden):
        org.revoke_grant(user("admin"), grant)


def test_cli_grants_follow_the_role_not_its_name(user, runner, no_sod_rules):
    result = runner.invoke(
        "users",
        "create",
        "designer2",
        "--department",
        "FIN",
        "--role",
        "finance_admin",
        "--role",
        "finance_reviewer",
        "--password",
        "a-long-password",
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    grants = {g.role.key: g for g in user("designer2").grants}
    assert grants["finance_admin"].department is None, "a role with a global permission"
    assert grants["finance_reviewer"].department.code == "FIN"
    result = runner.invoke(
        "users",
        "create",
        "auditor2",
        "--department",
        "HQ",
        "--role",
        "auditor",
        "--scope",
        "organisation",
        "--password",
        "a-long-password",
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert user("auditor2").grants[0].department is None


# --- uploads -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "status"), [("auditor", 403), ("admin", 403), ("sales1", 200)]
)
def test_only_someone_filling_in_a_form_uploads(signed_in, username, status):
    browser = signed_in(username)
    response = browser.post_form(
        "/attachments?name=x",
        {"file": (io.BytesIO(b"%PDF-1.4 invoice"), "invoice.pdf")},
        page="/",
        content_type="multipart/form-data",
    )
    assert response.status_code == status


def test_an_upload_for_someone_elses_submission_is_refused(signed_in, user):
    from quire.runtime.forms import service
    from quire.runtime.forms.templates import import_builtins

    import_builtins()
    draft = service.create(
        user("sales2"),
        "expense-claim",
        {
            "payee_name": "x",
            "lines": [{"date": "2026-11-10", "category": "travel", "amount": "10"}],
        },
        today=date(2026, 11, 20),
    )
    db.session.commit()
    response = signed_in("sales1").post_form(
        f"/attachments?name=x&submission={draft.id}",
        {"file": (io.BytesIO(b"%PDF-1.4 invoice"), "invoice.pdf")},
        page="/",
        content_type="multipart/form-data",
    )
    assert response.status_code == 404  # someone else's draft does not even exist for sales1
    assert org.REFUSALS["names_self"]
    assert access.ORGANISATION is ORGANISATION
