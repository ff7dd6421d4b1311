"""Issue 19's round story in a real browser: finadmin opens next year's round, salesmgr
submits SALES, finadmin returns RD's with a line comment, rdmgr resubmits, the round page
shows the statuses and totals, the cfo approves the rest, finadmin closes the round, and a
claim's budget check for next year reads the new budget. Then the IT allocation runs twice."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import sign_in


def _as(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    sign_in(page, username)


def _walk_to_the_cfo(submission) -> None:  # type: ignore[no-untyped-def]
    """Manager and finance reviewer approve (as they would in their inboxes); the CFO step
    waits for the cfo, unless someone else holds it (HQ's budget, which the cfo submitted)."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    for _ in range(6):
        db.session.refresh(submission)
        if submission.status.value != "in_review":
            return
        task = db.session.scalar(
            select(ApprovalTask).where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.status == TaskStatus.OPEN,
            )
        )
        if submission.current_step == "cfo" and task.assignee.username == "cfo":
            return
        engine.act(task.assignee, submission.id, "approve", version=submission.version)
        db.session.commit()


def test_the_2027_round_from_opening_to_closing(page, app, user):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import budget, engine
    from quire.runtime.approvals.routing import local_today
    from quire.runtime.extensions import db
    from quire.runtime.models import BudgetRound
    from quire.runtime.org import department_by_code

    year = local_today().year + 1
    # finadmin opens next year's round for the whole organisation.
    sign_in(page, "finadmin")
    page.goto("/budget/rounds")
    page.fill("input[name=fiscal_year]", str(year))
    page.select_option("select[name=department]", "HQ")
    page.fill("textarea[name=instructions]", "差旅费原则上不增长")
    page.click("[data-testid=open-round] button[type=submit]")
    page.wait_for_url("**/budget/rounds/*")
    expect(page.locator("[data-testid=status-SALES]")).to_have_text("草稿")
    expect(page.locator("[data-testid=status-RD]")).to_have_text("审批中")

    # salesmgr finds the task in the inbox, fills in SALES's budget and submits it.
    _as(page, "salesmgr")
    page.goto("/inbox")
    page.click("[data-testid=budget-task] a")
    page.wait_for_url("**/budget/**")
    page.click("[data-testid=fill-in]")
    page.wait_for_url("**/submissions/*/edit")
    page.fill("input[name=lines-0-q1]", "250000")
    page.click("text=提交审批")
    expect(page.locator(".flash-ok")).to_be_visible()

    # finadmin returns RD's with a comment on its second line.
    _as(page, "finadmin")
    round = db.session.scalar(select(BudgetRound).order_by(BudgetRound.id.desc()))
    rd_page = f"/budget/rounds/{round.id}/departments/RD"
    page.goto(rd_page)
    page.fill("input[name=line_2]", "餐费比上年增长 8%，请压缩")
    page.fill("textarea[name=comment]", "请调整餐费")
    page.click("[data-testid=return-budget]")
    expect(page.locator("[data-testid=entry-status]")).to_have_text("已退回")

    # rdmgr sees the line comment, fixes the line and resubmits.
    _as(page, "rdmgr")
    page.goto(rd_page)
    expect(page.locator("[data-testid=line-comment]")).to_contain_text("餐费比上年增长 8%")
    page.click("[data-testid=fill-in]")
    page.wait_for_url("**/submissions/*/edit")
    page.fill("input[name=lines-1-q1]", "100000")
    page.click("text=提交审批")
    expect(page.locator(".flash-ok")).to_be_visible()

    # The round page shows each department's status and the totals against this year's.
    _as(page, "finadmin")
    page.goto(f"/budget/rounds/{round.id}")
    expect(page.locator("[data-testid=status-SALES]")).to_have_text("审批中")
    expect(page.locator("[data-testid=status-RD]")).to_have_text("审批中")
    expect(page.locator("[data-testid=count-in_review]")).to_contain_text("4")
    expect(page.locator("[data-testid=grand-total]")).not_to_have_text("—")

    # The remaining drafts are submitted; managers and finance approve; the cfo approves the rest.
    db.session.expire_all()
    round = db.session.get(BudgetRound, round.id)
    for entry in round.entries:
        submission = entry.submission
        if submission.status.value == "draft":
            engine.submit(submission.submitter, submission.id, submission.version)
            db.session.commit()
        _walk_to_the_cfo(submission)
    _as(page, "cfo")
    page.goto("/inbox")
    for box in page.locator("input[name=item]").all():
        box.check()
    page.click("[data-testid=bulk-approve]")
    _as(page, "finadmin")
    page.goto(f"/budget/rounds/{round.id}")
    expect(page.locator("[data-testid=count-approved]")).to_contain_text("6")

    # finadmin closes the round: next year's budget is what a claim's budget check reads.
    sales = department_by_code("SALES")
    assert not budget.check(sales, year, {"travel": Decimal("100")}).budget_found
    page.click("[data-testid=close-round]")
    expect(page.locator("[data-testid=close-round]")).to_have_count(0)
    db.session.expire_all()
    check = budget.check(sales, year, {"travel": Decimal("100")})
    assert check.budget_found
    travel = next(a for a in check.accounts if a.account == "travel")
    assert travel.budget >= Decimal("250000")  # Q1 as salesmgr typed it, plus Q2–Q4
    assert page.csp_violations == []


def test_it_costs_by_headcount_monthly_and_a_rerun_changes_nothing(page, app, user):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.approvals.routing import local_today
    from quire.runtime.extensions import db
    from quire.runtime.forms import service as forms_service
    from quire.runtime.models import AllocationRule, AllocationRun

    month = local_today().replace(day=1)
    finadmin = user("finadmin")
    form = forms_service.create(
        finadmin,
        "cost-allocation",
        {
            "period": f"{month:%Y-%m}",
            "description": "IT 服务费",
            "amount": "36000.01",
            "shares": [{"department": "FIN", "percent": "100"}],
        },
        today=month,
    )
    engine.submit(finadmin, form.id, form.version)
    db.session.commit()
    engine.act(user("finrev"), form.id, "approve", version=form.version)
    db.session.commit()
    rule = db.session.scalar(select(AllocationRule).where(AllocationRule.key == "it-by-headcount"))

    sign_in(page, "finadmin")
    page.goto(f"/allocation/rules/{rule.id}")
    page.fill("input[name=month]", f"{month:%Y-%m}")
    page.click("[data-testid=run-allocation]")
    run_box = page.locator(f"[data-testid=run-{month:%Y-%m}]")
    expect(run_box).to_contain_text("36,000.01")
    run = db.session.scalar(
        select(AllocationRun).where(AllocationRun.rule_id == rule.id, AllocationRun.period == month)
    )
    first = sorted((line.department.code, line.amount) for line in run.lines)
    assert sum(amount for _code, amount in first) == Decimal("36000.01")

    # SALES's actual shows its allocated share beside its claims.
    page.goto(f"/reports/budget-vs-actual?year={month.year}&department=SALES")
    expect(page.locator("table").first).to_contain_text("分摊转入")

    # Running the month again changes nothing.
    page.goto(f"/allocation/rules/{rule.id}")
    page.fill("input[name=month]", f"{month:%Y-%m}")
    page.click("[data-testid=run-allocation]")
    expect(run_box).to_contain_text("已运行 2 次")
    db.session.expire_all()
    run = db.session.get(AllocationRun, run.id)
    assert run.times == 2
    assert sorted((line.department.code, line.amount) for line in run.lines) == first
    assert page.csp_violations == []
