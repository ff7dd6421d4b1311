"""A person's first minutes with Quire, in a real browser."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_sales_manager_signs_in_switches_to_english_and_sees_their_people(page):
    sign_in(page, "salesmgr")
    assert page.locator("#my-tasks h2").inner_text() == "我的待办"
    page.click("button[value=en]")
    page.wait_for_selector("text=My tasks")
    page.click("text=Administration")
    page.wait_for_url("**/admin/users")
    names = page.locator("table tbody td:first-child a").all_inner_texts()
    assert {"sales1", "sales2", "sales3", "salesmgr"} == set(names)
    assert page.csp_violations == []


def test_a_wrong_password_shows_a_message_and_keeps_the_username(page):
    page.goto("/login")
    page.fill("input[name=username]", "rd1")
    page.fill("input[name=password]", "not-right")
    page.click("main form button[type=submit]")
    expect(page.locator(".flash-error")).to_be_visible()
    expect(page.locator("input[name=username]")).to_have_value("rd1")


def test_auditor_filters_the_audit_log(page):
    sign_in(page, "auditor")
    page.goto("/admin/audit?action=auth.*")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() >= 1
    assert "登录" in rows.first.inner_text()
