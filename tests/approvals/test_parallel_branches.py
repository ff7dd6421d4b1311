"""Steps in parallel (并行分支): the branches of a group start together, each decides on its
own, and the route goes on only once every branch that runs is done."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import NOW, step

MANAGER = step("manager", {"kind": "manager_of_submitter"})
FINANCE = step("finance", {"kind": "user", "username": "finrev"})
HR = step("hr", {"kind": "user", "username": "hr1"})
CFO = step("cfo", {"kind": "role", "role": "cfo"})


def group(*branches: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "parallel",
        "key": "reviews",
        "name": {"zh": "会审", "en": "Reviews"},
        "branches": list(branches),
    }


def branch(*steps: dict[str, Any], when: str | None = None) -> dict[str, Any]:
    return {"steps": list(steps), **({"when": when} if when else {})}


@pytest.fixture
def send_back(user):  # type: ignore[no-untyped-def]
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def run(username: str, submission, to: str, again: bool = True):  # type: ignore[no-untyped-def]
        engine.act(
            user(username),
            submission.id,
            "return",
            version=submission.version,
            comment="Please check the quote",
            step=to,
            again=again,
            now=NOW,
        )
        db.session.commit()

    return run


def _inbox(api_client) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    body = api_client.get("/api/v1/inbox", query_string={"per_page": 200}).json
    return [(i["submission_id"], i["step"]) for i in body["items"]]


def test_both_branches_start_at_once_and_the_cfo_waits_for_both(
    route, capex, submit, act, holders, api
):
    from quire.runtime.models import SubmissionStatus as S

    route(group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))

    assert holders(c) == ["salesmgr", "finrev"]
    assert (c.id, "manager") in _inbox(api("salesmgr"))
    assert (c.id, "finance") in _inbox(api("finrev"))

    act("finrev", c, "approve")
    assert (c.status, holders(c)) == (S.IN_REVIEW, ["salesmgr"])
    assert c.current_step == "manager"
    act("salesmgr", c, "approve")
    assert (c.current_step, holders(c)) == ("cfo", ["cfo"])
    act("cfo", c, "approve")
    assert c.status == S.APPROVED


def test_a_branch_of_two_steps_goes_on_by_itself_while_the_other_waits(
    route, capex, submit, act, holders
):
    route(group(branch(MANAGER, HR), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))

    act("salesmgr", c, "approve")
    assert holders(c) == ["finrev", "hr1"]
    act("hr1", c, "approve")
    assert holders(c) == ["finrev"]
    act("finrev", c, "approve")
    assert holders(c) == ["cfo"]


def test_a_branch_whose_condition_is_false_is_skipped_with_the_reason_in_words(
    route, capex, submit, act, holders, history, user
):
    from quire.runtime.approvals import engine, reasons
    from quire.runtime.extensions import db

    route(group(branch(MANAGER), branch(FINANCE, HR, when="total >= 100000")), CFO)
    c = submit(capex("sales1", 50000))

    assert holders(c) == ["salesmgr"]
    assert [h for h in history(c) if h[1] == "skip"] == [
        ("finance", "skip", None),
        ("hr", "skip", None),
    ]
    template = engine.template_of(c)
    told = reasons.for_submission(c, template, "en")
    skip = next(e for e in db.session.scalars(engine.history_query(c)) if e.action == "skip")
    assert "100,000" in told.comment(skip)
    assert "total >=" not in told.comment(skip)
    act("salesmgr", c, "approve")
    assert holders(c) == ["cfo"]


def test_when_every_branch_is_skipped_the_route_goes_straight_on(route, capex, submit, holders):
    route(
        group(branch(MANAGER, when="total > 1000000"), branch(FINANCE, when="total > 1000000")),
        CFO,
    )
    c = submit(capex("sales1", 50000))
    assert (c.current_step, holders(c)) == ("cfo", ["cfo"])


def test_a_rejection_in_one_branch_rejects_the_form_and_ends_the_other_branch(
    route, capex, submit, act, holders
):
    from quire.runtime.models import SubmissionStatus as S

    route(group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    act("finrev", c, "reject", comment="No quote attached")

    assert c.status == S.REJECTED
    assert holders(c) == []


def test_returned_within_a_branch_the_other_branch_carries_on(
    route, capex, submit, act, holders, send_back
):
    route(group(branch(MANAGER, HR), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    act("salesmgr", c, "approve")
    send_back("hr1", c, "manager")

    assert holders(c) == ["finrev", "salesmgr"]
    act("salesmgr", c, "approve")
    act("hr1", c, "approve")
    assert holders(c) == ["finrev"]
    act("finrev", c, "approve")
    assert holders(c) == ["cfo"]


def test_a_step_in_another_branch_is_no_place_to_return_to(route, capex, submit, act, send_back):
    from quire.runtime.errors import Invalid

    route(group(branch(MANAGER), branch(FINANCE, HR)), CFO)
    c = submit(capex("sales1"))
    act("salesmgr", c, "approve")
    act("finrev", c, "approve")
    with pytest.raises(Invalid) as refused:
        send_back("hr1", c, "manager")
    assert refused.value.details[0].message == 'must be "submitter" or an earlier step: finance'


def test_returned_from_after_the_group_into_a_branch_only_that_branch_decides_again(
    route, capex, submit, act, holders, send_back
):
    from quire.runtime.models import SubmissionStatus as S

    route(group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    act("salesmgr", c, "approve")
    act("finrev", c, "approve")
    send_back("cfo", c, "finance")

    assert holders(c) == ["finrev"]
    act("finrev", c, "approve")
    assert holders(c) == ["cfo"]
    act("cfo", c, "approve")
    assert c.status == S.APPROVED


def test_returned_out_of_a_branch_the_whole_group_decides_again(
    route, capex, submit, act, holders, send_back
):
    before = step("check", {"kind": "user", "username": "rdmgr"})
    route(before, group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    act("rdmgr", c, "approve")
    act("salesmgr", c, "approve")
    send_back("finrev", c, "check", again=False)

    assert holders(c) == ["rdmgr"]
    act("rdmgr", c, "approve")
    assert holders(c) == ["salesmgr", "finrev"]


def test_the_history_and_the_submission_page_show_both_branches(
    route, capex, submit, act, api, signed_in
):
    route(group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    act("salesmgr", c, "approve", comment="ok")
    act("finrev", c, "approve", comment="fine")

    items = api("sales1").get(f"/api/v1/submissions/{c.id}/history").json["items"]
    assert [(i["step"], i["action"], i["actor"]) for i in items] == [
        (None, "submit", "sales1"),
        ("manager", "approve", "salesmgr"),
        ("finance", "approve", "finrev"),
    ]
    page = signed_in("sales1").get(f"/submissions/{c.id}").text
    assert 'data-step="manager" data-status="done"' in page
    assert 'data-step="finance" data-status="done"' in page
    assert 'data-step="cfo" data-status="current"' in page
    assert "rt-parallel" in page and "rt-branch-head" in page


def test_while_both_branches_wait_each_approver_sees_the_buttons(route, capex, submit, signed_in):
    route(group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    for who in ("salesmgr", "finrev"):
        page = signed_in(who).get(f"/submissions/{c.id}").text
        assert 'value="approve"' in page, who


def test_a_branch_step_past_its_due_time_decides_itself_and_the_other_branch_waits(
    route, capex, submit, holders, history
):
    from datetime import timedelta

    from quire.runtime.approvals import sweep
    from quire.runtime.models import SubmissionStatus as S

    quick = step("quick", {"kind": "user", "username": "hr1"}, due={"hours": 4})
    quick["on_timeout"] = "auto_approve"
    route(group(branch(MANAGER), branch(quick)), CFO)
    c = submit(capex("sales1"))
    sweep.run(now=NOW + timedelta(hours=5))

    assert (c.status, holders(c)) == (S.IN_REVIEW, ["salesmgr"])
    assert ("quick", "auto_approve", None) in history(c)


def test_a_signer_added_in_one_branch_holds_only_that_branch(
    route, capex, submit, act, holders, user
):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    route(group(branch(MANAGER), branch(FINANCE)), CFO)
    c = submit(capex("sales1"))
    engine.act(
        user("salesmgr"),
        c.id,
        "add_signer",
        version=c.version,
        comment="sales3 knows this supplier",
        to=["sales3"],
        position="after",
        now=NOW,
    )
    db.session.commit()
    act("salesmgr", c, "approve")
    assert holders(c) == ["finrev", "sales3"]
    act("finrev", c, "approve")
    assert holders(c) == ["sales3"]
    act("sales3", c, "approve")
    assert holders(c) == ["cfo"]


def test_one_person_in_two_branches_decides_once_and_that_decision_stands_for_both(
    route, capex, submit, act, holders, history
):
    owner = step("owner", {"kind": "user", "username": "salesmgr"})
    route(group(branch(MANAGER), branch(owner)), CFO)
    c = submit(capex("sales1"))
    assert holders(c) == ["salesmgr", "salesmgr"]

    act("salesmgr", c, "approve")
    assert holders(c) == ["cfo"]
    assert ("owner", "skip", None) in history(c)


def test_each_branch_s_approver_gets_their_own_step_s_permissions(
    org, claim, submit, act, user, history
):
    """The expense claim's finance step lets finrev edit the approved amount; with the
    manager in a parallel branch (and the manager's step current first), finrev still may."""
    from quire.report_templates import builtin_templates
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.forms import templates

    doc = builtin_templates()["expense-claim"]
    manager, finance, cfo = doc["approval"]["steps"]
    doc["approval"]["steps"] = [group(branch(manager), branch(finance)), cfo]
    templates.save_draft(None, doc)
    templates.publish(None, "expense-claim")
    db.session.commit()
    c = submit(claim("sales1", 20000))
    assert c.current_step == "manager"

    engine.edit_at_step(user("finrev"), c.id, {"approved_amount": "19000"}, version=c.version,
                        now=NOW)  # fmt: skip
    db.session.commit()
    assert c.data["approved_amount"] == "19000.00"
    assert ("finance", "edit", "finrev") in history(c)
