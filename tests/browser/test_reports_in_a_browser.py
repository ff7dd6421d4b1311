"""The finance dashboard and a report in a real browser: charts draw under the strict CSP."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.conftest import sign_in


@pytest.fixture
def red_department(app):  # type: ignore[no-untyped-def]
    """SALES-E over budget, SALES within it (written straight to the database)."""
    import uuid
    from decimal import Decimal

    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import (
        Department,
        FormTemplate,
        Submission,
        SubmissionStatus,
        utcnow,
    )
    from quire.runtime.org import user_by_username

    year = date.today().year

    def add(form: str, dept: str, who: str, data: dict, period: date) -> None:
        db.session.add(
            Submission(
                template=db.session.scalar(select(FormTemplate).where(FormTemplate.key == form)),
                template_version=1,
                number=f"B-{uuid.uuid4().hex[:8]}",
                status=SubmissionStatus.APPROVED,
                department=db.session.scalar(select(Department).where(Department.code == dept)),
                period=period,
                submitter=user_by_username(who),
                data=data,
                total=Decimal(1),
                decided_at=utcnow(),  # the latest approved budget is the one that counts
            )
        )

    for dept in ("SALES", "SALES-E"):
        add(
            "department-budget",
            dept,
            "finadmin",
            {
                "fiscal_year": str(year),
                "lines": [
                    {
                        "account": "travel",
                        "q1": "2500.00",
                        "q2": "2500.00",
                        "q3": "2500.00",
                        "q4": "2500.00",
                        "annual": "10000.00",
                    }
                ],
            },
            date(year, 1, 1),
        )
    add(
        "expense-claim",
        "SALES-E",
        "sales3",
        {
            "lines": [
                {
                    "date": f"{year}-01-05",
                    "category": "travel",
                    "description": "高铁",
                    "amount": "12000.00",
                }
            ]
        },
        date(year, 1, 1),
    )
    add(
        "expense-claim",
        "SALES",
        "sales1",
        {
            "lines": [
                {
                    "date": f"{year}-01-05",
                    "category": "travel",
                    "description": "机票",
                    "amount": "2000.00",
                }
            ]
        },
        date(year, 1, 1),
    )
    db.session.commit()


def test_cfo_opens_the_dashboard_sees_the_chart_and_drills_into_a_red_department(
    page, red_department
):
    sign_in(page, "cfo")
    page.click("[data-testid=nav-dashboard]")
    page.wait_for_selector("[data-testid=tile-execution] .vega-chart[data-rendered=true] svg")
    assert page.locator("[data-testid=tile-execution] svg .mark-rect path").count() >= 2
    page.click("[data-testid=dept-SALES-E]")
    page.wait_for_url("**/reports/actual-lines?**")
    page.wait_for_selector("[data-testid=report-table]")
    text = page.locator("[data-testid=report-table]").inner_text()
    assert "高铁" in text and "机票" not in text  # SALES-E's claim, not SALES's
    departments = page.locator("[data-testid=report-table] tbody td:nth-child(2)").all_inner_texts()
    assert set(departments) == {"SALES-E"}
    assert page.csp_violations == []


def test_the_budget_report_draws_its_chart_without_a_csp_violation(page, red_department):
    sign_in(page, "cfo")
    page.goto("/reports/budget-vs-actual")
    page.wait_for_selector(".vega-chart[data-rendered=true] svg")
    assert page.locator("td[data-flag=red]").count() >= 1
    with page.expect_download() as download:
        page.click("[data-testid=export-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert page.csp_violations == []
