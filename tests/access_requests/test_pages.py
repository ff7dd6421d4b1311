"""The pages: "Request access" on the profile, the form's pickers, the SoD rules page."""

from __future__ import annotations


def test_the_profile_lists_my_access_and_offers_to_request_more(app, signed_in):
    sales2 = signed_in("sales2")
    page = sales2.get("/profile").text
    assert 'data-testid="my-access"' in page and "/forms/access-request/new" in page
    form = sales2.get("/forms/access-request/new").text
    assert 'value="finance_reviewer"' in form and 'value="SALES"' in form


def test_finadmin_adds_and_disables_a_rule_and_the_auditor_exports_the_conflicts(
    app, signed_in, user
):
    from sqlalchemy import select

    from quire.runtime import org
    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent, SodRule

    finadmin = signed_in("finadmin")
    response = finadmin.post_form(
        "/admin/sod",
        {
            "key": "budget-vs-claims",
            "name_zh": "不得同时管理预算和报销",
            "name_en": "May not both run budget rounds and file claims",
            "left": ["budget.manage"],
            "right": ["submission.create"],
        },
    )
    assert response.status_code == 302, response.text[:2000]
    rule = db.session.scalar(select(SodRule).where(SodRule.key == "budget-vs-claims"))
    assert rule.enabled
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sod_rule.create"))

    page = finadmin.get("/admin/sod").text
    assert "May not both run budget rounds" in page or "不得同时管理预算和报销" in page
    assert "finadmin" in page  # finance_admin (budget.manage) + staff (submission.create)

    response = finadmin.post_form(
        f"/admin/sod/{rule.id}/enabled", {"enabled": "0"}, page="/admin/sod"
    )
    assert response.status_code == 302
    db.session.refresh(rule)
    assert not rule.enabled

    org.grant_role(user("admin"), user("sales1"), org.role_by_key("finance_admin"))
    db.session.commit()
    csv = signed_in("auditor").get("/admin/sod/conflicts.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "sales1" not in csv.text  # finance_admin: no approve; the rule above is off
    assert signed_in("sales2").get("/admin/sod").status_code == 403
    assert (
        signed_in("auditor").post_form("/admin/sod", {"key": "x"}, page="/admin/sod").status_code
        == 403
    )
