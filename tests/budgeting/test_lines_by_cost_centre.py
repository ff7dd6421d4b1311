"""Several people fill SALES's budget, each the lines of their own cost centre; the manager
sees every line and submits. Saves of different lines both land; the same line changed by
two people is refused with who changed it."""

from __future__ import annotations

import re

import pytest

ENGLISH = {"Accept-Language": "en"}


def _entry(round, code):  # type: ignore[no-untyped-def]
    return next(e for e in round.entries if e.department.code == code)


@pytest.fixture
def sales_budget(open_round, user):  # type: ignore[no-untyped-def]
    """Next year's round; SALES's draft has its first line for CC-201 (sales1's cost centre),
    its second for CC-202 (sales2's), the rest the department's own."""
    from quire.runtime.extensions import db
    from quire.runtime.forms import service as forms_service

    round = open_round()
    entry = _entry(round, "SALES")
    draft = entry.submission
    assert draft is not None and draft.submitter.username == "salesmgr"
    assert (user("sales1").cost_center, user("sales2").cost_center) == ("CC-201", "CC-202")
    lines = [dict(line) for line in draft.data["lines"]]
    assert len(lines) >= 3
    lines[0]["cost_center"], lines[1]["cost_center"] = "CC-201", "CC-202"
    forms_service.update(user("salesmgr"), draft.id, {"lines": lines}, draft.version)
    db.session.commit()
    return round, entry


def _base(page: str, number: int) -> str:
    found = re.search(rf'id="line-{number}".*?name="base" value="([0-9a-f]+)"', page, re.S)
    assert found, f"line {number} is not editable on this page"
    return found.group(1)


def _lines(entry):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db

    db.session.expire_all()
    return entry.submission.data["lines"]


def test_each_person_may_change_only_their_own_cost_centres_lines(sales_budget, user):  # type: ignore[no-untyped-def]
    from quire.runtime import access

    _round, entry = sales_budget
    lines = entry.submission.data["lines"]
    sales1, sales2, salesmgr = user("sales1"), user("sales2"), user("salesmgr")
    assert access.may_edit_budget_line(sales1, entry, lines[0])
    assert not access.may_edit_budget_line(sales1, entry, lines[1])
    assert not access.may_edit_budget_line(sales1, entry, lines[2])  # the department's own
    assert access.may_edit_budget_line(sales2, entry, lines[1])
    assert all(access.may_edit_budget_line(salesmgr, entry, line) for line in lines)
    # sales3 works in SALES-E, rd1 in RD: not SALES's people.
    assert not access.may_edit_budget_line(user("sales3"), entry, lines[0])
    assert access.budget_line_refusal(user("rd1"), entry, lines[0]) == (
        "Only the people of the department fill in its budget."
    )


def test_two_people_saving_different_lines_both_land(sales_budget, signed_in):  # type: ignore[no-untyped-def]
    round, entry = sales_budget
    url = f"/budget/rounds/{round.id}/departments/SALES"
    sales1, sales2 = signed_in("sales1"), signed_in("sales2")
    # Both open the page before either saves.
    page1, page2 = sales1.get(url).text, sales2.get(url).text
    assert 'data-testid="read-only-2"' in page1 and 'data-testid="read-only-1"' in page2
    assert 'data-testid="line-1-q1"' in page1 and 'data-testid="line-2-q1"' not in page1

    first = sales1.post_form(
        f"{url}/lines/1",
        {"base": _base(page1, 1), "q1": "111.00", "q2": "0", "q3": "0", "q4": "0"},
        page=url,
    )
    second = sales2.post_form(
        f"{url}/lines/2",
        {"base": _base(page2, 2), "q1": "222.00", "q2": "0", "q3": "0", "q4": "0"},
        page=url,
    )
    assert (first.status_code, second.status_code) == (302, 302)
    lines = _lines(entry)
    assert (lines[0]["q1"], lines[0]["cost_center"]) == ("111.00", "CC-201")
    assert (lines[1]["q1"], lines[1]["cost_center"]) == ("222.00", "CC-202")
    assert lines[0]["annual"] == "111.00"
    assert entry.submission.submitter.username == "salesmgr"


