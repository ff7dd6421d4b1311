"""Several people fill SALES's budget in a real browser, in Chinese and in English: salesmgr
adds a line for sales1's cost centre, which sales2 sees read-only; sales1 fills that line and
finds the others read-only; salesmgr sees sales1's figures and submits the budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import BROWSER_WAIT_MS

SAID = {
    "zh-CN": {
        "saved": "该行已保存。",
        "read_only": "只读",
        "submit": "提交审批",
    },
    "en-US": {
        "saved": "Line saved.",
        "read_only": "read-only",
        "submit": "Submit for approval",
    },
}


@pytest.fixture(params=["zh-CN", "en-US"])
def language(request) -> str:  # type: ignore[no-untyped-def]
    return request.param


@pytest.fixture
def lang_page(chromium, live_server, language) -> Iterator:  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=live_server, locale=language)
    context.set_default_timeout(BROWSER_WAIT_MS)
    expect.set_options(timeout=BROWSER_WAIT_MS)
    page = context.new_page()
    page.csp_violations = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda msg: (
            page.csp_violations.append(msg.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    context.close()


def _as(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    sign_in(page, username)


def test_sales_people_fill_their_own_cost_centres_lines_and_the_manager_submits(
    lang_page, language, app, user
):  # type: ignore[no-untyped-def]
    from quire.runtime import clock
    from quire.runtime.budgeting import service
    from quire.runtime.extensions import db

    said = SAID[language]
    page = lang_page
    request = service.parse_request(
        {
            "fiscal_year": str(clock.today().year + 1),
            "department": "SALES",
            "deadline": (clock.today() + timedelta(days=14)).isoformat(),
        },
        clock.today(),
    )
    round = service.open_round(user("finadmin"), request, now=clock.now())
    db.session.commit()
    url = f"/budget/rounds/{round.id}/departments/SALES"

    # salesmgr adds a training line for sales1's cost centre.
    _as(page, "salesmgr")
    page.goto(url)
    expect(page.locator("[data-testid=line-editor]")).to_be_visible()
    form = page.locator("[data-testid=add-line]")
    form.locator("select[name=account]").select_option("training")
    form.locator("input[name=cost_center]").fill("CC-201")
    form.locator("input[name=q1]").fill("1000")
    form.locator("[data-testid=add-line-button]").click()
    expect(page.locator(".flash-success")).to_have_text(said["saved"])
    mine = page.locator("tr[data-cost-center='CC-201']")
    expect(mine).to_have_count(1)

    # sales2 opens the page now: the CC-201 line is read-only for them.
    _as(page, "sales2")
    page.goto(url)
    expect(page.locator("tr[data-cost-center='CC-201']")).to_contain_text(said["read_only"])
    expect(page.locator("tr[data-cost-center='CC-201'] input")).to_have_count(0)

    # sales1 fills their line's Q2; every other line stays read-only for them.
    _as(page, "sales1")
    page.goto(url)
    expect(page.locator("[data-testid=read-only-1]")).to_have_text(said["read_only"])
    row = page.locator("tr[data-cost-center='CC-201']")
    row.locator("input[name=q2]").fill("2500")
    row.locator("button").click()
    expect(page.locator(".flash-success")).to_have_text(said["saved"])
    expect(page.locator("tr[data-cost-center='CC-201']")).to_contain_text("3,500.00")

    # salesmgr finds sales1's figures in the budget and submits it.
    _as(page, "salesmgr")
    page.goto(url)
    expect(page.locator("tr[data-cost-center='CC-201']")).to_contain_text("3,500.00")
    page.click("[data-testid=fill-in]")
    page.wait_for_url("**/submissions/*/edit")
    page.click(f"text={said['submit']}")
    expect(page.locator(".flash-ok")).to_be_visible()
    db.session.expire_all()
    entry = next(e for e in round.entries if e.department.code == "SALES")
    assert entry.submission.status.value == "in_review"
    training = [
        line for line in entry.submission.data["lines"] if line.get("cost_center") == "CC-201"
    ]
    assert [(line["q1"], line["q2"]) for line in training] == [("1000.00", "2500.00")]
    assert page.csp_violations == []
