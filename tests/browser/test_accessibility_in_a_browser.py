"""Issue 20: the main pages, for each role, in Chinese and English, have no WCAG 2.1 AA
violation that axe-core finds; a claim can be filled in with the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import BROWSER_WAIT_MS

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()

#: axe-core is vendored with the other browser libraries but no page loads it: tests add it.
AXE_URL = "/static/vendor/axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line each."""
    page.wait_for_load_state("load")
    page.add_script_tag(url=AXE_URL)
    found = page.evaluate(
        """async (tags) => {
             const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
             return result.violations.map(v => `${v.id} (${v.impact}): ` +
               v.nodes.slice(0, 4).map(n => n.target.join(" ")).join(" | "));
           }""",
        WCAG_21_AA,
    )
    return list(found)


@pytest.fixture(params=["zh-CN", "en-US"])
def browser_page(request, chromium, live_server) -> Iterator:  # type: ignore[no-untyped-def]
    """A page whose browser asks for Chinese or English (the demo users chose no language)."""
    context = chromium.new_context(base_url=live_server, locale=request.param)
    context.set_default_timeout(BROWSER_WAIT_MS)
    expect.set_options(timeout=BROWSER_WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


def check(page, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    page.goto(path)
    return [f"{path}: {v}" for v in axe_violations(page)]


def claim_with_three_rows(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/forms/expense-claim/new")
    for i in range(3):
        if i:
            page.click("button.add-row")
            expect(page.locator(f"input[name=lines-{i}-date]")).to_be_visible()
        page.fill(f"input[name=lines-{i}-date]", YESTERDAY)
        page.select_option(f"select[name=lines-{i}-category]", "travel")
        page.fill(f"input[name=lines-{i}-description]", f"出租车 {i + 1}")
        page.fill(f"input[name=lines-{i}-amount]", "100")
    expect(page.locator("#total-lines-amount")).to_contain_text("300.00")


def test_the_claimants_pages_have_no_accessibility_violations(browser_page):
    page = browser_page
    found = check(page, "/login")
    sign_in(page, "sales1")
    found += check(page, "/")
    claim_with_three_rows(page)
    found += [f"new claim: {v}" for v in axe_violations(page)]
    page.fill("input[name=payee_name]", "李明")
    page.fill("input[name=bank_account]", "6222 0200 1234 5678")
    page.click("button[name=_action]")
    page.wait_for_url("**/submissions/*/edit")
    found += [f"claim edit: {v}" for v in axe_violations(page)]
    page.click("text=" + ("查看" if "zh" in page.evaluate("navigator.language") else "View"))
    page.wait_for_url("**/submissions/*")
    found += [f"claim view: {v}" for v in axe_violations(page)]
    found += check(page, "/submissions")
    assert found == []


def test_the_approvers_and_finance_pages_have_no_accessibility_violations(browser_page):
    page = browser_page
    sign_in(page, "salesmgr")
    found = check(page, "/inbox")
    page.context.clear_cookies()
    sign_in(page, "cfo")
    found += check(page, "/reports")
    found += check(page, "/reports/budget-vs-actual")
    page.wait_for_selector(".vega-chart[data-rendered=true] svg")
    found += [f"report with chart: {v}" for v in axe_violations(page)]
    assert found == []


def test_the_designers_and_administrators_pages_have_no_accessibility_violations(browser_page):
    page = browser_page
    sign_in(page, "finadmin")
    found = check(page, "/designer/templates")
    found += check(page, "/designer/templates/expense-claim/design")
    page.context.clear_cookies()
    sign_in(page, "admin")
    for path in ("/admin/users", "/admin/departments", "/admin/roles"):
        found += check(page, path)
    assert found == []
