"""Steps in parallel in Chromium: finadmin adds a parallel group to the expense claim's route
by keyboard, gives its second branch a condition, sees the branches drawn side by side, and
the simulator skips that branch with the reason in words.

Every step waits for the state it needs, never for time.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from .conftest import sign_in

SHOTS = Path("test-results")


def version_of(page) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("draft-status").get_attribute("data-version") or ""


def saved_after(page, version: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the draft moved past `version` and the next change will carry the new one."""
    status = page.get_by_test_id("draft-status")
    expect(status).not_to_have_attribute("data-version", version)
    expect(page.locator("#dv")).to_have_value(status.get_attribute("data-version") or "")


def change(page, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    before = version_of(page)
    page.fill(selector, value)
    page.press(selector, "Tab")
    saved_after(page, before)


def open_tab(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"#tab-{name}")
    expect(page.locator(f"#panel-{name}")).to_be_visible()


def test_finadmin_adds_steps_in_parallel_and_simulates_them(page):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "finadmin")
    page.goto("/designer/templates/expense-claim/design")
    open_tab(page, "route")

    before = version_of(page)
    page.focus("#add-group")
    page.keyboard.press("Enter")
    saved_after(page, before)
    group = page.locator("#panel-route .dz-group").first
    expect(group).to_be_visible()
    key = group.get_attribute("data-key") or ""
    second = page.get_by_test_id(f"branch-{key}-1")
    expect(second).to_be_visible()
    late = second.locator(".dz-step").first.get_attribute("data-key") or ""

    change(page, f"#b-{key}-1-when", "total >= 50000")
    drawn = page.locator("#panel-route .route-tree .rt-parallel").first
    expect(drawn.locator(":scope > .rt-branch")).to_have_count(2)
    expect(drawn).to_contain_text("50,000")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "designer-parallel-route.png"), full_page=True)

    open_tab(page, "simulate")
    page.select_option("#sim-submitter", "sales1")
    page.select_option("#sim-department", "SALES")
    page.fill("#sim-total", "25000")
    page.click("#sim-run")
    result = page.get_by_test_id("simulation-result")
    skipped = result.locator(f"tr[data-step='{late}']")
    expect(skipped).to_have_attribute("data-status", "skipped")
    expect(skipped.locator(".sim-reason")).to_contain_text("50,000")
    expect(result.locator(".rt-parallel")).to_be_visible()
    assert page.csp_violations == []
