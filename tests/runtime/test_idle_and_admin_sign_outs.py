"""Sessions end when idle, and a user manager can end someone else's sessions and tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from quire.runtime import org
from quire.runtime.extensions import db
from quire.runtime.models import ApiToken, AuditEvent, UserSession, utcnow

from .test_sessions import _me, _token


def _open_session(username: str) -> UserSession:
    user = org.user_by_username(username)
    return db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ).one()


def test_a_session_left_idle_past_the_limit_ends_and_the_person_signs_in_again(app, signed_in):
    app.config["SESSION_IDLE_MINUTES"] = 30
    browser = signed_in("sales1")
    assert browser.get("/api/v1/me").status_code == 200
    record = _open_session("sales1")
    record.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()

    assert browser.get("/api/v1/me").status_code == 401
    page = browser.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    db.session.refresh(record)
    assert record.ended_at is not None and record.end_reason == "idle"
    # The same cookie never comes back to life.
    record.last_seen_at = utcnow()
    db.session.commit()
    assert browser.get("/api/v1/me").status_code == 401


def test_a_session_in_use_stays_open_within_the_limit(app, signed_in):
    app.config["SESSION_IDLE_MINUTES"] = 30
    browser = signed_in("sales1")
    record = _open_session("sales1")
    record.last_seen_at = utcnow() - timedelta(minutes=29)
    db.session.commit()
    assert browser.get("/api/v1/me").status_code == 200
    db.session.refresh(record)
    assert record.ended_at is None and utcnow() - record.last_seen_at < timedelta(minutes=1)


def test_the_idle_limit_defaults_to_two_hours_and_comes_from_the_environment(tmp_path, monkeypatch):
    from quire.runtime import config

    assert config.load(tmp_path, {"SECRET_KEY": "x"})["SESSION_IDLE_MINUTES"] == 120
    monkeypatch.setenv("QUIRE_SESSION_IDLE_MINUTES", "15")
    assert config.load(tmp_path, {"SECRET_KEY": "x"})["SESSION_IDLE_MINUTES"] == 15


def test_admin_lists_and_ends_every_session_and_token_of_someone_through_the_api(
    app, api, signed_in
):
    victim = signed_in("sales1")
    token = _token(app.test_client(), "sales1", name="laptop script")
    admin = api("admin")

    listed = admin.get("/api/v1/users/sales1/sessions")
    assert listed.status_code == 200, listed.json
    assert len(listed.json["sessions"]) == 1
    assert [t["name"] for t in listed.json["tokens"]] == ["laptop script"]
    assert "token" not in listed.json["tokens"][0]  # never the token itself

    ended = admin.delete("/api/v1/users/sales1/sessions")
    assert ended.status_code == 200
    assert ended.json == {"sessions_ended": 1, "tokens_revoked": 1}
    assert victim.get("/api/v1/me").status_code == 401
    assert _me(app.test_client(), token) == 401
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.sessions_end")
    ).one()
    assert event.actor_name == "admin" and event.object_id == "sales1"
    assert event.changes == {"sessions_ended": 1, "tokens_revoked": 1}
    assert admin.get("/api/v1/users/sales1/sessions").json == {"sessions": [], "tokens": []}


def test_admin_ends_one_session_or_one_token_and_leaves_the_rest(app, api, signed_in):
    first, second = signed_in("rd1"), signed_in("rd1")
    kept = _token(app.test_client(), "rd1", name="kept")
    dropped = _token(app.test_client(), "rd1", name="dropped")
    admin = api("admin")
    listed = admin.get("/api/v1/users/rd1/sessions").json
    session_id = listed["sessions"][0]["id"]
    token_id = next(t["id"] for t in listed["tokens"] if t["name"] == "dropped")

    assert admin.delete(f"/api/v1/users/rd1/sessions/{session_id}").status_code == 200
    assert admin.delete(f"/api/v1/users/rd1/tokens/{token_id}").status_code == 200
    assert sorted(b.get("/api/v1/me").status_code for b in (first, second)) == [200, 401]
    assert _me(app.test_client(), kept) == 200 and _me(app.test_client(), dropped) == 401
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "session.end")).one()
    # Another person's session or token id through this person's URL is unknown.
    other = _token(app.test_client(), "sales1", name="other")
    other_id = db.session.scalars(select(ApiToken.id).where(ApiToken.name == "other")).one()
    assert admin.delete(f"/api/v1/users/rd1/tokens/{other_id}").status_code == 404
    assert _me(app.test_client(), other) == 200


def test_no_one_ends_their_own_sign_ins_here_and_staff_cannot_end_anyones(app, api):
    admin = api("admin")
    own = admin.delete("/api/v1/users/admin/sessions")
    assert own.status_code == 403
    assert admin.get("/api/v1/me").status_code == 200  # nothing ended
    staff = api("sales2")
    assert staff.get("/api/v1/users/sales1/sessions").status_code == 403
    assert staff.delete("/api/v1/users/sales1/sessions").status_code == 403
    assert api("sales1").get("/api/v1/me").status_code == 200


def test_admin_signs_someone_out_everywhere_from_the_user_page(app, signed_in):
    victim = signed_in("sales3")
    _token(app.test_client(), "sales3", name="sync")
    admin = signed_in("admin")
    page = admin.get("/admin/users/sales3")
    assert "sync" in page.text and 'id="sign-ins"' in page.text
    done = admin.post_form("/admin/users/sales3/sign-ins/end", {}, page="/admin/users/sales3")
    assert done.status_code == 302
    assert victim.get("/api/v1/me").status_code == 401
    # The admin's own page offers nothing of the kind.
    assert 'id="sign-ins"' not in admin.get("/admin/users/admin").text
    refused = admin.post_form("/admin/users/admin/sign-ins/end", {}, page="/admin/users/admin")
    assert refused.status_code == 403
    assert admin.get("/api/v1/me").status_code == 200
