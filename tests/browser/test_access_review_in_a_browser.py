"""Issue 14's access review in a real browser, in Chinese: finadmin starts a review of
all finance roles, salesmgr revokes sales2's finance reviewer grant from the inbox, and the
campaign page and its evidence show the revocation."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_finadmin_starts_a_review_and_salesmgr_revokes_in_the_inbox(  # type: ignore[no-untyped-def]
    page, app, user
):
    from quire.runtime import access, org
    from quire.runtime.access import Permission
    from quire.runtime.extensions import db

    grant = org.grant_role(
        user("admin"),
        user("sales2"),
        org.role_by_key("finance_reviewer"),
        department=org.department_by_code("SALES"),
    )
    db.session.commit()

    sign_in(page, "finadmin")
    page.click("[data-testid=nav-access-reviews]")
    expect(page.locator("h1")).to_have_text("权限复核")
    page.fill("[data-testid=review-title]", "2026 年第四季度财务权限复核")
    page.select_option("[data-testid=review-scope]", "finance_roles")
    page.click("[data-testid=start-review-submit]")
    page.wait_for_url("**/access-reviews/*")
    expect(page.locator(".flash, [role=alert]").first).to_contain_text("权限复核已发起")
    expect(page.locator("[data-testid=count-open]")).to_contain_text("未复核")

    page.context.clear_cookies()
    sign_in(page, "salesmgr")
    page.goto("/inbox")
    task = page.locator("[data-testid=review-task]", has_text="王芳 Wang Fang")
    expect(task).to_be_visible()
    expect(task).to_contain_text("财务审核")
    task.locator("[data-testid=choose-revoke]").check()
    task.locator("[data-testid=review-comment]").fill("月末结账已结束，不再需要")
    task.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=review-task]", has_text="王芳 Wang Fang")).to_have_count(0)
    assert not page.csp_violations

    db.session.expire_all()
    assert grant.revoked_at is not None
    assert not access.can(user("sales2"), Permission.SUBMISSION_APPROVE)

    page.context.clear_cookies()
    sign_in(page, "finadmin")
    page.click("[data-testid=nav-access-reviews]")
    page.click("[data-testid=campaigns] a")
    expect(page.locator("[data-testid=count-revoke]")).to_contain_text("撤销 1")
    row = page.locator("[data-testid=review-item]", has_text="王芳 Wang Fang")
    expect(row).to_contain_text("撤销")
    expect(row).to_contain_text("月末结账已结束")
    with page.expect_download() as download:
        page.click("[data-testid=evidence-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
