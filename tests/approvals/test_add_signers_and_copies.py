"""Add signers (加签) and copies (抄送): an approver asks more people to decide, before,
after or alongside them; people a submission is copied to can read it and are told."""

from __future__ import annotations

from typing import Any

import pytest

from quire.runtime.errors import Forbidden, Invalid
from quire.runtime.models import SubmissionStatus as S

from .conftest import NOW


@pytest.fixture
def add(user):  # type: ignore[no-untyped-def]
    """``add("salesmgr", claim, "after", "sales3")`` adds signers through the engine."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    def run(username: str, submission, position: str, to: Any, **extra: Any):  # type: ignore[no-untyped-def]
        engine.act(
            user(username),
            submission.id,
            "add_signer",
            version=submission.version,
            comment=extra.pop("comment", "Please check the hotel costs"),
            to=to,
            position=position,
            now=NOW,
            **extra,
        )
        db.session.commit()
        return submission

    return run


def test_a_signer_added_after_the_manager_decides_once_the_manager_approved(
    claim, submit, act, add, holders, history
):
    c = submit(claim("sales1", 25000))
    add("salesmgr", c, "after", "sales3")
    assert holders(c) == ["salesmgr"]  # sales3 waits for the manager

    act("salesmgr", c, "approve")
    assert (c.current_step, holders(c)) == ("manager", ["sales3"])

    act("sales3", c, "approve")
    assert c.current_step != "manager"
    assert ("manager", "add_signer", "salesmgr") in history(c)


def test_a_signer_added_before_the_manager_decides_first_then_the_manager(
    claim, submit, act, add, holders
):
    c = submit(claim("sales1", 25000))
    add("salesmgr", c, "before", ["sales3"])
    assert holders(c) == ["sales3"]
    with pytest.raises(Forbidden):
        act("salesmgr", c, "approve")  # not the manager's turn yet

    act("sales3", c, "approve")
    assert (c.current_step, holders(c)) == ("manager", ["salesmgr"])
    act("salesmgr", c, "approve")
    assert c.current_step != "manager"


def test_alongside_any_lets_either_decide_and_alongside_all_needs_both(
    claim, submit, act, add, holders
):
    either = submit(claim("sales1", 25000))
    add("salesmgr", either, "alongside", "sales3", mode="any")
    act("sales3", either, "approve")
    assert either.current_step != "manager" and "salesmgr" not in holders(either)

    both = submit(claim("sales1", 26000))
    add("salesmgr", both, "alongside", "sales3", mode="all")
    act("salesmgr", both, "approve")
    assert (both.current_step, holders(both)) == ("manager", ["sales3"])
    act("sales3", both, "approve")
    assert both.current_step != "manager"


def test_an_added_signer_who_rejects_rejects_the_claim(claim, submit, act, add, holders):
    c = submit(claim("sales1", 25000))
    add("salesmgr", c, "before", "sales3")
    act("sales3", c, "reject", comment="Not in the travel plan")
    assert (c.status, holders(c)) == (S.REJECTED, [])


def test_the_history_says_who_added_whom_and_why(claim, submit, add, user):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    c = submit(claim("sales1", 25000))
    add("salesmgr", c, "after", "sales3", comment="Second opinion on the hotel")
    event = [e for e in db.session.scalars(engine.history_query(c)) if e.action == "add_signer"][0]
    assert event.actor.username == "salesmgr"
    assert event.comment == "Second opinion on the hotel"
    assert event.details["to"] == ["sales3"]
    assert user("sales3").display_name in event.details["zh"]
    assert "after" in event.details["en"]


def test_adding_signers_needs_a_reason_a_position_and_people_who_may_decide(claim, submit, add):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Invalid) as no_reason:
        add("salesmgr", c, "after", "sales3", comment=None)
    assert no_reason.value.details[0].path == "comment"
    with pytest.raises(Invalid) as bad_position:
        add("salesmgr", c, "sideways", "sales3")
    assert bad_position.value.details[0].path == "position"
    with pytest.raises(Invalid) as submitter:
        add("salesmgr", c, "after", ["sales3", "sales1"])
    assert submitter.value.details[0].path == "to[1]"
    with pytest.raises(Invalid) as nobody:
        add("salesmgr", c, "after", "nobody")
    assert nobody.value.details[0].path == "to[0]"


def test_only_the_step_s_approver_adds_signers(claim, submit, add):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Forbidden):
        add("finrev", c, "after", "sales3")
    add("salesmgr", c, "alongside", "sales3", mode="all")
    with pytest.raises(Forbidden):
        add("sales3", c, "after", "finrev")  # an added signer decides, adds nobody


def test_a_copied_colleague_can_read_the_claim_and_is_told(claim, submit, act, user):
    from sqlalchemy import select

    from quire.runtime import access
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification, Submission

    c = submit(claim("sales1", 25000))
    hr1 = user("hr1")
    assert not access.may_read_submission(hr1, c)
    act("salesmgr", c, "copy", to="hr1", comment="FYI: training trip")

    assert access.may_read_submission(hr1, c)
    listed = db.session.scalars(select(Submission.id).where(access.submission_filter(hr1)))
    assert c.id in set(listed)
    told = db.session.scalars(select(Notification).where(Notification.user_id == hr1.id)).all()
    assert [n.kind for n in told if n.submission_id == c.id] == ["copy"]


def test_a_copy_asks_nothing_of_its_reader(claim, submit, act):
    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "copy", to="hr1")
    with pytest.raises(Forbidden):
        act("hr1", c, "approve")


def test_someone_without_a_task_cannot_copy_a_claim(claim, submit, act):
    c = submit(claim("sales1", 25000))
    with pytest.raises(Forbidden):
        act("finrev", c, "copy", to="hr1")


def test_a_step_that_names_a_role_copies_its_holders_when_reached(route, capex, submit, user):
    from quire.runtime import access

    from .conftest import step

    route(step("cfo", {"kind": "user", "username": "cfo"}, copy_to=["hr1", "finance_admin"]))
    c = submit(capex("sales1"))
    assert access.may_read_submission(user("hr1"), c)
    assert access.may_read_submission(user("finadmin"), c)


def test_the_api_adds_a_signer_and_copies_with_the_contract_s_names(claim, submit, api, holders):
    c = submit(claim("sales1", 25000))
    manager = api("salesmgr")
    url = f"/api/v1/submissions/{c.id}/actions"
    added = manager.post(
        url,
        json={
            "action": "add_signer",
            "to": ["sales3"],
            "position": "alongside",
            "mode": "all",
            "comment": "Second pair of eyes",
            "version": c.version,
        },
    )
    assert added.status_code == 200, added.json
    assert holders(c) == ["salesmgr", "sales3"]

    refused = manager.post(
        url,
        json={
            "action": "add_signer",
            "to": "sales2",
            "comment": "x",
            "version": added.json["version"],
        },
    )
    assert refused.status_code == 422
    assert refused.json["error"]["details"][0]["path"] == "position"

    copied = manager.post(
        url, json={"action": "copy", "to": ["hr1"], "version": added.json["version"]}
    )
    assert copied.status_code == 200, copied.json
    assert api("hr1").get(f"/api/v1/submissions/{c.id}").status_code == 200


def test_the_manager_adds_a_signer_and_copies_from_the_submission_page_in_chinese(
    claim, submit, signed_in, user
):
    c = submit(claim("sales1", 25000))
    browser = signed_in("salesmgr")
    page = browser.get(f"/submissions/{c.id}").text
    assert 'data-testid="add-signers"' in page and 'data-testid="copy-to"' in page

    here = f"/submissions/{c.id}"
    browser.post_form(
        f"/submissions/{c.id}/act",
        {
            "action": "add_signer",
            "to": "sales3",
            "position": "after",
            "mode": "all",
            "comment": "请复核酒店费用",
            "version": c.version,
            "next": here,
        },
        page=here,
    )
    browser.post_form(
        f"/submissions/{c.id}/act",
        {"action": "copy", "to": "hr1", "comment": "", "version": c.version, "next": here},
        page=here,
    )
    zh = browser.get(here, headers={"Accept-Language": "zh-CN"}).text
    sales3, hr1 = user("sales3").display_name, user("hr1").display_name
    assert f"在 {user('salesmgr').display_name} 同意之后审批" in zh and sales3 in zh
    assert "请复核酒店费用" in zh
    assert f"抄送给 {hr1}" in zh
