"""Issue 20's amendment (变更) in a real browser: an approved claim amended after a
confirmation, the revision corrected and approved, both claims linked."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_claimant_in_a_browser import fill_line


def test_sales1_amends_an_approved_claim_and_the_revision_replaces_it(page, app):
    sign_in(page, "sales1")
    page.goto("/forms/expense-claim/new")
    page.fill("input[name=payee_name]", "李明")
    page.fill("input[name=bank_account]", "6222 0200 1234 5678")
    fill_line(page, 0, "office", "打印纸", "300")
    page.click("[data-testid=submit]")
    expect(page.locator("#status")).to_contain_text("已批准")
    original = page.url
    number = page.locator("h1 small").inner_text().strip()

    page.locator("[data-testid=amend] summary").click()
    expect(page.locator("[data-testid=confirm-amend]")).to_be_visible()
    page.fill("#amend-comment", "金额填错")
    page.click("[data-testid=confirm-amend]")

    page.wait_for_url("**/edit")
    expect(page.locator("h1 small")).to_have_text(f"{number}-R1")
    expect(page.locator("[data-testid=revision-of]")).to_contain_text(number)
    page.fill("input[name=lines-0-amount]", "250")
    page.click("[data-testid=submit]")
    expect(page.locator("#status")).to_contain_text("已批准")
    expect(page.locator("[data-testid=revision-of] a")).to_have_text(number)

    page.goto(original)
    expect(page.locator("[data-testid=amended-by]")).to_contain_text(f"{number}-R1")
    expect(page.locator("[data-testid=amend]")).to_have_count(0)
    expect(page.locator(".tl-amend")).to_contain_text("变更")
    assert page.csp_violations == []
