"""An integrator's inbox lists the budgets a manager is asked to fill in."""

from __future__ import annotations


def test_the_api_inbox_lists_the_budget_a_manager_is_asked_to_fill_in(open_round, api, year):
    round = open_round()
    budgets = api("salesmgr").get("/api/v1/inbox").json["also_waiting"]["budgets"]
    sales = [b for b in budgets if b["round_id"] == round.id]
    # Prefilled from this year's budget, so already a draft.
    assert [(b["department"], b["fiscal_year"], b["status"]) for b in sales] == [
        ("SALES", year, "draft")
    ]
    assert sales[0]["submission_id"] is not None
    assert sales[0]["url"] == f"/budget/rounds/{round.id}/departments/SALES"
    assert not [
        b
        for b in api("sales1").get("/api/v1/inbox").json["also_waiting"]["budgets"]
        if b["round_id"] == round.id
    ]
