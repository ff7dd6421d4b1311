"""Browser tests: a real server on a free port, driven by Debian's Chromium via Playwright.

The fixtures themselves (``live_server``, ``chromium``, ``page``) live in tests/conftest.py so
that any suite can use them while one Playwright session serves the whole run. Skipped when
Chromium is missing, unless ``QUIRE_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def sign_in(page, username: str, password: str = "quire-demo") -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/")
