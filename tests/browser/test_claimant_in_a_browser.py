"""Issue 20's claimant in a real browser: the budget at the line, autosave, one-step submit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def _remaining(code: str, account: str) -> Decimal:
    from quire.runtime.approvals import budget
    from quire.runtime.approvals.engine import local_day, utcnow
    from quire.runtime.org import department_by_code

    check = budget.check(department_by_code(code), local_day(utcnow()).year, {})
    return next(a.remaining_before for a in check.accounts if a.account == account)


def fill_line(page, i: int, category: str, description: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    page.fill(f"input[name=lines-{i}-date]", YESTERDAY)
    page.select_option(f"select[name=lines-{i}-category]", category)
    page.fill(f"input[name=lines-{i}-description]", description)
    page.fill(f"input[name=lines-{i}-amount]", amount)


def test_rd1_sees_at_the_line_that_training_exceeds_what_is_left_before_saving(page, app):
    remaining = _remaining("RD", "training")
    sign_in(page, "rd1")
    page.goto("/forms/expense-claim/new")
    fill_line(page, 0, "travel", "出租车", "80")
    travel = page.locator("#line-note-lines-0")
    expect(travel).to_have_attribute("data-level", "ok")
    expect(travel).to_contain_text("差旅费")
    page.click("button.add-row")
    page.wait_for_selector("input[name=lines-1-amount]")
    fill_line(page, 1, "training", "外部培训课程", str(remaining + 1000))
    note = page.locator("#line-note-lines-1")
    expect(note).to_have_attribute("data-level", "over")
    expect(note).to_contain_text("培训费")
    expect(note).to_contain_text(f"{remaining:,.2f}")
    expect(note).to_contain_text("财务总监")
    # The panel still follows the typing after its first answers: lowering the amount clears it.
    page.fill("input[name=lines-1-amount]", "1")
    expect(note).not_to_have_attribute("data-level", "over")
    expect(page.locator("[data-testid=budget-hint] tr[data-account=training]")).to_contain_text(
        "培训费"
    )
    assert page.csp_violations == []
