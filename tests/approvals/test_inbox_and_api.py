"""The inbox (web and API), the submission page's panel, and the API endpoints of CONTRACT.md."""

from __future__ import annotations

from .conftest import NOW


def _inbox_ids(api_client, **params) -> list[int]:  # type: ignore[no-untyped-def]
    body = api_client.get("/api/v1/inbox", query_string={"per_page": 200, **params}).json
    return [item["submission_id"] for item in body["items"]]


def test_the_inbox_lists_my_tasks_with_their_key_figures(claim, submit, api):
    c = submit(claim("sales1", 25000))

    body = api("salesmgr").get("/api/v1/inbox", query_string={"per_page": 200}).json
    item = next(i for i in body["items"] if i["submission_id"] == c.id)

    assert {"items", "page", "pages", "total"} <= set(body)
    assert {k: item[k] for k in ("form", "step")} == {"form": "expense-claim", "step": "manager"}
    assert item["summary"] == {"submitter": "sales1", "department": "SALES", "total": "25000.00"}
    assert item["since"].endswith("+00:00") and item["due"] and item["task_id"]
    assert c.id not in _inbox_ids(api("finrev"))


def test_the_inbox_sorts_by_amount_and_by_age(claim, submit, api):
    small = submit(claim("sales1", 11000), at=NOW)
    big = submit(claim("sales1", 60000), at=NOW.replace(hour=3))
    client = api("salesmgr")

    by_amount = _inbox_ids(client, sort="-total")
    assert by_amount.index(big.id) < by_amount.index(small.id)
    oldest_first = _inbox_ids(client, sort="since")
    assert oldest_first.index(small.id) < oldest_first.index(big.id)
    assert client.get("/api/v1/inbox?sort=nonsense").status_code == 422


def test_submit_and_actions_return_the_submission_shape(claim, api):
    c = claim("sales1", 25000)
    client = api("sales1")

    submitted = client.post(f"/api/v1/submissions/{c.id}/submit", json={"version": c.version})
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "in_review"
    assert {
        "id",
        "form",
        "template_version",
        "version",
        "status",
        "department",
        "submitter",
        "created_at",
        "updated_at",
        "data",
    } <= set(submitted.json)

    manager = api("salesmgr")
    approved = manager.post(
        f"/api/v1/submissions/{c.id}/actions",
        json={"action": "approve", "comment": "ok", "version": submitted.json["version"]},
    )
    assert approved.status_code == 200, approved.json
    assert approved.json["version"] > submitted.json["version"]


def test_submit_needs_no_version_but_checks_one_when_given(claim, api):
    first, second = claim("sales1", 25000), claim("sales1", 26000)
    client = api("sales1")
    stale = client.post(f"/api/v1/submissions/{first.id}/submit", json={"version": 99})
    assert stale.status_code == 409
    bare = client.post(f"/api/v1/submissions/{first.id}/submit")
    assert bare.status_code == 200 and bare.json["status"] == "in_review"
    empty = client.post(f"/api/v1/submissions/{second.id}/submit", json={})
    assert empty.status_code == 200


def test_actions_answer_409_for_a_stale_version_and_422_for_nonsense(claim, submit, api):
    c = submit(claim("sales1", 25000))
    client = api("salesmgr")
    url = f"/api/v1/submissions/{c.id}/actions"

    assert client.post(url, json={"action": "approve", "version": c.version - 1}).status_code == 409
    assert client.post(url, json={"action": "fly", "version": c.version}).status_code == 422
    assert client.post(url, data="not json", content_type="application/json").status_code == 400
    assert client.post(url, json=["approve"]).status_code == 400
    assert (
        api("finrev").post(url, json={"action": "approve", "version": c.version}).status_code == 403
    )
    assert api("rd1").post(url, json={"action": "approve", "version": c.version}).status_code == 404
    assert (
        client.post(
            "/api/v1/submissions/999999/actions", json={"action": "approve", "version": 1}
        ).status_code
        == 404
    )


def test_the_history_lists_every_step_oldest_first(claim, submit, act, api):
    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve", comment="fine")

    body = api("sales1").get(f"/api/v1/submissions/{c.id}/history").json
    assert [(i["step"], i["action"], i["actor"]) for i in body["items"]] == [
        (None, "submit", "sales1"),
        ("manager", "approve", "salesmgr"),
    ]
    assert body["items"][1]["comment"] == "fine"
    assert {"step", "actor", "on_behalf_of", "action", "comment", "at"} <= set(body["items"][0])
    assert api("rd1").get(f"/api/v1/submissions/{c.id}/history").status_code == 404