def test_a_line_of_someone_elses_cost_centre_is_refused_with_a_sentence(sales_budget, signed_in):  # type: ignore[no-untyped-def]
    round, entry = sales_budget
    url = f"/budget/rounds/{round.id}/departments/SALES"
    before = [dict(line) for line in _lines(entry)]
    salesmgr_page = signed_in("salesmgr").get(url).text
    sales1 = signed_in("sales1")
    refused = sales1.post_form(
        f"{url}/lines/2", {"base": _base(salesmgr_page, 2), "q1": "999.00"}, page=url
    )
    assert refused.status_code == 403
    assert "您只能修改本人成本中心的明细行。" in refused.text
    assert "cost centre CC-202" in refused.text
    in_english = sales1.post_form(
        f"{url}/lines/2",
        {"base": _base(salesmgr_page, 2), "q1": "999.00"},
        page=url,
        headers=ENGLISH,
    )
    assert in_english.status_code == 403
    assert "You may change only the lines of your own cost centre." in in_english.text
    assert _lines(entry) == before


def test_the_same_line_changed_by_two_people_is_a_conflict_naming_who(sales_budget, signed_in):  # type: ignore[no-untyped-def]
    round, entry = sales_budget
    url = f"/budget/rounds/{round.id}/departments/SALES"
    salesmgr, sales1 = signed_in("salesmgr"), signed_in("sales1")
    stale = _base(salesmgr.get(url).text, 1)
    saved = sales1.post_form(
        f"{url}/lines/1", {"base": _base(sales1.get(url).text, 1), "q3": "333.00"}, page=url
    )
    assert saved.status_code == 302
    conflict = salesmgr.post_form(
        f"{url}/lines/1", {"base": stale, "q3": "1.00"}, page=url, headers=ENGLISH
    )
    assert conflict.status_code == 409
    assert "Someone else changed this line after you opened it" in conflict.text
    assert "changed by sales1" in conflict.text
    assert _lines(entry)[0]["q3"] == "333.00"


def test_a_person_adds_a_line_for_their_cost_centre_and_the_manager_submits(
    sales_budget, signed_in, user
):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    round, entry = sales_budget
    url = f"/budget/rounds/{round.id}/departments/SALES"
    added = signed_in("sales2").post_form(
        f"{url}/lines",
        {"account": "training", "cost_center": "CC-201", "q1": "50", "q2": "50"},
        page=url,
    )
    assert added.status_code == 302
    new = _lines(entry)[-1]
    # The line is sales2's cost centre's, whatever the form said.
    assert (new["account"], new["cost_center"], new["annual"]) == ("training", "CC-202", "100.00")

    submission = entry.submission
    engine.submit(user("salesmgr"), submission.id, submission.version)
    db.session.commit()
    assert submission.status.value == "in_review"
    # Once it is in review, nobody of the department changes a line.
    page = signed_in("sales1").get(url).text
    assert 'data-testid="line-editor"' not in page
    late = signed_in("sales1").post_form(f"{url}/lines/1", {"base": "x", "q1": "1"}, page=url)
    assert late.status_code == 403


def test_two_saves_of_different_lines_at_the_same_moment_both_land(sales_budget, signed_in):  # type: ignore[no-untyped-def]
    """Each person saves in their own request, thread and connection, at once: the save that
    meets the other's write is merged again onto the budget that write left."""
    import threading

    from tests.conftest import csrf_from

    round, entry = sales_budget
    url = f"/budget/rounds/{round.id}/departments/SALES"
    people = {"sales1": (signed_in("sales1"), 1, "q4"), "sales2": (signed_in("sales2"), 2, "q4")}
    ready = {}
    for name, (browser, number, _q) in people.items():
        page = browser.get(url).text
        ready[name] = (csrf_from(page), _base(page, number))
    barrier = threading.Barrier(len(people))
    outcomes: dict[str, int] = {}

    def save(name: str) -> None:
        browser, number, quarter = people[name]
        token, base = ready[name]
        barrier.wait()
        response = browser.client.post(
            f"{url}/lines/{number}",
            data={"csrf_token": token, "base": base, quarter: f"{number}00.00"},
        )
        outcomes[name] = response.status_code

    threads = [threading.Thread(target=save, args=(name,)) for name in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == {"sales1": 302, "sales2": 302}
    lines = _lines(entry)
    assert (lines[0]["q4"], lines[1]["q4"]) == ("100.00", "200.00")
