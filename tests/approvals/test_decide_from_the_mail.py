"""Issue 20: an approver decides from the notification email's link. The link leads to the
decision on the claim's page, through sign-in and back; a task that has left them says
where it went; its "waiting for you" notification is then read, not only hidden."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import Browser, csrf_from


def mail_link(app, number: str, address: str) -> str:  # type: ignore[no-untyped-def]
    """The link of the mail about claim ``number`` sent to ``address``, as the reader sees it."""
    for path in sorted((Path(app.config["INSTANCE_PATH"]) / "mail").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]) and number in str(message["Subject"]):
            body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            found = re.search(r"Open: (\S+)", body)
            assert found, body
            assert f"查看：{found.group(1)}" in body  # the Chinese half links to the same place
            return found.group(1)
    raise AssertionError(f"no mail about {number} to {address}")


def task_of(user, submission, username: str):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask

    return db.session.scalar(
        select(ApprovalTask).where(
            ApprovalTask.submission_id == submission.id,
            ApprovalTask.assignee_id == user(username).id,
        )
    )


def test_the_mail_links_to_the_decision_and_signing_in_leads_there(app, claim, submit, user):
    c = submit(claim("sales1", 25000))
    link = mail_link(app, c.number, "salesmgr@example.com")
    parts = urlsplit(link)
    task = task_of(user, c, "salesmgr")
    assert parts.path == f"/submissions/{c.id}" and parts.query == f"task={task.id}"
    assert parts.fragment == "decide"

    browser = Browser(app.test_client())
    here = f"{parts.path}?{parts.query}"
    to_login = browser.get(here)
    assert to_login.status_code == 302
    login_url = to_login.headers["Location"]
    assert urlsplit(login_url).path == "/login"
    page = browser.get(login_url).text
    signed = browser.client.post(
        login_url,
        data={"csrf_token": csrf_from(page), "username": "salesmgr", "password": "quire-demo"},
    )
    assert signed.status_code == 302 and signed.headers["Location"] == here

    claim_page = browser.get(here).text
    assert 'id="decide"' in claim_page and f'data-testid="approve-{c.id}"' in claim_page
    assert 'data-testid="task-gone"' not in claim_page
    decided = browser.client.post(
        f"/submissions/{c.id}/act",
        data={
            "csrf_token": csrf_from(claim_page),
            "version": str(c.version),
            "next": here,
            "action": "approve",
            "comment": "同意",
        },
    )
    assert decided.status_code == 303 and decided.headers["Location"] == here
    from quire.runtime.extensions import db

    db.session.refresh(task)
    assert task.status.value == "approved"
    # Opened again from the same mail: the page says it was decided, by them.
    again = browser.get(here).text
    assert 'data-testid="task-gone"' in again and "你已处理过这项审批（同意" in again


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_signing_in_never_leads_to_another_site(app, target):
    browser = Browser(app.test_client())
    url = "/login?" + __import__("urllib.parse").parse.urlencode({"next": target})
    page = browser.get(url).text
    response = browser.client.post(
        url,
        data={"csrf_token": csrf_from(page), "username": "sales1", "password": "quire-demo"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/", target


def _page_for(signed_in, username: str, submission, task) -> str:  # type: ignore[no-untyped-def]
    response = signed_in(username).get(f"/submissions/{submission.id}?task={task.id}")
    assert response.status_code == 200
    return response.text


def test_a_task_handed_on_says_who_has_it_now(claim, submit, act, user, signed_in):
    c = submit(claim("sales1", 25000))
    task = task_of(user, c, "salesmgr")
    act("salesmgr", c, "transfer", to="sales2", comment="please take this one")

    page = _page_for(signed_in, "salesmgr", c, task)
    assert "这项审批已不在你名下，现在由 " + user("sales2").display_name + " 处理。" in page
    assert f'data-testid="approve-{c.id}"' not in page


def test_a_withdrawn_claim_says_it_was_withdrawn(claim, submit, act, user, signed_in):
    c = submit(claim("sales1", 25000))
    task = task_of(user, c, "salesmgr")
    act("sales1", c, "withdraw")

    page = _page_for(signed_in, "salesmgr", c, task)
    assert f"{user('sales1').display_name} 已于" in page and "撤回此表单" in page


def test_a_task_decided_by_someone_else_names_them(claim, submit, act, user, signed_in):
    c = submit(claim("sales1", 25000))
    task = task_of(user, c, "salesmgr")
    act("salesmgr", c, "transfer", to="sales2")
    act("sales2", c, "reject", comment="duplicate")

    page = _page_for(signed_in, "salesmgr", c, task)
    assert f"这项审批已不在你名下：{user('sales2').display_name} 已处理（驳回" in page


def test_the_page_says_nothing_about_a_task_that_was_never_theirs(claim, submit, user, signed_in):
    c = submit(claim("sales1", 25000))
    task = task_of(user, c, "salesmgr")

    page = _page_for(signed_in, "sales1", c, task)  # the claimant, with salesmgr's task id
    assert 'data-testid="task-gone"' not in page


def test_waiting_for_you_is_marked_read_when_the_task_leaves_and_the_count_drops(
    claim, submit, act, user, signed_in
):
    from quire.runtime.approvals import notify
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    c = submit(claim("sales1", 25000))
    manager = user("salesmgr")
    note = db.session.scalar(
        select(Notification).where(
            Notification.submission_id == c.id,
            Notification.user_id == manager.id,
            Notification.kind == "task",
        )
    )
    assert note.read_at is None
    before = notify.unread_count(manager)
    assert before >= 1
    inbox = signed_in("salesmgr").get("/inbox").text
    assert (
        f'<span aria-hidden="true">{before}</span><span class="visually-hidden">{before} 条未读<'
        in inbox
    )

    act("salesmgr", c, "transfer", to="sales2")

    db.session.refresh(note)
    assert note.read_at is not None  # read, not merely hidden
    assert notify.unread_count(manager) == before - 1
    # sales2's own notice is new and unread; once someone else decides, it is read too.
    theirs = db.session.scalar(
        select(Notification).where(
            Notification.submission_id == c.id,
            Notification.user_id == user("sales2").id,
            Notification.kind == "task",
        )
    )
    assert theirs.read_at is None
    act("sales1", c, "withdraw")
    db.session.refresh(theirs)
    assert theirs.read_at is not None


def test_the_decider_and_the_others_of_an_any_of_step_find_their_notices_read(
    route, capex, submit, act, user
):
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification
    from tests.approvals.conftest import COMMITTEE, step

    route(step("finance", COMMITTEE, mode="any"))
    c = submit(capex("sales1"))
    committee = ("finadmin", "finrev", "cfo")
    act("finrev", c, "approve")

    notices = db.session.scalars(
        select(Notification).where(
            Notification.submission_id == c.id,
            Notification.kind == "task",
            Notification.user_id.in_([user(u).id for u in committee]),
        )
    ).all()
    assert len(notices) == 3
    assert all(n.read_at is not None for n in notices)
