"""Issue 4's story in a real browser: sales1 fills an expense claim."""

from __future__ import annotations

import time
from datetime import date, timedelta

from flask import request
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def fill_line(page, i: int, category: str, description: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    page.fill(f"input[name=lines-{i}-date]", YESTERDAY)
    page.select_option(f"select[name=lines-{i}-category]", category)
    page.fill(f"input[name=lines-{i}-description]", description)
    page.fill(f"input[name=lines-{i}-amount]", amount)


def test_sales1_adds_three_lines_sees_the_total_attaches_an_invoice_and_saves(page, tmp_path):
    sign_in(page, "sales1")
    page.click("text=费用报销单")
    page.wait_for_url("**/forms/expense-claim/new")
    page.fill("input[name=payee_name]", "李明")
    page.fill("input[name=bank_account]", "6222 0200 1234 5678")
    fill_line(page, 0, "travel", "高铁 上海-杭州", "1250.50")
    page.click("button.add-row")
    page.wait_for_selector("input[name=lines-1-amount]")
    fill_line(page, 1, "meals", "客户午餐", "380")
    page.click("button.add-row")
    page.wait_for_selector("input[name=lines-2-amount]")
    fill_line(page, 2, "office", "打印纸", "99.50")
    # The total follows the typing, computed by the server.
    expect(page.locator("#computed-total")).to_contain_text("1,730.00")
    expect(page.locator("#total-lines-amount")).to_contain_text("1,730.00")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4\n% an invoice\n")
    page.set_input_files("#slot-lines-0-invoice input[type=file]", str(invoice))
    page.wait_for_selector("#slot-lines-0-invoice .uploaded")
    # Autosave may already have moved the address to the draft's edit page, so wait for
    # the save's own page load and its message, not for the address.
    with page.expect_navigation():
        page.click("button[name=_action]")
    page.wait_for_url("**/submissions/*/edit")
    expect(page.locator(".flash-ok")).to_be_visible()
    # Coming back later, everything is there.
    page.goto(page.url)
    assert page.input_value("input[name=lines-2-description]") == "打印纸"
    assert "1,730.00" in page.inner_text("#computed-total")
    assert page.csp_violations == []


def test_removing_a_row_updates_the_total(page):
    sign_in(page, "sales2")
    page.goto("/forms/expense-claim/new")
    fill_line(page, 0, "travel", "出租车", "100")
    page.click("button.add-row")
    page.wait_for_selector("input[name=lines-1-amount]")
    fill_line(page, 1, "meals", "午餐", "50")
    expect(page.locator("#computed-total")).to_contain_text("150.00")
    page.click("#table-lines tbody tr:nth-child(2) button")
    expect(page.locator("input[name=lines-1-amount]")).to_have_count(0)
    expect(page.locator("#total-lines-amount")).to_contain_text("100.00")


def test_a_row_added_on_a_slow_server_appears_while_the_claimant_types_on(app, page):
    """Typing sends a recompute 400 ms later; it used to abort an "Add row" still in flight
    (one request lane, `replace`), so on a busy server the row never came."""

    @app.before_request
    def slow_table_answers():  # type: ignore[no-untyped-def]
        if "/table/" in request.path:
            time.sleep(1)  # a busy server: the recompute starts while this is in flight

    sign_in(page, "sales2")
    page.goto("/forms/expense-claim/new")
    fill_line(page, 0, "travel", "出租车", "100")
    page.click("button.add-row")
    with page.expect_request("**/recompute*"):
        page.fill("input[name=payee_name]", "王芳")
    expect(page.locator("input[name=lines-1-amount]")).to_have_count(1)
    expect(page.locator("input[name=payee_name]")).to_have_value("王芳")


def test_a_phone_sized_screen_shows_the_form_without_horizontal_page_scroll(page):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, "sales1")
    page.goto("/forms/expense-claim/new")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380
