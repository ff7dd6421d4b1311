"""Report pages, the dashboard, exports from the page, and scheduled delivery."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import Notification, ReportSubscription, utcnow

from .conftest import YEAR


@pytest.fixture
def finance(budget, claim):  # type: ignore[no-untyped-def]
    budget("SALES", {"travel": 100000})
    budget("SALES-E", {"travel": 50000})
    budget("RD", {"training": 10000})
    claim("SALES", [("travel", 25000)], month=2)
    claim("SALES-E", [("travel", 60000)], month=3)
    claim("RD", [("training", 9500)], month=3)
    db.session.commit()


def test_cfo_drills_from_a_red_department_on_the_dashboard_to_its_claims(finance, signed_in):
    cfo = signed_in("cfo")
    page = cfo.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="tile-execution"' in html and 'data-testid="tile-alerts"' in html
    assert re.search(r'<td class="num flag-red" data-flag="red">120.0%</td>', html)
    link = re.search(r'<a href="([^"]+)" data-testid="dept-SALES-E">', html).group(1)
    ledger = cfo.get(link.replace("&amp;", "&"))
    assert ledger.status_code == 200
    assert "60,000.00" in ledger.text and "25,000.00" not in ledger.text
    claim_link = re.search(r'<a href="(/submissions/\d+)">', ledger.text)
    assert claim_link is not None
    assert '<script type="application/json" id="dash-execution">' in html
    assert "<script>" not in html  # no inline script: strict CSP


def test_the_report_page_shows_flags_subtotals_chart_and_export_buttons(finance, signed_in):
    page = signed_in("cfo").get(f"/reports/budget-vs-actual?year={YEAR}")
    assert page.status_code == 200
    assert 'class="row-subtotal"' in page.text
    assert 'data-flag="red"' in page.text and 'data-flag="amber"' in page.text
    assert 'id="chart-spec-1"' in page.text
    assert 'data-testid="export-xlsx"' in page.text


def test_the_page_names_a_bad_parameter_and_hides_an_out_of_scope_department(finance, signed_in):
    manager = signed_in("salesmgr")
    bad = manager.get("/reports/budget-vs-actual?year=soon")
    assert bad.status_code == 422 and "year" in bad.text
    assert manager.get("/reports/budget-vs-actual?department=RD").status_code == 404
    options = manager.get("/reports/budget-vs-actual").text
    assert 'value="SALES-E"' in options and 'value="RD"' not in options
    assert signed_in("sales1").get("/reports/budget-vs-actual").status_code == 403


def test_nav_links_show_for_report_readers_only(app, signed_in):
    assert 'data-testid="nav-dashboard"' in signed_in("cfo").get("/").text
    assert 'data-testid="nav-dashboard"' not in signed_in("sales1").get("/").text


def test_downloading_from_the_page_gives_the_file_or_a_progress_page(finance, app, signed_in):
    cfo = signed_in("cfo")
    small = cfo.get("/reports/budget-vs-actual/download?format=pdf")
    assert small.status_code == 200 and small.data.startswith(b"%PDF")
    app.config["REPORT_EXPORT_ASYNC_ROWS"] = 1
    large = cfo.get("/reports/expense-ledger/download?format=xlsx")
    assert large.status_code == 302
    progress = cfo.get(large.headers["Location"])
    assert "<progress" in progress.text and 'data-testid="job-download"' in progress.text
    fragment = cfo.get(large.headers["Location"], headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<section")
    assert signed_in("finrev").get(large.headers["Location"]).status_code == 404


def test_a_subscription_is_delivered_to_the_inbox_on_schedule(finance, app, signed_in, user):
    from quire.runtime.reports.subscriptions import deliver_due, next_run

    cfo = signed_in("cfo")
    response = cfo.post_form(
        "/reports/budget-vs-actual/subscribe",
        {
            "year": str(YEAR),
            "department": "SALES",
            "dimension": "department",
            "frequency": "monthly",
            "day": "1",
            "hour": "8",
            "minute": "0",
            "format": "xlsx",
        },
    )
    assert response.status_code == 302
    sub = db.session.scalar(select(ReportSubscription))
    assert sub.params == {"year": str(YEAR), "department": "SALES", "dimension": "department"}
    local = sub.next_run_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert (local.day, local.hour, local.minute) == (1, 8, 0)
    assert deliver_due(now=utcnow()) == 0  # not due yet
    assert deliver_due(now=sub.next_run_at + timedelta(minutes=1)) == 1
    note = db.session.scalar(select(Notification).where(Notification.kind == "report"))
    assert note.user_id == user("cfo").id and "预算执行情况" in note.subject_zh
    page = cfo.get(note.link)
    assert 'data-testid="job-download"' in page.text
    assert sub.next_run_at > sub.last_run_at
    assert next_run(sub, sub.last_run_at) == sub.next_run_at


def test_a_bad_schedule_is_refused(app, signed_in):
    response = signed_in("cfo").post_form(
        "/reports/expense-ledger/subscribe",
        {
            "year": str(YEAR),
            "frequency": "weekly",
            "day": "9",
            "hour": "8",
            "minute": "0",
            "format": "xlsx",
        },
    )
    assert response.status_code == 422 and "day" in response.text


def test_a_subscriber_who_lost_the_right_gets_nothing(finance, app, user):
    from quire.runtime.reports.subscriptions import deliver_due, subscribe

    sub = subscribe(user("salesmgr"), "expense-ledger", {"year": str(YEAR)})
    db.session.commit()
    for grant in user("salesmgr").grants:
        if grant.role.key == "dept_manager":
            grant.revoked_at = utcnow()
    db.session.commit()
    assert deliver_due(now=sub.next_run_at + timedelta(minutes=1)) == 0
    assert sub.last_error
    assert db.session.scalar(select(Notification).where(Notification.kind == "report")) is None


def test_the_demo_budget_warning_shows_rnd_training_past_90_percent(signed_in):
    """The demo's sample claims take RD's training account past 90 %: the CFO is warned."""
    page = signed_in("cfo").get("/dashboard", headers={"Accept-Language": "zh-CN"}).text
    assert "研发部 (RD) 的 培训费 已使用预算的 9" in page


def test_a_weekly_report_arrives_by_email_with_the_file_attached_and_a_lasting_link(
    finance, app, signed_in, user
):
    import email
    import email.policy
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from quire.runtime.approvals.mail import send_pending
    from quire.runtime.models import ExportJob
    from quire.runtime.reports.subscriptions import deliver_due

    app.config["BASE_URL"] = "http://quire.example.test:8080"
    user("cfo").email = "cfo@example.test"
    db.session.commit()
    cfo = signed_in("cfo")
    response = cfo.post_form(
        "/reports/budget-vs-actual/subscribe",
        {
            "year": str(YEAR),
            "frequency": "weekly",
            "weekday": "3",
            "day": "1",
            "hour": "7",
            "minute": "30",
            "format": "xlsx",
        },
    )
    assert response.status_code == 302
    sub = db.session.scalar(select(ReportSubscription))
    local = sub.next_run_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.isoweekday(), local.hour, local.minute) == (3, 7, 30)
    page = cfo.get("/reports").text
    assert "预算执行情况" in page and "星期三" in page  # the title and the weekday, not codes

    ran_at = sub.next_run_at + timedelta(minutes=1)
    assert deliver_due(now=ran_at) == 1
    job = db.session.scalar(select(ExportJob).where(ExportJob.subscription_id == sub.id))
    assert job.expires_at >= sub.next_run_at  # downloadable until the next delivery
    assert send_pending() >= 1
    sent = sorted((Path(app.config["INSTANCE_PATH"]) / "mail").glob("*.eml"))[-1]
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    [attachment] = [p for p in message.walk() if p.get_filename()]
    assert attachment.get_filename().endswith(".xlsx")
    assert attachment.get_payload(decode=True)[:2] == b"PK"  # a real workbook
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert f"http://quire.example.test:8080/exports/jobs/{job.token}" in body.get_content()


def test_a_report_too_large_to_attach_comes_as_a_link_only(finance, app, user):
    import email
    import email.policy
    from pathlib import Path

    from quire.runtime.approvals.mail import send_pending
    from quire.runtime.reports.subscriptions import deliver_due, subscribe

    app.config["REPORT_MAIL_ATTACH_MAX_BYTES"] = 100
    user("cfo").email = "cfo@example.test"
    sub = subscribe(user("cfo"), "expense-ledger", {"year": str(YEAR)}, frequency="daily")
    db.session.commit()
    assert deliver_due(now=sub.next_run_at + timedelta(minutes=1)) == 1
    send_pending()
    sent = sorted((Path(app.config["INSTANCE_PATH"]) / "mail").glob("*.eml"))[-1]
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert not [p for p in message.walk() if p.get_filename()]
    assert "/exports/jobs/" in message.get_content()
