"""Issue 19's budget round, told as the people in it would live it (services, no browser)."""

from __future__ import annotations

from decimal import Decimal

import pytest


def _entry(round, code):  # type: ignore[no-untyped-def]
    return next(e for e in round.entries if e.department.code == code)


def _statuses(round):  # type: ignore[no-untyped-def]
    from quire.runtime.budgeting import service

    return {e.department.code: service.entry_status(e) for e in round.entries}


def test_opening_a_round_asks_every_department_and_adopts_budgets_in_progress(
    open_round, user, year
):  # type: ignore[no-untyped-def]
    from quire.runtime.budgeting import service
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    round = open_round()
    assert _statuses(round) == {
        "HQ": "in_review",
        "FIN": "draft",
        "SALES": "draft",
        "SALES-E": "draft",
        "RD": "in_review",
        "HR": "in_review",
    }
    salesmgr = user("salesmgr")
    tasks = service.open_tasks(salesmgr)
    assert [e.department.code for e in tasks] == ["SALES"]
    told = db.session.scalars(
        Notification.__table__.select()
        .where(Notification.user_id == salesmgr.id, Notification.kind == "budget_task")
        .with_only_columns(Notification.subject_en)
    ).all()
    assert told == [
        f"Fill in the {year} budget for SALES by {round.deadline.day} {round.deadline:%b}"
    ]


def test_a_second_round_for_the_same_departments_and_year_is_refused(open_round):  # type: ignore[no-untyped-def]
    from quire.runtime.errors import Conflict

    open_round()
    with pytest.raises(Conflict):
        open_round(department="SALES")


def test_bad_round_fields_are_named(app, now):  # type: ignore[no-untyped-def]
    from quire.runtime.budgeting import service
    from quire.runtime.errors import Invalid

    with pytest.raises(Invalid) as caught:
        service.parse_request(
            {"fiscal_year": "next", "department": "NOPE", "deadline": "2001-01-01"}, now.date()
        )
    assert {d.path for d in caught.value.details} == {"fiscal_year", "department", "deadline"}


def test_only_finance_administrators_open_rounds(app, user, now, year):  # type: ignore[no-untyped-def]
    from quire.runtime.budgeting import service
    from quire.runtime.errors import Forbidden

    request = service.parse_request(
        {"fiscal_year": year, "department": "HQ", "deadline": now.date().isoformat()}, now.date()
    )
    with pytest.raises(Forbidden):
        service.open_round(user("salesmgr"), request, now=now)


