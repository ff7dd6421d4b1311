"""The round's pages: opening from the web form, consolidation, returns with line comments,
the Excel copy, the inbox task, and who may see what."""

from __future__ import annotations

import io
import re
from datetime import timedelta


def _open_on_the_web(signed_in, year, now):  # type: ignore[no-untyped-def]
    finadmin = signed_in("finadmin")
    response = finadmin.post_form(
        "/budget/rounds",
        {
            "fiscal_year": str(year),
            "kind": "annual",
            "department": "HQ",
            "deadline": (now.date() + timedelta(days=10)).isoformat(),
            "remind_days": "3",
            "instructions": "Keep travel flat",
            "reference": ["last_budget", "actuals"],
        },
        page="/budget/rounds",
    )
    assert response.status_code == 302, response.text[:400]
    round_id = int(re.search(r"/budget/rounds/(\d+)", response.headers["Location"]).group(1))
    return finadmin, round_id


def test_finadmin_opens_a_round_and_sees_every_department(signed_in, year, now):  # type: ignore[no-untyped-def]
    finadmin, round_id = _open_on_the_web(signed_in, year, now)
    page = finadmin.get(f"/budget/rounds/{round_id}").text
    for code in ("HQ", "FIN", "SALES", "SALES-E", "RD", "HR"):
        assert f'data-testid="row-{code}"' in page
    assert 'data-testid="close-round"' in page
    assert "Keep travel flat" in page


def test_the_manager_finds_the_task_in_the_inbox(signed_in, year, now):  # type: ignore[no-untyped-def]
    _open_on_the_web(signed_in, year, now)
    salesmgr = signed_in("salesmgr")
    inbox = salesmgr.get("/inbox").text
    assert 'data-testid="budget-task"' in inbox
    assert "/departments/SALES" in inbox


def test_return_with_a_line_comment_shows_the_feedback_to_the_department(signed_in, year, now):  # type: ignore[no-untyped-def]
    finadmin, round_id = _open_on_the_web(signed_in, year, now)
    url = f"/budget/rounds/{round_id}/departments/RD"
    page = finadmin.get(url).text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    response = finadmin.post_form(
        f"{url}/return",
        {"version": version, "comment": "Too high", "line_2": "Meals: back to last year"},
        page=url,
    )
    assert response.status_code == 302
    rdmgr = signed_in("rdmgr")
    seen = rdmgr.get(url).text
    assert "Meals: back to last year" in seen and 'data-testid="fill-in"' in seen


def test_others_cannot_return_or_close(signed_in, year, now):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.models import BudgetRound

    _finadmin, round_id = _open_on_the_web(signed_in, year, now)
    rdmgr = signed_in("rdmgr")
    url = f"/budget/rounds/{round_id}/departments/RD"
    response = rdmgr.post_form(
        f"{url}/return", {"version": "1", "comment": "x", "line_1": "y"}, page=url
    )
    assert response.status_code == 302
    assert 'data-testid="entry-status">审批中<' in rdmgr.get(url).text  # still in review
    salesmgr = signed_in("salesmgr")
    assert salesmgr.get(f"/budget/rounds/{round_id}/departments/RD").status_code == 404
    response = salesmgr.post_form(
        f"/budget/rounds/{round_id}/close", {}, page=f"/budget/rounds/{round_id}"
    )
    db.session.expire_all()
    assert db.session.get(BudgetRound, round_id).is_open


def test_the_excel_copy_has_the_consolidated_sheet_and_one_per_department(signed_in, year, now):  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    finadmin, round_id = _open_on_the_web(signed_in, year, now)
    response = finadmin.get(f"/budget/rounds/{round_id}/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["汇总", "HQ", "FIN", "HR", "RD", "SALES", "SALES-E"]
    sales = [row for row in book["SALES"].iter_rows(values_only=True)]
    assert sales[2][0] == "科目" and len(sales) >= 5
