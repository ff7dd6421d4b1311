"""Field permissions mean what they say: an approver whose step grants `edit` changes that
field at that step (the expense claim's finance step: `approved_amount` and a line's
category), through the API and the web page; validated like a submitter's change, recorded in
the history with old and new values, audited, and the rest of the route re-evaluated."""

from __future__ import annotations

from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, SubmissionStatus

from .conftest import NOW

S = SubmissionStatus


def at_finance(claim, submit, act, username: str = "sales1", *amounts, **kw):  # type: ignore[no-untyped-def]
    c = submit(claim(username, *(amounts or (25000,)), **kw))
    act("salesmgr" if username.startswith("sales") else "rdmgr", c, "approve")
    assert c.current_step == "finance"
    return c


def edit(user, c, data, username: str = "finrev"):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine

    engine.edit_at_step(user(username), c.id, data, version=c.version, now=NOW)
    db.session.commit()
    return c


def test_finrev_corrects_the_approved_amount_and_a_category_at_the_finance_step(
    claim, submit, act, user, history
):
    c = at_finance(claim, submit, act, "sales1", 20000, 5000)
    lines = [dict(row) for row in c.data["lines"]]
    lines[1]["category"] = "meals"
    edit(user, c, {"approved_amount": "24,000", "lines": lines})

    assert c.data["approved_amount"] == "24000.00"
    assert [row["category"] for row in c.data["lines"]] == ["travel", "meals"]
    assert c.data["total"] == "25000.00" and c.status == S.IN_REVIEW
    assert ("finance", "edit", "finrev") in history(c)
    event = [e for e in c_events(c) if e.action == "edit"][0]
    assert {(ch["path"], ch["old"], ch["new"]) for ch in event.details["changes"]} == {
        ("approved_amount", None, "24000.00"),
        ("lines[1].category", "travel", "meals"),
    }
    audited = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "submission.edit_at_step")
    )
    assert audited is not None and audited.actor_name == "finrev"

    act("finrev", c, "approve")  # changing at one's step does not bar deciding on it
    assert c.status == S.APPROVED


def c_events(c):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine

    return list(db.session.scalars(engine.history_query(c)))


def test_only_what_the_step_grants_changes_and_the_rest_is_refused_by_path(
    claim, submit, act, user
):
    import pytest

    from quire.runtime.errors import Forbidden, Invalid

    c = at_finance(claim, submit, act)
    lines = [dict(row) for row in c.data["lines"]]
    lines[0]["amount"] = "1.00"
    with pytest.raises(Forbidden) as refused:
        edit(user, c, {"lines": lines})
    assert [d.path for d in refused.value.details] == ["lines[0].amount"]
    db.session.rollback()
    with pytest.raises(Forbidden):
        edit(user, c, {"payee_name": "someone else"})
    db.session.rollback()
    with pytest.raises(Invalid) as invalid:
        edit(user, c, {"lines": [*c.data["lines"], {"category": "meals"}]})
    assert invalid.value.details[0].path == "lines"
    assert "cannot be added or removed" in invalid.value.details[0].message
    db.session.rollback()
    with pytest.raises(Invalid) as bad:
        edit(user, c, {"approved_amount": "abc", "lines": [{"category": "yachts"}]})
    assert {d.path for d in bad.value.details} == {"approved_amount", "lines[0].category"}
    db.session.rollback()
    assert "approved_amount" not in c.data or c.data["approved_amount"] is None


def test_the_manager_step_grants_no_edit_and_the_submitter_cannot_edit_in_review(
    claim, submit, act, user
):
    import pytest

    from quire.runtime.errors import Conflict, Forbidden
    from quire.runtime.forms import service

    c = submit(claim("sales1", 25000))
    with pytest.raises(Forbidden):
        edit(user, c, {"approved_amount": "1"}, username="salesmgr")
    db.session.rollback()
    with pytest.raises(Forbidden):  # finrev's step has not come yet
        edit(user, c, {"approved_amount": "1"}, username="finrev")
    db.session.rollback()
    with pytest.raises(Conflict):
        service.update(user("sales1"), c.id, {"payee_name": "x"}, c.version)


def test_a_category_changed_into_an_exhausted_budget_brings_in_the_cfo(
    claim, submit, act, user, holders, history
):
    """RD's training budget is past 90 %: moving a 30,000 line into it puts the claim over
    budget, so the CFO step, skipped before, now applies; the history says so."""
    c = at_finance(claim, submit, act, "rd1", 30000)
    assert c.data["lines"][0]["category"] == "travel"
    lines = [{**c.data["lines"][0], "category": "training"}]
    edit(user, c, {"lines": lines})

    event = [e for e in c_events(c) if e.action == "edit"][0]
    assert event.details["route"] == [{"step": "cfo", "before": False, "after": True}]
    assert "CFO" in event.details["en"] and "财务总监" in event.details["zh"]
    act("finrev", c, "approve")
    assert (c.current_step, holders(c)) == ("cfo", ["cfo"])
    assert ("cfo", "skip", None) not in history(c)


