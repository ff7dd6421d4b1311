"""The Done-when story: sales2 asks for finance reviewer over SALES for 30 days; her manager
and the role's owner approve; she reviews SALES claims until the end date, and not after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select


def _sales_claim(user):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission, SubmissionStatus

    return db.session.scalar(
        select(Submission)
        .where(
            Submission.submitter_id == user("sales1").id,
            Submission.status == SubmissionStatus.IN_REVIEW,
        )
        .limit(1)
    )


def test_sales2_gets_finance_reviewer_for_sales_after_two_approvals_and_loses_it_at_the_end(
    app, user, request_access, decide, waiting_with, monkeypatch
):
    from quire.runtime import access
    from quire.runtime.access import Permission as P
    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent, RoleGrant, SubmissionStatus

    claim = _sales_claim(user)
    assert claim is not None
    assert not access.can(user("sales2"), P.SUBMISSION_APPROVE, claim)

    request = request_access("sales2", role="finance_reviewer", scope="SALES", days=30)
    assert request.status == SubmissionStatus.IN_REVIEW
    assert waiting_with(request) == ["salesmgr"]
    decide("salesmgr", request)
    assert waiting_with(request) == ["finadmin"]
    decide("finadmin", request)

    assert request.status == SubmissionStatus.APPROVED
    grant = db.session.scalar(
        select(RoleGrant).where(RoleGrant.request_submission_id == request.id)
    )
    assert grant.user.username == "sales2" and grant.role.key == "finance_reviewer"
    assert grant.department.code == "SALES" and grant.valid_until is not None
    assert access.can(user("sales2"), P.SUBMISSION_APPROVE, claim)
    assert access.can(user("sales2"), P.SUBMISSION_READ, claim)
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "grant.create", AuditEvent.object_id == str(grant.id)
        )
    )
    assert event.changes["request"] == request.number
    assert "without_request" not in event.changes

    later = grant.valid_until + timedelta(minutes=1)
    monkeypatch.setattr(access, "utcnow", lambda: later)
    assert not access.can(user("sales2"), P.SUBMISSION_APPROVE, claim)


def test_a_rejected_request_changes_nothing(app, user, request_access, decide):
    from quire.runtime.extensions import db
    from quire.runtime.models import RoleGrant, SubmissionStatus

    before = db.session.scalar(select(db.func.count()).select_from(RoleGrant))
    request = request_access("sales2", role="finance_reviewer", scope="SALES")
    decide("salesmgr", request)
    decide("finadmin", request, "reject", comment="not needed")
    assert request.status == SubmissionStatus.REJECTED
    assert db.session.scalar(select(db.func.count()).select_from(RoleGrant)) == before


def test_the_requester_never_decides_their_own_request_and_a_manager_asking_for_a_report_is_their_consent(
    app, user, request_access, decide, waiting_with
):
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalEvent

    request = request_access(
        "salesmgr", role="finance_reviewer", scope="SALES", **{"for": "sales2"}
    )
    assert waiting_with(request) == ["finadmin"]
    skipped = db.session.scalar(
        select(ApprovalEvent).where(
            ApprovalEvent.submission_id == request.id, ApprovalEvent.action == "skip"
        )
    )
    assert skipped.step_key == "manager" and "consent" in skipped.comment


def test_a_high_risk_role_also_needs_the_security_approver(
    app, user, request_access, decide, waiting_with
):
    request = request_access("sales2", role="auditor", scope="SALES", days=30)
    decide("salesmgr", request)
    decide("finadmin", request)
    assert waiting_with(request) == ["cfo"]


def test_a_temporary_role_needs_an_end_date_within_its_longest_term(app, request_access):
    from quire.runtime.errors import Invalid

    with pytest.raises(Invalid) as refused:
        request_access("sales2", role="auditor", scope="SALES", days=None)
    assert [d.path for d in refused.value.details] == ["valid_until"]
    with pytest.raises(Invalid) as refused:
        request_access("sales2", role="auditor", scope="SALES", days=120)
    assert "90" in refused.value.details[0].message


def test_nobody_asks_for_rights_for_someone_they_do_not_manage(app, request_access):
    from quire.runtime.errors import Invalid

    with pytest.raises(Invalid) as refused:
        request_access("sales1", role="finance_reviewer", scope="SALES", **{"for": "rd1"})
    assert [d.path for d in refused.value.details] == ["for"]


def test_a_request_that_breaks_a_separation_of_duties_rule_is_refused_with_the_rule_named(
    app, request_access
):
    from quire.runtime.errors import Invalid

    with pytest.raises(Invalid) as refused:
        request_access("finadmin", role="finance_reviewer", scope="SALES")
    detail = refused.value.details[0]
    assert detail.path == "role"
    assert "May not both design templates and approve claims" in detail.message


def test_an_admin_cannot_grant_around_a_separation_of_duties_rule(app, user):
    from quire.runtime import org
    from quire.runtime.models import Role

    with pytest.raises(org.SodRefused) as refused:
        org.grant_role(user("admin"), user("finadmin"), org.role_by_key("finance_reviewer"))
    assert [r.key for r in refused.value.rules] == ["design-vs-approve"]
    assert isinstance(org.role_by_key("finance_reviewer"), Role)


def test_the_cfo_can_approve_an_exception_carried_by_the_request(
    app, user, request_access, decide, waiting_with
):
    from quire.runtime import access, org
    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent, SodException, SubmissionStatus

    org.grant_role(user("admin"), user("sales1"), org.role_by_key("finance_admin"), note="pilot")
    db.session.commit()
    request = request_access(
        "sales1",
        role="finance_reviewer",
        scope="SALES",
        sod_exception_reason="interim cover while the team is hired",
    )
    decide("salesmgr", request)
    decide("finadmin", request)
    assert waiting_with(request) == ["cfo"]
    decide("cfo", request)
    assert request.status == SubmissionStatus.APPROVED
    exception = db.session.scalar(select(SodException))
    assert exception.user.username == "sales1" and exception.approved_by.username == "cfo"
    assert exception.rule.key == "design-vs-approve" and exception.submission_id == request.id
    assert access.sod_conflicts(user("sales1"), ["submission.approve"]) == []
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sod.exception"))


def test_a_grant_refused_at_approval_ends_the_request_rejected_with_the_reason(
    app, user, request_access, decide
):
    from quire.runtime import org
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalEvent, SubmissionStatus

    request = request_access("sales2", role="finance_reviewer", scope="SALES")
    decide("salesmgr", request)
    org.grant_role(user("admin"), user("sales2"), org.role_by_key("finance_admin"))
    db.session.commit()
    decide("finadmin", request)
    assert request.status == SubmissionStatus.REJECTED
    last = db.session.scalar(
        select(ApprovalEvent)
        .where(ApprovalEvent.submission_id == request.id)
        .order_by(ApprovalEvent.id.desc())
        .limit(1)
    )
    assert last.action == "auto_reject" and "separation-of-duties" in last.comment


def test_the_permission_changes_report_names_who_requested_and_approved_a_grant(
    app, user, request_access, decide
):
    from quire.runtime.reports import engine

    request = request_access("sales2", role="finance_reviewer", scope="SALES", days=30)
    decide("salesmgr", request)
    decide("finadmin", request)
    result = engine.run(user("auditor"), "permission-changes", {}, locale="en")
    [row] = [
        r
        for r in result.rows
        if not r.get("_style") and r.get("request") == request.number and r["kind"] == "grant"
    ]
    assert row["user"] == "sales2" and row["role"] == "finance_reviewer"
    assert row["requested_by"] == "sales2"
    assert set(row["approved_by"].split(", ")) == {"salesmgr", "finadmin"}
