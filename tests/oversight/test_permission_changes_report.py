"""权限变更记录: grants, revocations, role edits and delegations over a period, with who
requested, approved and made each, in the caller's scope."""

from __future__ import annotations

from datetime import timedelta

from quire.runtime import org
from quire.runtime.extensions import db
from quire.runtime.reports import engine
from quire.runtime.reports.parameters import local_now


def _changes(user, reader: str, locale: str = "zh_CN", **params):  # type: ignore[no-untyped-def]
    result = engine.run(user(reader), "permission-changes", params, locale=locale)
    return [r for r in result.rows if not r.get("_style")]


def _make_changes(user):  # type: ignore[no-untyped-def]
    admin = user("admin")
    grant = org.grant_role(
        admin,
        user("sales2"),
        org.role_by_key("finance_reviewer"),
        department=org.department_by_code("SALES"),
        valid_until=None,
        note="month-end help",
    )
    org.grant_role(
        admin, user("rd1"), org.role_by_key("dept_manager"), department=org.department_by_code("RD")
    )
    db.session.flush()
    org.revoke_grant(admin, grant, "month-end is over")
    staff = org.role_by_key("staff")
    org.save_role(
        admin,
        key="staff",
        name_zh=staff.name_zh,
        name_en=staff.name_en,
        permissions=[*staff.permissions, "report.read"],
        existing=staff,
    )
    db.session.commit()


def test_the_report_lists_a_grant_a_revocation_and_a_role_edit_with_their_actors(user):
    _make_changes(user)
    today = local_now().date()
    rows = _changes(
        user, "auditor", since=(today - timedelta(days=1)).isoformat(), until=today.isoformat()
    )
    mine = [r for r in rows if r["made_by"] == "admin"]
    kinds = [(r["kind"], r["user"], r["role"]) for r in mine]
    assert ("grant", "sales2", "finance_reviewer") in kinds
    assert ("revoke", "sales2", "finance_reviewer") in kinds
    assert ("role", "", "staff") in kinds
    grant = next(r for r in mine if r["kind"] == "grant" and r["user"] == "sales2")
    assert grant["kind_name"] == "授予" and grant["department"] == "SALES"
    assert grant["requested_by"] == "直接授权（无申请）" and grant["approved_by"] == ""
    assert grant["reason"] == "month-end help"
    assert "∅ → 财务审核 (finance_reviewer) · SALES 销售部 (含下级)" in grant["change"]
    revoke = next(r for r in mine if r["kind"] == "revoke")
    assert revoke["reason"] == "month-end is over"
    assert "财务审核 (finance_reviewer) · SALES 销售部 (含下级) → ∅" in revoke["change"]
    role = next(r for r in mine if r["kind"] == "role")
    assert "新增权限: 查看报表" in role["change"]
    # Oldest first, as they happened.
    assert [r["kind"] for r in mine if r["user"] in ("sales2", "")] == ["grant", "revoke", "role"]


def test_the_period_bounds_the_rows_and_english_reads_in_english(user):
    _make_changes(user)
    yesterday = local_now().date() - timedelta(days=1)
    before = _changes(
        user,
        "auditor",
        since=(yesterday - timedelta(days=3)).isoformat(),
        until=yesterday.isoformat(),
    )
    assert not [r for r in before if r["made_by"] == "admin" and r["user"] == "sales2"]
    rows = _changes(user, "auditor", locale="en")
    grant = next(
        r
        for r in rows
        if r["kind"] == "grant" and r["role"] == "finance_reviewer" and r["user"] == "sales2"
    )
    assert grant["kind_name"] == "Grant" and grant["requested_by"] == "granted without request"
    assert (
        "Finance reviewer (finance_reviewer) · SALES Sales (with sub-departments)"
        in grant["change"]
    )


def test_a_sales_scoped_auditor_reads_the_sales_changes_only(user):
    org.grant_role(
        None, user("sales1"), org.role_by_key("auditor"), department=org.department_by_code("SALES")
    )
    db.session.commit()
    _make_changes(user)
    rows = _changes(user, "sales1")
    assert {r["user"] for r in rows} >= {"sales2"}
    assert all(r["department"] in ("SALES", "SALES-E") for r in rows), rows
    assert not [r for r in rows if r["kind"] == "role"], (
        "organisation changes need an unscoped grant"
    )
    assert not [r for r in rows if r["user"] == "rd1"]


def test_the_report_page_and_its_export_answer(user, signed_in):
    _make_changes(user)
    auditor = signed_in("auditor")
    page = auditor.get("/reports/permission-changes")
    assert page.status_code == 200 and "权限变更记录" in page.text and "sales2" in page.text
    export = auditor.get("/reports/permission-changes/download?format=xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"