def test_approve_may_carry_the_data_the_step_may_edit(api, claim, submit, act):
    c = at_finance(claim, submit, act)
    response = api("finrev").post(
        f"/api/v1/submissions/{c.id}/actions",
        json={"action": "approve", "version": c.version, "data": {"approved_amount": 24500}},
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "approved"
    assert response.json["data"]["approved_amount"] == "24500.00"

    history = api("sales1").get(f"/api/v1/submissions/{c.id}/history").json["items"]
    edited = [h for h in history if h["action"] == "edit"][0]
    assert edited["actor"] == "finrev" and edited["step"] == "finance"
    assert edited["details"]["changes"][0]["new"] == "24500.00"


def test_patch_by_the_current_assignee_and_errors_in_the_contract_shape(api, claim, submit, act):
    c = at_finance(claim, submit, act)
    finrev = api("finrev")
    stale = finrev.patch(
        f"/api/v1/submissions/{c.id}", json={"data": {"approved_amount": "1"}, "version": 1}
    )
    assert stale.status_code == 409
    refused = finrev.patch(
        f"/api/v1/submissions/{c.id}",
        json={"data": {"bank_account": "6222 0000 0000 0000"}, "version": c.version},
    )
    assert refused.status_code == 403
    assert refused.json["error"]["details"][0]["path"] == "bank_account"
    ok = finrev.patch(
        f"/api/v1/submissions/{c.id}",
        json={"data": {"approved_amount": "23000"}, "version": c.version},
    )
    assert ok.status_code == 200, ok.json
    assert ok.json["data"]["approved_amount"] == "23000.00" and ok.json["status"] == "in_review"
    assert api("salesmgr").patch(
        f"/api/v1/submissions/{c.id}", json={"data": {"approved_amount": "1"}, "version": 99}
    ).status_code in (403, 409)


def test_finrev_corrects_on_the_web_page_and_everyone_reads_the_change(
    claim, submit, act, signed_in
):
    c = at_finance(claim, submit, act, "sales1", 20000, 5000)
    finrev = signed_in("finrev")
    page = finrev.get(f"/submissions/{c.id}").text
    assert 'id="step-edit-form"' in page
    assert 'name="approved_amount"' in page and 'name="lines-1-category"' in page
    assert 'name="lines-1-amount"' not in page and 'name="payee_name"' not in page

    saved = finrev.post_form(
        f"/submissions/{c.id}/edit-at-step",
        {
            "version": str(c.version),
            "approved_amount": "24,800.00",
            "lines-0-category": "travel",
            "lines-1-category": "office",
        },
        page=f"/submissions/{c.id}",
    )
    assert saved.status_code == 303, saved.text[:400]
    db.session.refresh(c)
    assert c.data["approved_amount"] == "24800.00"
    assert c.data["lines"][1]["category"] == "office"

    seen = signed_in("sales1").get(f"/submissions/{c.id}").text
    assert 'data-testid="step-edit-changes"' in seen
    assert "24,800.00" in seen and 'id="step-edit-form"' not in seen


def test_finrevs_approve_button_sends_the_corrections_and_the_comment_with_it(
    claim, submit, act, signed_in, history
):
    import re

    c = at_finance(claim, submit, act, "sales1", 20000, 5000)
    finrev = signed_in("finrev")
    page = finrev.get(f"/submissions/{c.id}").text
    # The decision's controls belong to the step-edit form: one 同意 carries the corrections.
    approve = re.search(rf"<button[^>]*data-testid=\"approve-{c.id}\"[^>]*>", page)
    assert approve and 'form="step-edit-form"' in approve.group(0)
    assert re.search(r'<input[^>]*name="comment"[^>]*form="step-edit-form"', page)
    assert "Save and approve" not in page and 'data-testid="save-and-approve"' not in page

    decided = finrev.post_form(
        f"/submissions/{c.id}/act",
        {
            "version": str(c.version),
            "approved_amount": "24,800.00",
            "lines-0-category": "travel",
            "lines-1-category": "travel",
            "comment": "核减差旅",
            "to": "submitter",
            "again": "1",
            "action": "approve",
        },
        page=f"/submissions/{c.id}",
    )
    assert decided.status_code == 303, decided.text[:400]
    db.session.refresh(c)
    assert c.data["approved_amount"] == "24800.00" and c.status == S.APPROVED
    assert [h[1] for h in history(c) if h[0] == "finance"] == ["edit", "approve"]


def test_the_history_masks_what_the_viewer_sees_masked():
    from quire.designer.validate import load_template
    from quire.report_templates import builtin_templates
    from quire.runtime.forms import values

    template = load_template(builtin_templates()["expense-claim"])
    changes = [
        {
            "path": "bank_account",
            "field": "bank_account",
            "column": None,
            "old": "6222 0200 1234 5678",
            "new": "6222 0200 8765 4321",
        },
        {"path": "payee_name", "field": "payee_name", "column": None, "old": "甲", "new": "乙"},
    ]
    masked = values.changes_for_viewer(template, changes, {"bank_account": "masked"})
    assert masked[0]["old"] == "6222 **** **** 5678" and masked[0]["new"] == "6222 **** **** 4321"
    assert masked[1]["new"] == "乙"
    assert values.changes_for_viewer(template, changes, {"payee_name": "hidden"})[1:] == []
    text = values.describe_changes(template, changes, {"bank_account": "masked"}, "en")
    assert text[0]["label"] == "Bank account" and "5678" in text[0]["old"]
    assert "1234" not in text[0]["old"]


def test_validation_refuses_edit_permissions_it_cannot_honour():
    import copy

    from quire.designer.validate import validate_template
    from quire.report_templates import builtin_templates

    doc = copy.deepcopy(builtin_templates()["expense-claim"])
    doc["approval"]["steps"][1]["permissions"].append({"field": "total", "access": "edit"})
    doc["approval"]["steps"][1]["permissions"].append({"field": "lines.amount", "access": "masked"})
    doc["permissions"].append(
        {"field": "payee_name", "roles": ["approver"], "steps": ["draft"], "access": "edit"}
    )
    problems = {issue.path: issue.message for issue in validate_template(doc)}
    assert "computed" in problems["approval.steps[1].permissions[2].access"]
    assert "table column" in problems["approval.steps[1].permissions[3].access"]
    assert "no approver" in problems[f"permissions[{len(doc['permissions']) - 1}].steps"]
    assert validate_template(builtin_templates()["expense-claim"]) == []
