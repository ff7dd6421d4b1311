"""The report designer in Chromium: finadmin builds "Spending by department and month" (a
cross-tab of approved claims with totals, a stacked bar chart, amber over a threshold) with a
live preview, is stopped at its path by a misspelt column, publishes; cfo drills from a
department into its claims and downloads the workbook; salesmgr sees only SALES and SALES-E.

Every step waits for the state it needs (a saved draft version, a drawn chart), never for time.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

SHOTS = Path("test-results")
YEAR = date.today().year


@pytest.fixture
def claims(app):  # type: ignore[no-untyped-def]
    """Approved claims this year: RD over the amber threshold in January, SALES and SALES-E."""
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import Department, FormTemplate, Submission, SubmissionStatus, utcnow
    from quire.runtime.org import user_by_username

    form = db.session.scalar(select(FormTemplate).where(FormTemplate.key == "expense-claim"))
    for dept, who, month, amount in (
        ("RD", "rd1", 1, "80000.00"),
        ("SALES", "sales1", 1, "1200.00"),
        ("SALES-E", "sales3", 2, "800.00"),
    ):
        line = {"date": f"{YEAR}-{month:02d}-05", "category": "travel", "description": "差旅"}
        db.session.add(
            Submission(
                template=form,
                template_version=form.latest_version,
                number=f"R-{uuid.uuid4().hex[:8]}",
                status=SubmissionStatus.APPROVED,
                department=db.session.scalar(select(Department).where(Department.code == dept)),
                period=date(YEAR, month, 1),
                submitter=user_by_username(who),
                data={"department": dept, "lines": [{**line, "amount": amount}]},
                total=Decimal(amount),
                decided_at=utcnow(),
            )
        )
    db.session.commit()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"report-designer-{name}.png"), full_page=True)


def version_of(page) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("draft-status").get_attribute("data-version") or ""


def saving(page, action) -> None:  # type: ignore[no-untyped-def]
    """Do ``action`` and wait until the draft has a new version and the preview is back."""
    before = version_of(page)
    action()
    expect(page.get_by_test_id("draft-status")).not_to_have_attribute("data-version", before)
    page.wait_for_selector("[data-testid=report-preview]")


def edit(page, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Type into a setting and leave it: the change saves the draft (and the preview reloads)."""
    if page.input_value(selector) == value:
        return  # already so: nothing changes, nothing is saved
    saving(page, lambda: (page.fill(selector, value), page.press(selector, "Tab")))


def test_finadmin_designs_the_spending_cross_tab_and_readers_use_it(page, claims):  # type: ignore[no-untyped-def]
    sign_in(page, "finadmin")
    page.goto("/designer/templates")
    page.click("#new-report")
    page.fill("#title-zh", "部门月度支出")
    page.fill("#title-en", "Spending by department and month")
    page.click("#create-report")
    page.wait_for_selector("[data-testid=report-preview] [data-testid=report-table]")

    saving(page, lambda: page.click("[data-step='0'] button[aria-label='删除步骤']"))
    saving(page, lambda: (page.select_option("#add-step-type", "pivot"), page.click("#add-step")))
    edit(page, "#step-0-rows", "department")
    edit(page, "#step-0-columns", "month")
    edit(page, "#step-0-values", "amount")
    edit(page, "#step-0-thresholds-amber", "50000")
    edit(page, "#step-0-thresholds-red", "500000")
    saving(page, lambda: page.select_option("#step-0-rollup", "department_tree"))
    saving(
        page,
        lambda: page.click("[data-testid=columns] li:nth-child(3) button[aria-label='删除列']"),
    )
    name_column = page.locator("[data-testid=columns] li:nth-child(2)")
    name_column.locator("summary").click()
    name_column.locator("input[name='link.report']").fill("expense-ledger")
    name_column.locator("textarea[name='link.params']").fill(
        "year = =year\ndepartment = =department\nstatus = approved"
    )
    saving(page, lambda: name_column.locator("button[type=submit]").last.click())
    page.fill("#chart-category", "department_name")
    page.fill("#chart-values", "")
    page.check("#chart-stacked")
    saving(page, lambda: page.click("#apply-chart"))
    page.fill("#add-parameter-key", "year")
    page.select_option("#add-parameter-type", "year")
    page.fill("#add-parameter-default", "=YEAR(TODAY())")
    page.fill("#add-parameter-zh", "年度")
    page.fill("#add-parameter-en", "Year")
    saving(page, lambda: page.click("#add-parameter"))

    preview = page.get_by_test_id("report-preview")
    expect(preview.locator(".vega-chart[data-rendered=true] svg")).to_be_visible()
    expect(preview.locator("thead")).to_contain_text("合计")
    expect(preview.locator("td[data-flag=amber]").first).to_be_visible()

    # A filter on a misspelt column is stopped at its path.
    saving(page, lambda: (page.select_option("#add-step-type", "filter"), page.click("#add-step")))
    saving(page, lambda: page.click("[data-step='1'] button[aria-label='上移']"))
    edit(page, "#step-0-where", "amout > 0")
    expect(page.locator("[data-step='0'] .problems")).to_contain_text("transforms[0].where")
    expect(page.locator("[data-step='0'] .problems")).to_contain_text('"amout"')
    saving(page, lambda: page.click("[data-step='0'] button[aria-label='删除步骤']"))

    shot(page, "draft")  # after the checks: a screenshot touches the page's styles
    page.click("#tab-changes")
    page.fill("#publish-note", "第一版")
    page.click("#publish")
    expect(page.locator("#panel-history")).to_contain_text("第一版")
    assert page.csp_violations == []

    page.context.clear_cookies()
    sign_in(page, "cfo")
    page.goto("/reports/spending-by-department-and-month")
    page.wait_for_selector(".vega-chart[data-rendered=true] svg")
    with page.expect_download() as download:
        page.click("[data-testid=export-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.click("[data-testid=report-table] a:text('研发部')")
    page.wait_for_url("**/reports/expense-ledger?**")
    departments = page.locator("[data-testid=report-table] tbody td:nth-child(2)")
    assert set(departments.all_inner_texts()) == {"RD"}
    assert page.csp_violations == []

    page.context.clear_cookies()
    sign_in(page, "salesmgr")
    page.goto("/reports/spending-by-department-and-month")
    codes = page.locator("[data-testid=report-table] tbody tr td:first-child").all_inner_texts()
    assert set(codes) == {"SALES", "SALES-E"}
    shot(page, "salesmgr")