def test_the_openapi_description_lists_the_approval_endpoints(app, api):
    paths = api("sales1").get("/api/v1/openapi.json").json["paths"]
    assert {
        "/api/v1/submissions/{submission_id}/submit",
        "/api/v1/submissions/{submission_id}/actions",
        "/api/v1/submissions/{submission_id}/history",
        "/api/v1/inbox",
    } <= set(paths)


def test_salesmgr_approves_from_the_inbox_page(claim, submit, signed_in):
    c = submit(claim("sales1", 25000))
    browser = signed_in("salesmgr")
    page = browser.get("/inbox")
    assert page.status_code == 200 and c.number in page.text

    response = browser.post_form(
        f"/submissions/{c.id}/act",
        {"action": "approve", "version": c.version, "next": "/inbox"},
        page="/inbox",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/inbox")
    assert c.current_step == "finance"


def test_a_stale_web_action_is_refused_with_a_message(claim, submit, act, signed_in):
    c = submit(claim("sales1", 25000))
    old = c.version
    act("sales1", c, "withdraw")
    browser = signed_in("salesmgr")
    browser.post_form(
        f"/submissions/{c.id}/act",
        {"action": "approve", "version": old, "next": "/inbox"},
        page="/inbox",
    )
    assert (
        "此单据已被他人修改，请刷新后重试。" in browser.get("/inbox").text
    )  # in the reader's language


def test_every_page_shows_the_inbox_badge(claim, submit, signed_in):
    submit(claim("sales1", 25000))
    page = signed_in("salesmgr").get("/").text
    assert 'class="badge"' in page and "/inbox" in page


def test_bulk_approve_takes_only_items_that_passed_every_check(claim, submit, signed_in):
    fine = submit(claim("sales1", 12000))
    over = submit(claim("sales1", 5_000_000, category="other"))
    browser = signed_in("salesmgr")
    page = browser.get("/inbox").text
    assert 'value="' in page and f"{over.number}" in page

    browser.post_form(
        "/inbox/bulk-approve",
        {"item": [f"{_task(fine)}:{fine.version}", f"{_task(over)}:{over.version}"]},
        page="/inbox",
    )
    assert fine.current_step == "finance"
    assert over.current_step == "manager", "over budget: decided one by one"


def _task(submission) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    return db.session.scalar(
        select(ApprovalTask.id).where(
            ApprovalTask.submission_id == submission.id, ApprovalTask.status == TaskStatus.OPEN
        )
    )


def test_the_submission_page_shows_the_route_and_the_timeline(claim, submit, act, signed_in):
    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "approve", comment="Fine by me")
    page = signed_in("sales1").get(f"/submissions/{c.id}").text

    assert 'data-testid="approval-panel"' in page
    assert 'aria-current="step"' in page and 'data-step="finance"' in page
    assert "Fine by me" in page and 'data-testid="current-step"' in page
    assert "route-will_skip" in page, "the CFO step is predicted to be skipped"


def test_the_approver_gets_touch_sized_buttons_on_the_submission_page(
    claim, submit, signed_in, app
):
    from pathlib import Path

    c = submit(claim("sales1", 25000))
    page = signed_in("salesmgr").get(f"/submissions/{c.id}").text
    css = (Path(app.static_folder) / "css" / "quire.css").read_text()

    assert f'data-testid="approve-{c.id}"' in page and 'class="touch-buttons"' in page
    assert "min-height: 44px" in css and "max-width: 600px" in css
    assert "style=" not in page.split('data-testid="approval-panel"')[1]


def test_the_home_page_task_box_lists_waiting_tasks(claim, submit, signed_in, app):
    from flask import render_template_string
    from flask_login import login_user

    c = submit(claim("sales1", 25000))
    with app.test_request_context("/"):
        from quire.runtime.org import user_by_username

        login_user(user_by_username("salesmgr"))
        html = render_template_string('{% include "approvals/_my_tasks.html" %}')
    assert c.number in html


def test_notifications_are_listed_in_the_inbox_and_can_be_marked_read(claim, submit, signed_in):
    from sqlalchemy import func, select

    from quire.runtime.extensions import db
    from quire.runtime.models import Notification
    from quire.runtime.org import user_by_username

    c = submit(claim("sales1", 25000))
    browser = signed_in("salesmgr")
    assert c.number in browser.get("/inbox").text.split('id="notifications-title"')[1]

    browser.post_form("/notifications/read", {}, page="/inbox")
    unread = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == user_by_username("salesmgr").id, Notification.read_at.is_(None)
        )
    )
    assert db.session.scalar(unread) == 0
