"""The designer page in a test client: every pane renders from the draft, changes go through
the same operations as the API, conflicts show the latest state, the diff reads as sentences."""

from __future__ import annotations

import json
import re

from quire.designer.diff import describe_changes
from quire.report_templates import builtin_templates


def _version(html: str) -> str:
    match = re.search(r'id="dv" name="version" value="(\d+)"', html)
    assert match, "no draft version on the page"
    return match.group(1)


def _op(browser, key: str, version: str, op: dict, **form):  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_from

    page = browser.get(f"/designer/templates/{key}/design").text
    return browser.client.post(
        f"/designer/templates/{key}/design/ops",
        data={"csrf_token": csrf_from(page), "version": version, "op": json.dumps(op), **form},
    )


def test_the_designer_shows_palette_canvas_properties_and_every_tab(signed_in):
    finadmin = signed_in("finadmin")
    page = finadmin.get("/designer/templates/expense-claim/design?sel=field:bank_account")
    assert page.status_code == 200
    html = page.text
    for part in (
        'data-testid="palette-money"',
        'data-testid="cell-bank_account"',
        'data-testid="column-lines.amount"',
        'id="p-label-en"',
        'data-testid="role-matrix"',
        'data-testid="step-matrix"',
        'class="route-tree"',
        'data-testid="json-editor"',
    ):
        assert part in html, part
    assert "<script>" not in html and 'style="' not in html  # strict CSP: no inline code


def test_staff_cannot_open_the_designer(signed_in):
    assert signed_in("sales1").get("/designer/templates/expense-claim/design").status_code == 403


def test_a_change_from_the_page_is_an_operation_and_a_stale_one_shows_the_latest(signed_in):
    finadmin = signed_in("finadmin")
    html = finadmin.get("/designer/templates/expense-claim/design").text
    version = _version(html)
    response = _op(
        finadmin,
        "expense-claim",
        version,
        {"op": "set_approval", "name": "auto_approve_when", "value_kind": "text"},
        value="total < 5000 AND within_budget",
    )
    assert response.status_code == 200
    assert "total &lt; 5000 AND within_budget" in response.text
    assert _version(response.text) != version
    stale = _op(finadmin, "expense-claim", version, {"op": "remove_step", "key": "cfo"})
    assert "Someone else changed this draft" in stale.text or "其他人" in stale.text
    assert 'data-testid="step-cfo"' in stale.text


def test_a_new_form_from_scratch_and_from_a_copy(signed_in):
    from tests.conftest import csrf_from

    finadmin = signed_in("finadmin")
    token = csrf_from(finadmin.get("/designer/templates/new").text)
    made = finadmin.client.post(
        "/designer/templates/new",
        data={
            "csrf_token": token,
            "key": "travel-request",
            "title_zh": "出差申请",
            "title_en": "Travel request",
            "copy_of": "",
        },
    )
    assert made.status_code == 302 and made.headers["Location"].endswith(
        "/designer/templates/travel-request/design"
    )
    copied = finadmin.client.post(
        "/designer/templates/new",
        data={
            "csrf_token": token,
            "key": "my-claim",
            "title_zh": "我的报销",
            "title_en": "My claim",
            "copy_of": "expense-claim",
        },
    )
    assert copied.status_code == 302
    page = finadmin.get("/designer/templates/my-claim/design").text
    assert 'data-testid="cell-bank_account"' in page


def test_simulator_and_preview_on_the_page(signed_in):
    from tests.conftest import csrf_from

    finadmin = signed_in("finadmin")
    token = csrf_from(finadmin.get("/designer/templates/expense-claim/design").text)
    result = finadmin.client.post(
        "/designer/templates/expense-claim/design/simulate",
        data={
            "csrf_token": token,
            "submitter": "sales1",
            "data-department": "SALES",
            "data-total": "25000",
        },
    ).text
    assert 'data-step="cfo" data-status="skipped"' in result
    assert "100,000" in result and "SUM(" not in result
    preview = finadmin.client.post(
        "/designer/templates/expense-claim/design/preview",
        data={"csrf_token": token, "viewer": "salesmgr", "submitter": "sales1", "step": "manager"},
    ).text
    assert "6222 **** **** 1234" in preview  # the bank account is masked for the manager
    assert "“部门经理审批”" in preview and "“manager”" not in preview  # the step by its name
    own = finadmin.client.post(
        "/designer/templates/expense-claim/design/preview",
        data={"csrf_token": token, "viewer": "sales1", "submitter": "sales1", "step": "draft"},
    ).text
    assert 'name="bank_account"' in own  # the submitter edits it in the draft


def test_the_diff_reads_field_by_field_and_rule_by_rule():
    old = builtin_templates()["expense-claim"]
    new = json.loads(json.dumps(old))
    new["approval"]["auto_approve_when"] = "total < 5000 AND within_budget"
    new["permissions"].insert(
        1, {"field": "bank_account", "roles": ["finance_reviewer"], "access": "masked"}
    )
    new["approval"]["steps"][2]["when"] = "total >= 200000 OR NOT within_budget"
    lines = describe_changes(old, new, "en")
    assert "auto-approve limit 10,000 → 5,000" in lines
    assert "field bank_account: finance_reviewer read → masked" in lines
    assert "step CFO approval condition limit 100,000 → 200,000" in lines
    zh = describe_changes(old, new, "zh_CN")
    assert "自动通过限额 10,000 → 5,000" in zh


def test_the_submission_page_says_why_a_step_will_be_skipped_in_words(api, signed_in):
    sales1 = api("sales1")
    claim = sales1.post(
        "/api/v1/forms/expense-claim/submissions",
        json={
            "data": {
                "payee_name": "甲",
                "bank_account": "6222021234561234",
                "lines": [
                    {
                        "date": "2026-01-05",
                        "category": "travel",
                        "description": "x",
                        "amount": "25000",
                    }
                ],
            }
        },
    ).json
    sales1.post(f"/api/v1/submissions/{claim['id']}/submit", json={"version": claim["version"]})
    page = signed_in("sales1").get(f"/submissions/{claim['id']}").text
    assert 'class="route-tree"' in page and 'data-step="cfo" data-status="will_skip"' in page
    assert "低于 100,000" in page and "OR NOT within_budget" not in page


def test_the_route_diagram_names_who_decides_by_role_name(signed_in):
    html = signed_in("finadmin").get("/designer/templates/expense-claim/design?tab=route").text
    tree = html[html.index('class="route-tree"') :]
    finance = tree[tree.index('data-step="finance"') :]
    detail = finance[: finance.index("</span>")]
    assert "全公司的财务审核" in detail and "finance_reviewer" not in detail
