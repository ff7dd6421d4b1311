"""Sessions and tokens the server can end: sign-out, new passwords, resets, leaving."""

from __future__ import annotations

import re

from sqlalchemy import select

from quire.runtime import org
from quire.runtime.extensions import db
from quire.runtime.models import ApiToken, AuditEvent, UserSession, UserStatus
from tests.conftest import PASSWORD, Browser, csrf_from

COOKIE = "quire_session"


def _copy_of(app, browser: Browser) -> Browser:  # type: ignore[no-untyped-def]
    """A second client holding the same session cookie, as a thief would."""
    thief = Browser(app.test_client())
    thief.client.set_cookie(COOKIE, browser.client.get_cookie(COOKIE).value)
    return thief


def _token(client, username: str, password: str = PASSWORD, **extra: str) -> str:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 200, response.json
    return response.json["token"]


def _me(client, token: str) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


# --- sessions ---------------------------------------------------------------------------
def test_a_copied_cookie_answers_401_after_sign_out(app, signed_in):
    owner = signed_in("sales1")
    thief = _copy_of(app, owner)
    assert thief.get("/api/v1/me").status_code == 200
    assert owner.post_form("/logout", {}, page="/").status_code == 302
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.get("/").status_code == 302
    ended = db.session.scalars(select(UserSession).where(UserSession.end_reason == "logout")).all()
    assert len(ended) == 1 and ended[0].user.username == "sales1"


def test_a_session_records_who_where_and_when(app):
    browser = Browser(app.test_client())
    page = browser.get("/login")
    browser.client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": "rd1", "password": PASSWORD},
        headers={"User-Agent": "Firefox/140"},
    )
    record = db.session.scalars(select(UserSession)).one()
    assert record.user.username == "rd1" and record.user_agent == "Firefox/140"
    assert record.ended_at is None and record.created_at <= record.last_seen_at
    assert len(record.key_hash) == 64  # only a digest of the cookie's key is stored


def test_signing_in_renews_the_session_and_the_csrf_token(app, browser):
    """No fixation: nothing from before sign-in (cookie, CSRF token) stays valid after it."""
    before_token = csrf_from(browser.get("/login").text)
    before_cookie = browser.client.get_cookie(COOKIE).value
    response = browser.client.post(
        "/login", data={"csrf_token": before_token, "username": "sales3", "password": PASSWORD}
    )
    assert response.status_code == 302
    after_cookie = browser.client.get_cookie(COOKIE).value
    assert after_cookie != before_cookie
    after_token = csrf_from(browser.get("/profile").text)
    assert after_token != before_token
    # The token from before sign-in no longer passes.
    stale = browser.client.post("/locale", data={"csrf_token": before_token, "locale": "en"})
    assert stale.status_code == 400
    fresh = browser.client.post("/locale", data={"csrf_token": after_token, "locale": "en"})
    assert fresh.status_code == 302
    # A cookie planted before sign-in never becomes a signed-in session.
    planted = Browser(app.test_client())
    planted.client.set_cookie(COOKIE, before_cookie)
    assert planted.get("/api/v1/me").status_code == 401


def test_leaving_ends_every_session_and_token_on_record(app, signed_in, user):
    browser = signed_in("rd1")
    manual = org.user_by_username("rd1")
    from quire.runtime.auth import service

    _token_row, clear = service.create_token(manual, "nightly export")
    db.session.commit()
    org.set_status(None, user("rd1"), UserStatus.LEFT)
    db.session.commit()
    assert browser.get("/api/v1/me").status_code == 401
    assert _me(app.test_client(), clear) == 401
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == manual.id)).all()
    assert rows and all(r.end_reason == "left" for r in rows)
    assert all(
        t.revoked_at is not None
        for t in db.session.scalars(select(ApiToken).where(ApiToken.user_id == manual.id))
    )


# --- tokens -----------------------------------------------------------------------------
def test_signing_in_again_through_the_api_replaces_the_token(client):
    first = _token(client, "finrev")
    second = _token(client, "finrev")
    assert _me(client, first) == 401 and _me(client, second) == 200
    other_script = _token(client, "finrev", name="budget loader")
    assert _me(client, second) == 200 and _me(client, other_script) == 200
    listed = client.get("/api/v1/me/tokens", headers={"Authorization": f"Bearer {second}"}).json
    open_names = sorted(t["name"] for t in listed["items"] if t["revoked_at"] is None)
    assert open_names == ["API sign-in", "budget loader"]
    assert all(t["from_sign_in"] for t in listed["items"])
    used = [t for t in listed["items"] if t["prefix"] == second[:10]][0]
    assert used["last_used_at"] is not None
    assert "token" not in used and "token_hash" not in used


