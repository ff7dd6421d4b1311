"""A Q3–Q4 re-forecast keeps the quarters before it, and the quarters already past by the one
clock, as they are: read-only in the line editor and refused by the server, by line and
quarter, whichever editor saves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 3, 0, tzinfo=UTC)


@pytest.fixture
def reforecast(app, user, year, approve_through):  # type: ignore[no-untyped-def]
    """(round, SALES's re-forecast draft) of next year from Q3: SALES's budget for next year
    is approved first, so the re-forecast starts from it; the tests then move the clock into
    that year."""
    from sqlalchemy import select

    from quire.runtime import clock
    from quire.runtime.approvals import engine
    from quire.runtime.budgeting import service
    from quire.runtime.extensions import db
    from quire.runtime.models import FormTemplate, Submission
    from quire.runtime.org import department_by_code

    salesmgr = user("salesmgr")
    budget = db.session.scalar(
        select(Submission)
        .join(FormTemplate, FormTemplate.id == Submission.template_id)
        .where(
            FormTemplate.key == "department-budget",
            Submission.department_id == department_by_code("SALES").id,
            Submission.period == datetime(year, 1, 1).date(),
        )
    )
    engine.submit(salesmgr, budget.id, budget.version)
    db.session.commit()
    assert approve_through(budget).status.value == "approved"
    now = clock.now()
    request = service.parse_request(
        {
            "fiscal_year": str(year),
            "kind": "reforecast",
            "from_quarter": "3",
            "department": "SALES",
            "deadline": (clock.today() + timedelta(days=10)).isoformat(),
        },
        clock.today(),
    )
    round = service.open_round(user("finadmin"), request, now=now)
    entry = next(e for e in round.entries if e.department.code == "SALES")
    draft = service.start(salesmgr, entry, now=now)
    db.session.commit()
    assert draft.data["lines"] and draft.data["lines"][1]["q2"] != "0.00"
    return round, draft


def test_the_closed_quarters_follow_the_round_and_the_clock(reforecast, year):  # type: ignore[no-untyped-def]
    from quire.runtime.budgeting.lines import closed_quarters

    round, _draft = reforecast
    assert set(closed_quarters(round, _at(year, 8, 10).date())) == {"q1", "q2"}
    assert closed_quarters(round, _at(year, 8, 10).date())["q1"] == (
        "Q1 lies before this re-forecast (from Q3)"
    )
    # Once Q3 has ended, it is closed as well; Q4 stays open to the year's end.
    closed = closed_quarters(round, _at(year, 10, 1).date())
    assert set(closed) == {"q1", "q2", "q3"}
    assert closed["q3"] == f"Q3 {year} is already past"
    assert "q4" not in closed_quarters(round, _at(year, 12, 31).date())


def test_the_form_editor_refuses_a_change_to_a_closed_quarter_naming_line_and_quarter(
    reforecast, user, year
):  # type: ignore[no-untyped-def]
    from quire.runtime import clock
    from quire.runtime.errors import Invalid
    from quire.runtime.extensions import db
    from quire.runtime.forms import service as forms_service

    august = _at(year, 8, 10)
    _round, draft = reforecast
    salesmgr = user("salesmgr")
    lines = [dict(line) for line in draft.data["lines"]]
    before = dict(lines[1])
    with clock.moved_to(august):
        changed = [*lines[:1], {**lines[1], "q2": "1.00"}, *lines[2:]]
        with pytest.raises(Invalid) as refused:
            forms_service.update(salesmgr, draft.id, {"lines": changed}, draft.version)
        db.session.rollback()
        assert refused.value.message == "These quarters are closed in this re-forecast."
        [detail] = refused.value.details
        assert detail.path == "lines[1].q2"
        assert (
            detail.message
            == f"line 2 ({before['account']}): Q2 lies before this re-forecast (from Q3)"
        )
        # Q3 and Q4 are the re-forecast's: they change.
        changed = [*lines[:1], {**lines[1], "q3": "4321.00"}, *lines[2:]]
        forms_service.update(salesmgr, draft.id, {"lines": changed}, draft.version)
        db.session.commit()
    assert draft.data["lines"][1]["q3"] == "4321.00"
    assert draft.data["lines"][1]["q2"] == before["q2"]

    # In October Q3 has passed: it is closed too.
    with clock.moved_to(_at(year, 10, 2)):
        lines = [dict(line) for line in draft.data["lines"]]
        lines[0]["q3"] = "7.00"
        with pytest.raises(Invalid) as refused:
            forms_service.update(salesmgr, draft.id, {"lines": lines}, draft.version)
        db.session.rollback()
        assert [d.path for d in refused.value.details] == ["lines[0].q3"]
        assert refused.value.details[0].message.endswith(f"Q3 {year} is already past")


def test_the_line_editor_shows_closed_quarters_read_only_and_the_server_refuses_them(
    reforecast, signed_in, year
):  # type: ignore[no-untyped-def]
    import re

    from quire.runtime import clock
    from quire.runtime.extensions import db

    august = _at(year, 8, 10)
    round, draft = reforecast
    url = f"/budget/rounds/{round.id}/departments/SALES"
    with clock.moved_to(august):
        salesmgr = signed_in("salesmgr")
        page = salesmgr.get(url).text
        assert 'data-testid="closed-quarters"' in page
        assert 'data-testid="line-1-q1"' not in page and 'data-testid="line-1-q2"' not in page
        assert 'data-testid="line-1-q3"' in page and 'data-testid="line-1-q4"' in page
        base = re.search(r'id="line-1".*?name="base" value="([0-9a-f]+)"', page, re.S).group(1)
        q1 = draft.data["lines"][0]["q1"]
        refused = salesmgr.post_form(f"{url}/lines/1", {"base": base, "q1": "9.99"}, page=url)
        assert refused.status_code == 422
        assert "这些季度在本次滚动预测中已锁定。" in refused.text
        assert "lines[0].q1" in refused.text and "Q1 lies before this re-forecast" in refused.text
        db.session.expire_all()
        assert draft.data["lines"][0]["q1"] == q1
        saved = salesmgr.post_form(f"{url}/lines/1", {"base": base, "q4": "12.50"}, page=url)
        assert saved.status_code == 302
        db.session.expire_all()
        assert draft.data["lines"][0]["q4"] == "12.50"


def test_an_annual_round_closes_no_quarter(open_round):  # type: ignore[no-untyped-def]
    from quire.runtime import clock
    from quire.runtime.budgeting.lines import closed_quarters

    assert closed_quarters(open_round(), clock.today()) == {}
