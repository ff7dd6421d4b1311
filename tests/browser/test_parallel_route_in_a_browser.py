"""Steps in parallel in Chromium: finadmin adds a parallel group to the expense claim's route
by keyboard, gives its second branch a condition, sees the branches drawn side by side, and
the simulator skips that branch with the reason in words.

Every step waits for the state it needs, never for time.
"""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import sign_in
from .test_designer_in_a_browser import change, open_tab, saved_after, shot, version_of


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
    shot(page, "parallel-route")

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
