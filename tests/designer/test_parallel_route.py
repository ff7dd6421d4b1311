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


def _draft(client):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/templates/expense-claim/draft").json


def _ops(client, version, *ops):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/templates/expense-claim/draft/ops", json={"version": version, "ops": list(ops)}
    )


def test_the_designer_adds_a_group_branches_and_steps_in_them_with_undo(api):
    finadmin = api("finadmin")
    start = _draft(finadmin)
    added = _ops(finadmin, start["version"], {"op": "add_group", "index": 1})
    assert added.status_code == 200, added.json
    group = added.json["document"]["approval"]["steps"][1]
    assert group["kind"] == "parallel" and len(group["branches"]) == 2
    key = group["key"]

    more = _ops(
        finadmin,
        added.json["version"],
        {"op": "add_branch", "group": key},
        {"op": "add_step", "group": key, "branch": 0},
        {"op": "set_branch", "group": key, "branch": 1, "name": "when", "value": "total >= 5000"},
        {"op": "set_branch", "group": key, "branch": 1, "name": "name.en", "value": "Finance"},
        {"op": "move_step", "key": "finance", "index": 0, "group": key, "branch": 2},
    )
    assert more.status_code == 200, more.json
    group = more.json["document"]["approval"]["steps"][1]
    assert [len(b["steps"]) for b in group["branches"]] == [2, 1, 2]
    assert group["branches"][1]["when"] == "total >= 5000"
    assert group["branches"][1]["name"] == {"zh": "Finance", "en": "Finance"}
    assert group["branches"][2]["steps"][0]["key"] == "finance"
    assert more.json["issues"] == []
    keys = [s["key"] for b in group["branches"] for s in b["steps"]]
    assert len(set(keys)) == len(keys) and "manager" not in keys

    undone = finadmin.post(
        "/api/v1/templates/expense-claim/draft/undo", json={"version": more.json["version"]}
    ).json
    assert [len(b["steps"]) for b in undone["document"]["approval"]["steps"][1]["branches"]] == [
        1,
        1,
    ]
    stale = _ops(finadmin, more.json["version"], {"op": "remove_group", "key": key})
    assert stale.status_code == 409


def test_a_branch_condition_is_checked_like_a_step_condition(api):
    finadmin = api("finadmin")
    added = _ops(finadmin, _draft(finadmin)["version"], {"op": "add_group"}).json
    key = added["document"]["approval"]["steps"][-1]["key"]
    typo = _ops(
        finadmin,
        added["version"],
        {"op": "set_branch", "group": key, "branch": 0, "name": "when", "value": "totl > 5"},
    ).json
    assert {"path": "approval.steps[3].branches[0].when", "message": 'unknown field "totl"'
            ' (did you mean "total"?)'} in typo["issues"]  # fmt: skip


def test_removing_one_of_two_branches_dissolves_the_group_and_keeps_its_condition(api):
    finadmin = api("finadmin")
    added = _ops(finadmin, _draft(finadmin)["version"], {"op": "add_group", "index": 0}).json
    group = added["document"]["approval"]["steps"][0]
    kept = group["branches"][1]["steps"][0]["key"]
    done = _ops(
        finadmin,
        added["version"],
        {
            "op": "set_branch",
            "group": group["key"],
            "branch": 1,
            "name": "when",
            "value": "total > 1",
        },
        {"op": "remove_branch", "group": group["key"], "branch": 0},
    )
    assert done.status_code == 200, done.json
    route = done.json["document"]["approval"]["steps"]
    assert (route[0]["key"], route[0]["when"]) == (kept, "total > 1")
    assert "kind" not in route[0]


def test_the_last_step_of_a_branch_cannot_be_removed_alone(api):
    finadmin = api("finadmin")
    added = _ops(finadmin, _draft(finadmin)["version"], {"op": "add_group"}).json
    only = added["document"]["approval"]["steps"][-1]["branches"][0]["steps"][0]["key"]
    refused = _ops(finadmin, added["version"], {"op": "remove_step", "key": only})
    assert refused.status_code == 422
    assert "remove the branch instead" in refused.json["error"]["details"][0]["message"]


def test_the_readable_diff_names_group_and_branch_changes(expense_claim):
    from quire.designer.diff import describe_changes

    before = copy.deepcopy(expense_claim)
    after = _in_parallel(expense_claim)
    lines = describe_changes(before, after, "en")
    assert "parallel group added: Reviews (2 branches)" in lines
    assert "step Finance review moved into parallel group Reviews, branch 2" in lines

    later = copy.deepcopy(after)
    later["approval"]["steps"][0]["branches"][1]["when"] = "total >= 8000"
    later["approval"]["steps"][0]["branches"].append(
        {
            "steps": [
                {
                    "key": "hr",
                    "name": {"zh": "人事", "en": "HR"},
                    "assignee": {"kind": "user", "username": "hr1"},
                }
            ]
        }  # fmt: skip
    )
    lines = describe_changes(after, later, "en")
    assert "parallel group Reviews: branch 3 added" in lines
    assert "parallel group Reviews, branch 2 condition limit 5,000 → 8,000" in lines
    assert "删除并行分支：会审" in describe_changes(after, before, "zh_CN")


def test_the_route_tab_edits_a_group_with_buttons_for_every_change(api, signed_in):
    finadmin = api("finadmin")
    added = _ops(finadmin, _draft(finadmin)["version"], {"op": "add_group", "index": 1}).json
    group = added["document"]["approval"]["steps"][1]
    key = group["key"]
    page = signed_in("finadmin").get("/designer/templates/expense-claim/design?tab=route").text

    assert f'data-testid="group-{key}"' in page
    assert f'data-testid="branch-{key}-0"' in page and f'data-testid="branch-{key}-1"' in page
    for button in (f"add-branch-{key}", f"branch-del-{key}-1", f"branch-add-step-{key}-0",
                   f"group-del-{key}", "add-group"):  # fmt: skip
        assert f'id="{button}"' in page, button
    assert f'id="b-{key}-1-when"' in page
    assert f'data-group="{key}" data-branch="1"' in page
    # the drawing beside the editor: the branches side by side
    assert 'class="rt-parallel"' in page


def test_a_step_moves_into_a_branch_and_back_by_keyboard_from_its_place_list(api, signed_in):
    import json
    import re

    from tests.conftest import csrf_from

    finadmin = api("finadmin")
    added = _ops(finadmin, _draft(finadmin)["version"], {"op": "add_group"}).json
    key = added["document"]["approval"]["steps"][-1]["key"]
    browser = signed_in("finadmin")
    page = browser.get("/designer/templates/expense-claim/design?tab=route").text
    assert 'id="s-finance-place"' in page

    def place(value: str, html: str):  # type: ignore[no-untyped-def]
        version = re.search(r'id="dv" name="version" value="(\d+)"', html).group(1)
        return browser.client.post(
            "/designer/templates/expense-claim/design/ops",
            data={
                "csrf_token": csrf_from(html),
                "version": version,
                "op": json.dumps({"op": "move_step", "key": "finance", "value_kind": "place"}),
                "value": value,
            },
        )

    moved = place(f"{key}:1", page)
    assert moved.status_code == 200
    group = _draft(finadmin)["document"]["approval"]["steps"][-1]
    assert group["branches"][1]["steps"][-1]["key"] == "finance"
    assert f'<option value="{key}:1" selected' in moved.text

    back = place("", moved.text)
    assert back.status_code == 200
    assert _draft(finadmin)["document"]["approval"]["steps"][-1]["key"] == "finance"
