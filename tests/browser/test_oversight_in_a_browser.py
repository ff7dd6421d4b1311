"""An auditor, in Chinese, filters the operation log, exports it, and looks up who can see
what for sales2."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_auditor_filters_exports_the_log_and_opens_who_can_see_what_for_sales2(page):
    sign_in(page, "auditor")
    page.goto("/admin/audit")
    expect(page.get_by_test_id("chain-ok")).to_contain_text("审计链完整")

    page.select_option("select[name=action]", "grant.create")
    page.get_by_test_id("audit-filter-button").click()
    page.wait_for_url("**/admin/audit?*action=grant.create*")
    rows = page.locator("[data-testid=audit-table] tbody tr")
    expect(rows.first).to_contain_text("授予角色")
    assert all("授予角色" in text for text in rows.all_inner_texts())

    with page.expect_download() as download:
        page.get_by_test_id("audit-export-xlsx").click()
    content = open(download.value.path(), "rb").read()
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    actions = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]]
    assert actions and set(actions) == {"授予角色"}

    page.get_by_test_id("who-can-see-what-link").click()
    page.wait_for_url("**/admin/access")
    page.select_option("[data-testid=access-user-form] select[name=username]", "sales2")
    page.get_by_test_id("access-user-button").click()
    page.wait_for_url("**/admin/access/user?username=sales2")
    table = page.get_by_test_id("rights-table")
    expect(table).to_contain_text("填报")
    expect(table).to_contain_text("员工 (staff)")
    expect(table).to_contain_text("直接授权（无申请）")
    expect(page.locator("h1")).to_contain_text("的权限")
    assert page.csp_violations == []
