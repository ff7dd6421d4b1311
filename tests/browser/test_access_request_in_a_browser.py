"""Issue 14's story in a real browser: sales2 asks for finance reviewer over SALES from her
profile; salesmgr and finadmin approve in their inboxes; the grant shows on her profile."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import sign_in


def _as(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    sign_in(page, username)


def _approve_in_inbox(page, username: str, submission_id: int) -> None:  # type: ignore[no-untyped-def]
    _as(page, username)
    page.goto("/inbox")
    page.click(f"[data-testid=approve-{submission_id}]")
    expect(page.locator(f"[data-testid=approve-{submission_id}]")).to_have_count(0)


def test_sales2_requests_finance_reviewer_and_two_approvers_grant_it(app, page):
    from quire.runtime.extensions import db
    from quire.runtime.models import RoleGrant, Submission, SubmissionStatus

    sign_in(page, "sales2")
    page.goto("/profile")
    page.click("[data-testid=request-access]")
    page.wait_for_url("**/forms/access-request/new")
    page.select_option("select[name=role]", "finance_reviewer")
    page.select_option("select[name=scope]", "SALES")
    page.fill("input[name=valid_until]", (date.today() + timedelta(days=30)).isoformat())
    page.fill("textarea[name=reason]", "月末结账期间协助审核销售部报销")
    page.click("button[name=_action]")
    page.wait_for_url("**/submissions/*/edit")
    page.click("text=提交审批")
    expect(page.locator(".flash-ok")).to_be_visible()

    db.session.expire_all()
    request = db.session.scalar(
        select(Submission).order_by(Submission.id.desc()).where(Submission.number.like("AR-%"))
    )
    assert request is not None and request.status == SubmissionStatus.IN_REVIEW

    _approve_in_inbox(page, "salesmgr", request.id)
    _approve_in_inbox(page, "finadmin", request.id)

    db.session.expire_all()
    assert db.session.get(Submission, request.id).status == SubmissionStatus.APPROVED
    grant = db.session.scalar(
        select(RoleGrant).where(RoleGrant.request_submission_id == request.id)
    )
    assert grant is not None and grant.department.code == "SALES"
    _as(page, "sales2")
    page.goto("/profile")
    expect(page.locator("[data-testid=my-access]")).to_contain_text("财务审核")
    assert page.csp_violations == []
