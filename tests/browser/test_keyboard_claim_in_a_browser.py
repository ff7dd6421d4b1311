"""Issue 20, in Chinese in a real browser: rd1 fills and submits a claim with the keyboard
alone (Tab to move, Enter and Space to press, typing into fields, and the arrow keys a
drop-down list answers to); rdmgr decides it from the link in his notification email,
signing in on the way; axe-core finds no violation on rd1's claim page or rdmgr's inbox."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.test_accessibility_in_a_browser import axe_violations

YESTERDAY = date.today() - timedelta(days=1)


def focused_is(page, js_test: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        page.evaluate(
            f"(() => {{ const el = document.activeElement; return !!el && ({js_test}); }})()"
        )
    )


def tab_to(page, js_test: str, limit: int = 120) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until the focused element passes ``js_test`` (``el`` is the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_is(page, js_test):
            return
    raise AssertionError(f"Tab never reached {js_test}")


def tab_to_field(page, name: str) -> None:  # type: ignore[no-untyped-def]
    tab_to(page, f"el.name === {json.dumps(name)}")


def type_into(page, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    tab_to_field(page, name)
    page.keyboard.type(text)


def choose(page, name: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """A closed drop-down list moves through its options with the arrow keys."""
    tab_to_field(page, name)
    for _ in range(12):
        if page.evaluate("document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} is not offered in {name}")


def type_date(page, name: str, day: date) -> None:  # type: ignore[no-untyped-def]
    tab_to_field(page, name)
    # Headless Chromium draws date inputs in its own UI language (month, day, year), whatever
    # the page's language.
    page.keyboard.type(day.strftime("%m%d%Y"))
    expect(page.locator(f"input[name={name}]")).to_have_value(day.isoformat())


def fill_line(page, i: int, category: str, description: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    type_date(page, f"lines-{i}-date", YESTERDAY)
    choose(page, f"lines-{i}-category", category)
    type_into(page, f"lines-{i}-description", description)
    type_into(page, f"lines-{i}-amount", amount)


def sign_in_by_keyboard(page, username: str) -> None:  # type: ignore[no-untyped-def]
    type_into(page, "username", username)
    page.keyboard.press("Tab")
    page.keyboard.type("quire-demo")
    page.keyboard.press("Enter")


def mail_link(app, address: str) -> str:  # type: ignore[no-untyped-def]
    for path in sorted((Path(app.config["INSTANCE_PATH"]) / "mail").glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]) and "Waiting for you" in str(message["Subject"]):
            body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            return re.search(r"Open: (\S+)", body).group(1)  # type: ignore[union-attr]
    raise AssertionError(f"no task mail to {address}")


def test_rd1_files_a_claim_by_keyboard_and_rdmgr_decides_from_the_mail(page, app, live_server):
    page.goto("/login")
    sign_in_by_keyboard(page, "rd1")
    page.wait_for_url("**/")

    page.goto("/forms/expense-claim/new")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert focused_is(page, "el.classList.contains('skip-link')")
    page.keyboard.press("Enter")
    fill_line(page, 0, "travel", "高铁 北京—上海", "6000")
    tab_to(page, "el.classList.contains('add-row')")
    page.keyboard.press("Space")
    # The new row's first input has the keyboard, not the page body.
    expect(page.locator("input[name=lines-1-date]")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # and Tab order around it still holds
    assert focused_is(page, "el.name === 'lines-1-date'")
    page.keyboard.type(YESTERDAY.strftime("%m%d%Y"))
    choose(page, "lines-1-category", "travel")
    type_into(page, "lines-1-description", "酒店 两晚")
    type_into(page, "lines-1-amount", "6000")
    expect(page.locator("#total-lines-amount")).to_contain_text("12,000.00")
    type_into(page, "payee_name", "王芳")
    type_into(page, "bank_account", "6222 0200 1234 5678")
    tab_to(page, "el.dataset.testid === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    expect(page.locator("#status")).to_have_text("审批中")
    assert axe_violations(page) == [], "rd1's claim page"
    claim_page = page.url
    assert page.csp_violations == []

    # rdmgr opens the mail's link in a browser that is not signed in.
    link = mail_link(app, "rdmgr@example.com")
    path = link.split("://", 1)[-1].split("/", 1)[1]
    assert f"/{path}".startswith(claim_page.removeprefix(live_server) + "?task=")
    page.context.clear_cookies()
    page.goto(f"/{path}")
    page.wait_for_url("**/login?**")
    sign_in_by_keyboard(page, "rdmgr")
    page.wait_for_url(re.compile(r".*/submissions/\d+\?task=\d+#decide$"))
    expect(page.locator("h3#decide")).to_be_visible()
    assert axe_violations(page) == [], "rdmgr's claim page"
    tab_to(page, "el.dataset.testid && el.dataset.testid.startsWith('approve-')")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-ok")).to_be_visible()
    expect(page.locator("[data-testid=current-step]")).to_contain_text("财务")  # finance's turn
    expect(page.locator("[data-testid^=approve-]")).to_have_count(0)

    page.goto("/inbox")
    expect(page.locator("h1")).to_have_text("待办事项")
    assert axe_violations(page) == [], "rdmgr's inbox"
    assert page.csp_violations == []


#: A 1×1 PNG: an invoice photo as small as can be.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e221bc33"
    "0000000049454e44ae426082"
)


def test_rdmgr_sees_the_invoice_adds_a_signer_copies_to_hr1_and_approves(page, app, tmp_path):
    """The issue's approver story: rdmgr opens the invoice image beside the line, adds a
    second approver after himself, copies the claim to hr1 and approves."""
    from tests.browser.conftest import sign_in

    sign_in(page, "rd1")
    page.goto("/forms/expense-claim/new")
    page.fill("input[name=payee_name]", "王芳")
    page.fill("input[name=bank_account]", "6222 0200 1234 5678")
    page.fill("input[name=lines-0-date]", YESTERDAY.isoformat())
    page.select_option("select[name=lines-0-category]", "travel")
    page.fill("input[name=lines-0-description]", "高铁 北京—上海")
    page.fill("input[name=lines-0-amount]", "12000")
    invoice = tmp_path / "invoice.png"
    invoice.write_bytes(PNG)
    page.set_input_files("#slot-lines-0-invoice input[type=file]", str(invoice))
    expect(page.locator("#slot-lines-0-invoice")).to_contain_text("invoice.png")
    page.click("[data-testid=submit]")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    expect(page.locator("#status")).to_have_text("审批中")
    claim = page.url

    page.context.clear_cookies()
    sign_in(page, "rdmgr")
    page.goto(claim)
    preview = page.locator("details.attachment-preview").first
    preview.locator("summary").click()
    image = preview.locator("img")
    expect(image).to_be_visible()
    expect(image).to_have_js_property("naturalWidth", 1)  # the image itself loaded

    page.click("[data-testid=add-signers] summary")
    page.fill("#signers-to", "cfo")
    page.check("input[name=position][value=after]")
    page.fill("#signers-reason", "金额较大，请财务总监同看")
    page.click("[data-testid=add-signer-submit]")
    expect(page.locator(".flash-ok")).to_be_visible()

    page.click("[data-testid=copy-to] summary")
    page.fill("#copy-to-names", "hr1")
    page.click("[data-testid=copy-submit]")
    expect(page.locator(".flash-ok")).to_be_visible()

    page.fill("input[name=comment][list^=phrases-]", "同意")
    page.click("[data-testid^=approve-]")
    expect(page.locator(".flash-ok")).to_be_visible()
    from quire.runtime.org import user_by_username

    expect(page.locator("[data-testid=current-step]")).to_contain_text(
        user_by_username("cfo").display_name  # the signer added after him decides next
    )
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("加签")
    expect(timeline).to_contain_text("抄送")
    assert axe_violations(page) == []
    assert page.csp_violations == []

    page.context.clear_cookies()
    sign_in(page, "hr1")
    page.goto(claim)
    expect(page.locator("#status")).to_have_text("审批中")  # hr1 may read it
    expect(page.locator("[data-testid^=approve-]")).to_have_count(0)  # and decides nothing