def test_the_round_story_from_opening_to_the_budget_a_claim_reads(
    open_round, user, year, now, approve_through
):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import budget, engine
    from quire.runtime.budgeting import service
    from quire.runtime.extensions import db
    from quire.runtime.forms import service as forms_service
    from quire.runtime.org import department_by_code

    round = open_round()
    sales = department_by_code("SALES")
    # salesmgr fills in SALES's budget (prefilled) and submits it.
    salesmgr = user("salesmgr")
    draft = service.start(salesmgr, _entry(round, "SALES"), now=now)
    lines = [dict(line) for line in draft.data["lines"]]
    lines[0]["q1"] = "300000.00"
    forms_service.update(salesmgr, draft.id, {**draft.data, "lines": lines}, draft.version)
    engine.submit(salesmgr, draft.id, draft.version)
    db.session.commit()
    assert _statuses(round)["SALES"] == "in_review"

    # finadmin returns RD's with a comment on its second line; rdmgr sees it and resubmits.
    rd_entry = _entry(round, "RD")
    rd = rd_entry.submission
    service.return_with_feedback(
        user("finadmin"),
        rd_entry,
        version=rd.version,
        comment="Please explain the meals budget.",
        line_comments={2: "Meals up 8 %: cut to last year's level"},
        now=now,
    )
    db.session.commit()
    assert _statuses(round)["RD"] == "returned"
    [note] = service.feedback(rd_entry)
    assert (note.line_no, note.account, note.comment) == (
        2,
        "meals",
        "Meals up 8 %: cut to last year's level",
    )
    rdmgr = user("rdmgr")
    assert rd_entry in service.open_tasks(rdmgr)
    lines = [dict(line) for line in rd.data["lines"]]
    lines[1] = {**lines[1], "q1": "100000.00"}
    forms_service.update(rdmgr, rd.id, {**rd.data, "lines": lines}, rd.version)
    engine.submit(rdmgr, rd.id, rd.version)
    db.session.commit()
    assert _statuses(round)["RD"] == "in_review"

    # The consolidation shows each department's status and the totals against this year's.
    view = service.consolidate(user("finadmin"), round)
    by_code = {r.department.code: r for r in view.rows}
    assert by_code["SALES"].status == "in_review"
    assert by_code["SALES"].total == Decimal(draft.total)
    this_year = budget.approved_budget(sales, year - 1)
    assert by_code["SALES"].last_budget == sum(this_year.values())
    assert by_code["SALES"].change == by_code["SALES"].total - by_code["SALES"].last_budget
    assert by_code["SALES"].actuals > 0
    assert view.progress["in_review"] == 4 and view.progress["draft"] == 2
    assert sum(slot[4] for slot in view.by_account.values()) == view.total("total")

    # The rest are filled, submitted and approved; until the round closes nothing counts.
    for code in ("FIN", "SALES-E", "HR", "HQ"):
        entry = _entry(round, code)
        submission = entry.submission
        if submission.status.value == "draft":
            engine.submit(submission.submitter, submission.id, submission.version)
            db.session.commit()
    for entry in round.entries:
        approve_through(entry.submission)
    assert set(_statuses(round).values()) == {"approved"}
    assert not budget.check(sales, year, {"travel": Decimal("100")}).budget_found

    service.close_round(user("finadmin"), round, now=now)
    db.session.commit()
    check = budget.check(sales, year, {"travel": Decimal("100")})
    assert check.budget_found
    travel = next(a for a in check.accounts if a.account == "travel")
    db.session.refresh(draft)
    assert travel.budget == budget.annual_by_account(draft.data)["travel"]

    # A later change is an adjustment routed for approval: original, adjustment, current.
    adjustment = service.start_adjustment(salesmgr, sales, year, now=now)
    lines = [dict(line) for line in adjustment.data["lines"]]
    lines[0]["q4"] = str(Decimal(lines[0]["q4"]) + Decimal("1000.00"))
    forms_service.update(
        salesmgr, adjustment.id, {**adjustment.data, "lines": lines}, adjustment.version
    )
    engine.submit(salesmgr, adjustment.id, adjustment.version)
    db.session.commit()
    before = service.year_budget(sales, year)
    assert before.total(1) == 0  # not approved yet: nothing changes
    approve_through(adjustment)
    after = service.year_budget(sales, year)
    original, change, current = after.accounts["travel"]
    assert change == Decimal("1000.00") and current == original + change
    assert after.adjustments == [adjustment]
    assert budget.approved_budget(sales, year)["travel"] == current


def test_closing_waits_for_every_department(open_round, user, now):  # type: ignore[no-untyped-def]
    from quire.runtime.budgeting import service
    from quire.runtime.errors import Conflict
    from quire.runtime.extensions import db

    round = open_round()
    with pytest.raises(Conflict) as caught:
        service.close_round(user("finadmin"), round, now=now)
    db.session.rollback()
    assert {d.path for d in caught.value.details} == {"HQ", "FIN", "SALES", "SALES-E", "RD", "HR"}
    db.session.refresh(round)
    assert round.is_open


def test_reminders_before_and_escalation_after_the_deadline_come_once(open_round, user, now):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from quire.runtime.budgeting import service
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    round = open_round(remind_days=3)
    deadline = round.deadline
    assert service.sweep(now) == {"remind": 0, "escalate": 0}
    near = now + (deadline - now.date()) - timedelta(days=2)
    first = service.sweep(near)
    assert first["remind"] == 3  # FIN, SALES, SALES-E are not submitted
    assert service.sweep(near) == {"remind": 0, "escalate": 0}
    late = now + (deadline - now.date()) + timedelta(days=2)
    assert service.sweep(late)["escalate"] == 3
    assert service.sweep(late)["escalate"] == 0
    sales = next(e for e in round.entries if e.department.code == "SALES")
    db.session.refresh(sales)
    assert sales.escalated_to is not None and sales.escalated_to.username == "cfo"
    kinds = db.session.scalars(
        Notification.__table__.select()
        .where(Notification.user_id == user("cfo").id)
        .with_only_columns(Notification.kind)
    ).all()
    assert "budget_escalation" in kinds