def test_an_owner_revokes_a_token_through_the_api_and_nobody_else_can(client):
    mine, other = _token(client, "sales1"), _token(client, "sales2")
    listed = client.get("/api/v1/me/tokens", headers={"Authorization": f"Bearer {mine}"}).json
    token_id = listed["items"][0]["id"]
    refused = client.delete(
        f"/api/v1/me/tokens/{token_id}", headers={"Authorization": f"Bearer {other}"}
    )
    assert refused.status_code == 404
    assert _me(client, mine) == 200
    done = client.delete(
        f"/api/v1/me/tokens/{token_id}", headers={"Authorization": f"Bearer {mine}"}
    )
    assert done.status_code == 200 and done.json["revoked_at"] is not None
    assert _me(client, mine) == 401


def test_a_password_change_ends_sign_in_tokens_but_not_tokens_made_on_purpose(signed_in, client):
    browser = signed_in("sales2")
    signed_token = _token(client, "sales2")
    made = browser.post_form(
        "/profile", {"action": "token", "tok-name": "my script", "tok-days": "30"}, page="/profile"
    )
    made_token = re.search(r'data-testid="new-token">([^<]+)<', made.text).group(1)
    changed = browser.post_form(
        "/profile",
        {
            "action": "password",
            "pw-current_password": PASSWORD,
            "pw-new_password": "a-much-longer-secret",
        },
        page="/profile",
    )
    assert changed.status_code == 302
    assert _me(client, signed_token) == 401
    assert _me(client, made_token) == 200
    assert browser.get("/").status_code == 200  # this session stays


# --- an administrator's reset -----------------------------------------------------------
def _reset_form(username: str, password: str) -> dict[str, str]:
    user = org.user_by_username(username)
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email or "",
        "department": user.department.code,
        "manager": user.manager.username if user.manager else "",
        "status": user.status.value,
        "locale": user.locale or "",
        "cost_center": user.cost_center or "",
        "delegate": "",
        "password": password,
    }


def test_an_admins_reset_is_audited_ends_everything_and_forces_a_new_password(
    app, signed_in, client
):
    victim = signed_in("sales1")
    token = _token(client, "sales1")
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/users/sales1/edit",
        _reset_form("sales1", "temporary-pass-42"),
        page="/admin/users/sales1/edit",
    )
    assert response.status_code == 302, response.text[:400]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.password_reset")
    ).one()
    assert event.object_id == "sales1" and event.changes["must_change_password"] is True
    assert event.changes["sessions_ended"] == 1 and event.changes["tokens_revoked"] == 1
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.update", AuditEvent.id > event.id)
    ).all()
    assert victim.get("/api/v1/me").status_code == 401
    assert _me(client, token) == 401

    # The next sign-in leads to the new-password page, and nothing else opens before it.
    person = Browser(app.test_client())
    signed = person.login("sales1", "temporary-pass-42")
    assert signed.status_code == 302 and signed.location.endswith("/password/new")
    assert person.get("/").location.endswith("/password/new")
    assert person.get("/api/v1/me").status_code == 403
    refused = client.post(
        "/api/v1/auth/token", json={"username": "sales1", "password": "temporary-pass-42"}
    )
    assert refused.status_code == 403
    chosen = person.post_form(
        "/password/new",
        {"current_password": "temporary-pass-42", "new_password": "temporary-pass-42"},
    )
    assert chosen.status_code == 422  # the administrator's password will not do
    chosen = person.post_form(
        "/password/new",
        {"current_password": "temporary-pass-42", "new_password": "my-own-secret-99"},
    )
    assert chosen.status_code == 302
    assert person.get("/").status_code == 200
    assert person.get("/api/v1/me").json["username"] == "sales1"


def test_changing_your_own_password_in_the_admin_pages_is_not_a_reset(signed_in):
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/users/admin/edit", _reset_form("admin", "new-admin-secret-1"), page="/admin/users"
    )
    assert response.status_code == 302
    assert org.user_by_username("admin").must_change_password is False
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).all()
    assert "user.password_change" in actions[:3] and "user.password_reset" not in actions


def test_a_person_signs_out_a_session_elsewhere_from_the_profile(app, signed_in):
    here, elsewhere = signed_in("cfo"), signed_in("cfo")
    page = here.get("/profile").text
    ends = re.findall(r"/profile/sessions/(\d+)/end", page)
    assert len(ends) == 1  # the other session; this one is marked "this session"
    assert (
        here.post_form(f"/profile/sessions/{ends[0]}/end", {}, page="/profile").status_code == 302
    )
    assert elsewhere.get("/api/v1/me").status_code == 401
    assert here.get("/api/v1/me").status_code == 200
    stranger = signed_in("sales1")
    refused = stranger.post_form(f"/profile/sessions/{ends[0]}/end", {}, page="/profile")
    assert refused.status_code == 404
