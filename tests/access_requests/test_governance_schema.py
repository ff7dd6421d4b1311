"""The demo organisation knows who owns each role and which duties must stay apart."""

from __future__ import annotations

from sqlalchemy import select


def test_finance_roles_are_owned_by_finance_admin_and_the_rest_by_sysadmin(app):
    from quire.runtime.extensions import db
    from quire.runtime.models import Role

    owners = {r.key: r.owner_role_key for r in db.session.scalars(select(Role))}
    assert owners["finance_reviewer"] == owners["cfo"] == "finance_admin"
    assert owners["auditor"] == owners["finance_admin"] == "finance_admin"
    assert owners["staff"] == owners["dept_manager"] == "sysadmin"
    cfo = db.session.scalar(select(Role).where(Role.key == "cfo"))
    assert cfo.high_risk and cfo.security_approver_role_key == "cfo"
    reviewer = db.session.scalar(select(Role).where(Role.key == "finance_reviewer"))
    assert not reviewer.high_risk and not reviewer.temporary_only


def test_the_demo_keeps_template_design_apart_from_approving_claims(app):
    from quire.runtime.extensions import db
    from quire.runtime.models import SodRule

    rules = {r.key: r for r in db.session.scalars(select(SodRule))}
    design = rules["design-vs-approve"]
    assert design.enabled and design.left_permissions == ["template.design"]
    assert design.right_permissions == ["submission.approve"]
    assert rules["admin-vs-finance-data"].enabled
    assert "user.manage" in rules["admin-vs-finance-data"].left_permissions
