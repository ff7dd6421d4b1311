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


def test_rd1_types_leaves_and_finds_the_draft_saved(page, app):
    sign_in(page, "rd1")
    page.goto("/forms/expense-claim/new")
    page.fill("input[name=payee_name]", "张伟")
    fill_line(page, 0, "training", "线上课程", "120")
    # The first save makes the draft; the address moves to it while the person keeps typing.
    page.wait_for_url("**/submissions/*/edit")
    expect(page.locator("#autosave")).to_contain_text("已保存")
    expect(page.locator("input[name=lines-0-description]")).to_have_value("线上课程")
    address = page.url
    page.locator("input[name=lines-0-description]").press("End")
    page.locator("input[name=lines-0-description]").press_sequentially("（三天）")
    expect(page.locator("#form-version")).not_to_have_value("1")
    # Leaving and coming back: the edit is there.
    page.goto("/forms")
    page.goto(address)
    expect(page.locator("input[name=lines-0-description]")).to_have_value("线上课程（三天）")
    expect(page.locator("input[name=payee_name]")).to_have_value("张伟")
    assert page.csp_violations == []


def test_leaving_before_the_change_is_saved_asks_first(page, app):
    sign_in(page, "rd1")
    page.goto("/forms/expense-claim/new")
    page.fill("input[name=payee_name]", "张伟")
    expect(page.locator("#autosave")).to_contain_text("已保存")
    page.locator("input[name=payee_name]").press("End")
    page.locator("input[name=payee_name]").press_sequentially("伟")
    asked: list[str] = []

    def answer(dialog):  # type: ignore[no-untyped-def]
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.evaluate("window.location.href = '/forms'")
    expect(page.locator("input[name=payee_name]")).to_have_value("张伟伟")
    assert asked == ["beforeunload"]


def test_a_new_claim_is_submitted_in_one_step_in_a_browser(page, app):
    sign_in(page, "sales1")
    page.goto("/forms/expense-claim/new")
    page.fill("input[name=payee_name]", "李明")
    page.fill("input[name=bank_account]", "6222 0200 1234 5678")
    fill_line(page, 0, "office", "打印纸", "99.50")
    page.click("[data-testid=submit]")
    expect(page.locator("#status")).to_contain_text("已批准")
    assert page.csp_violations == []
