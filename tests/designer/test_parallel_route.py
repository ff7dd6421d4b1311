"""Steps in parallel in a template (并行分支): the format, its validation with JSON paths, the
simulator, and the designer's operations on groups and branches."""

from __future__ import annotations

import copy
from typing import Any

from quire.designer.validate import validate_template


def _in_parallel(doc: dict[str, Any]) -> dict[str, Any]:
    """The expense claim with the manager and finance in parallel (finance only from 5,000),
    then the CFO."""
    manager, finance, cfo = doc["approval"]["steps"]
    doc["approval"]["steps"] = [
        {
            "kind": "parallel",
            "key": "reviews",
            "name": {"zh": "会审", "en": "Reviews"},
            "branches": [
                {"steps": [manager]},
                {
                    "name": {"zh": "财务线", "en": "Finance line"},
                    "when": "total >= 5000",
                    "steps": [finance],
                },
            ],
        },
        cfo,
    ]
    return doc


def test_a_plain_list_of_steps_is_still_a_route(expense_claim):
    assert validate_template(expense_claim) == []
    assert validate_template(_in_parallel(expense_claim)) == []


def test_mistakes_inside_a_branch_carry_their_json_path(expense_claim):
    doc = _in_parallel(expense_claim)
    group = doc["approval"]["steps"][0]
    group["branches"][0]["steps"][0]["when"] = "totl > 3"
    group["branches"][1]["when"] = "totl > 3"
    group["branches"][1]["steps"][0]["key"] = "cfo"
    group["branches"][0]["steps"][0]["mode"] = "sometimes"

    assert sorted(map(str, validate_template(doc))) == sorted(
        [
            "approval.steps[0].branches[0].steps[0].mode: must be one of: any, all, n_of_m",
            'approval.steps[0].branches[0].steps[0].when: unknown field "totl"'
            ' (did you mean "total"?)',
            'approval.steps[0].branches[1].when: unknown field "totl" (did you mean "total"?)',
            'approval.steps[1].key: duplicate step key "cfo"',
        ]
    )


def test_a_group_needs_two_branches_and_a_branch_a_step(expense_claim):
    doc = _in_parallel(expense_claim)
    group = doc["approval"]["steps"][0]
    lonely = copy.deepcopy(doc)
    lonely["approval"]["steps"][0]["branches"] = group["branches"][:1]
    assert [str(i) for i in validate_template(lonely)] == [
        "approval.steps[0].branches: must have at least 2 item(s)"
    ]
    group["branches"][1]["steps"] = []
    assert [str(i) for i in validate_template(doc)] == [
        "approval.steps[0].branches[1].steps: must have at least 1 item(s)"
    ]


def test_a_group_key_shares_the_step_keys_namespace(expense_claim):
    doc = _in_parallel(expense_claim)
    doc["approval"]["steps"][1]["key"] = "reviews"
    assert [str(i) for i in validate_template(doc)] == [
        'approval.steps[1].key: duplicate step key "reviews"'
    ]


def _publish_in_parallel(api) -> None:  # type: ignore[no-untyped-def]
    finadmin = api("finadmin")
    doc = _in_parallel(finadmin.get("/api/v1/templates/expense-claim").json)
    saved = finadmin.post("/api/v1/templates", json=doc)
    assert saved.status_code in (200, 201), saved.json


def test_simulate_lists_the_branch_steps_with_their_statuses(api):
    _publish_in_parallel(api)
    finadmin = api("finadmin")
    sample = {"data": {"total": 25000, "department": "SALES"}, "submitter": "sales1"}
    result = finadmin.post(
        "/api/v1/templates/expense-claim/simulate", json=sample, headers={"Accept-Language": "en"}
    )
    assert result.status_code == 200, result.json
    steps = result.json["steps"]
    assert [(s["key"], s["status"], s["group"], s["branch"]) for s in steps] == [
        ("manager", "will_run", "reviews", 0),
        ("finance", "will_run", "reviews", 1),
        ("cfo", "skipped", None, None),
    ]
    assert steps[0]["assignees"] == ["salesmgr"] and steps[1]["assignees"] == ["finrev"]
    assert {"key", "name", "status", "assignees", "reason"} <= set(steps[0])

    small = finadmin.post(
        "/api/v1/templates/expense-claim/simulate",
        json={**sample, "data": {"total": 2000, "department": "SALES", "within_budget": False}},
        headers={"Accept-Language": "en"},
    ).json["steps"]
    finance = next(s for s in small if s["key"] == "finance")
    assert finance["status"] == "skipped"
    assert finance["reason"].startswith("skipped with its branch: ")
    assert "5,000" in finance["reason"]


def test_the_designer_simulator_draws_the_branches_side_by_side(api, signed_in):
    _publish_in_parallel(api)
    browser = signed_in("finadmin")
    page = browser.post_form(
        "/designer/templates/expense-claim/design/simulate",
        {"submitter": "sales1", "data-total": "25000", "data-department": "SALES"},
        page="/designer/templates/expense-claim/design",
    )
    assert page.status_code == 200
    assert 'class="rt-parallel"' in page.text
    assert page.text.index('data-step="manager"') < page.text.index('data-step="finance"')
