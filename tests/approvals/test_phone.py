"""salesmgr approves a claim from the inbox on a 375 px phone (a real browser)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_salesmgr_approves_a_claim_from_the_inbox_on_a_phone(claim, submit, page):  # noqa: F811
    c = submit(claim("sales1", 25000))
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, "salesmgr")
    page.goto("/inbox")

    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    button = page.locator(f'[data-testid="approve-{c.id}"]')
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    button.click()
    page.wait_for_url("**/inbox*")

    assert page.locator(f'[data-testid="approve-{c.id}"]').count() == 0
    assert page.csp_violations == []  # type: ignore[attr-defined]
