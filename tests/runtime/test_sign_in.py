"""Signing in and out on the web and through the API, tokens, throttling, leaving."""

from __future__ import annotations

from quire.runtime import org
from quire.runtime.extensions import db
from quire.runtime.models import UserStatus


def test_every_demo_user_can_sign_in_and_sees_home(signed_in):
    for username in [
        "admin",
        "finadmin",
        "finrev",
        "cfo",
        "salesmgr",
        "sales1",
        "sales2",
        "sales3",
        "rdmgr",
        "rd1",
        "hr1",
        "auditor",
    ]:
        page = signed_in(username).get("/")
        assert page.status_code == 200
        assert "My tasks" in page.text or "我的待办" in page.text


def test_home_asks_strangers_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_wrong_password_is_refused_with_a_sentence(browser):
    response = browser.login("sales1", "not-the-password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text or "用户名或密码错误" in response.text


def test_sign_in_without_the_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "sales1", "password": "quire-demo"})
    assert response.status_code == 400


def test_session_cookie_is_http_only_and_same_site_lax(browser):
    response = browser.login("sales1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_over_https(app):
    from tests.conftest import Browser

    b = Browser(app.test_client())
    token_page = b.client.get("/login", base_url="https://quire.example")
    from tests.conftest import csrf_from

    response = b.client.post(
        "/login",
        base_url="https://quire.example",
        data={
            "csrf_token": csrf_from(token_page.text),
            "username": "sales1",
            "password": "quire-demo",
        },
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_eleventh_failure_in_a_minute_answers_429_on_web_and_api(browser, client):
    for _ in range(10):
        assert browser.login("rd1", "wrong-password").status_code == 401
    assert browser.login("rd1", "wrong-password").status_code == 429
    # The right password does not help while throttled, and the API answers the same.
    assert browser.login("rd1").status_code == 429
    api = client.post("/api/v1/auth/token", json={"username": "rd1", "password": "quire-demo"})
    assert api.status_code == 429
    assert api.json["error"]["code"] == "too_many_requests"
    # Another person is not affected... unless they share the guessing address.
    assert (
        client.post(
            "/api/v1/auth/token",
            json={"username": "sales2", "password": "quire-demo"},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        ).status_code
        == 200
    )


def test_throttle_counts_failures_per_address_too(client):
    for i in range(10):
        client.post(
            "/api/v1/auth/token",
            json={"username": f"nobody{i}", "password": "x"},
            environ_base={"REMOTE_ADDR": "10.1.1.1"},
        )
    blocked = client.post(
        "/api/v1/auth/token",
        json={"username": "sales1", "password": "quire-demo"},
        environ_base={"REMOTE_ADDR": "10.1.1.1"},
    )
    assert blocked.status_code == 429


def test_api_token_then_me(client):
    response = client.post(
        "/api/v1/auth/token", json={"username": "finrev", "password": "quire-demo"}
    )
    assert response.status_code == 200
    token = response.json["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["username"] == "finrev" and me.json["department"] == "FIN"
    assert "submission.approve" in me.json["permissions"]
    assert any(
        g["role"] == "finance_reviewer" and g["scope"]["department"] is None
        for g in me.json["grants"]
    )


def test_token_request_errors_are_clear(client):
    bad = client.post("/api/v1/auth/token", data="not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    missing = client.post(
        "/api/v1/auth/token", json={"username": "finrev"}, headers={"Accept-Language": "en"}
    )
    assert missing.status_code == 422  # invalid data, checked against the documented model
    assert missing.json["error"]["details"] == [{"path": "password", "message": "is required"}]
    wrong = client.post("/api/v1/auth/token", json={"username": "finrev", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "unauthorized"


def test_me_without_credentials_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_a_bearer_token_wins_over_a_session_cookie(signed_in, api):
    browser = signed_in("admin")
    token = api("finrev").headers["Authorization"]
    me = browser.client.get("/api/v1/me", headers={"Authorization": token})
    assert me.json["username"] == "finrev"


def test_a_person_who_leaves_loses_session_and_token_at_once(signed_in, api, user):
    browser, token_client = signed_in("rd1"), api("rd1")
    assert browser.get("/").status_code == 200
    assert token_client.get("/api/v1/me").status_code == 200
    org.set_status(None, user("rd1"), UserStatus.LEFT)
    db.session.commit()
    assert browser.get("/").status_code == 302
    assert token_client.get("/api/v1/me").status_code == 401
    assert Browser_login_status("rd1", browser) == 401


def Browser_login_status(username, browser):  # noqa: N802 - reads as a phrase in the story above
    return browser.login(username).status_code


def test_profile_creates_shows_once_and_revokes_a_token(signed_in, client):
    browser = signed_in("sales1")
    page = browser.post_form(
        "/profile", {"action": "token", "tok-name": "my script", "tok-days": "30"}, page="/profile"
    )
    assert page.status_code == 200
    import re

    token = re.search(r'data-testid="new-token">([^<]+)<', page.text).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = browser.get("/profile")
    assert token not in again.text  # shown once only
    token_id = re.search(r"/profile/tokens/(\d+)/revoke", again.text).group(1)
    browser.post_form(f"/profile/tokens/{token_id}/revoke", {}, page="/profile")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_nobody_can_revoke_another_persons_token(signed_in, api):
    api("finrev")  # creates finrev's token (id 1 in this database)
    from quire.runtime.models import ApiToken

    token = db.session.query(ApiToken).first()
    browser = signed_in("sales1")
    response = browser.post_form(f"/profile/tokens/{token.id}/revoke", {}, page="/profile")
    assert response.status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_expired_token_is_refused(api, app):
    from datetime import timedelta

    from quire.runtime.models import ApiToken, utcnow

    client = api("cfo")
    token = db.session.query(ApiToken).order_by(ApiToken.id.desc()).first()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_password_change_ends_other_sessions(signed_in, browser):
    first, second = signed_in("sales2"), signed_in("sales2")
    response = first.post_form(
        "/profile",
        {
            "action": "password",
            "pw-current_password": "quire-demo",
            "pw-new_password": "a-much-longer-secret",
        },
        page="/profile",
    )
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302
    assert browser.login("sales2", "quire-demo").status_code == 401
    assert browser.login("sales2", "a-much-longer-secret").status_code == 302


def test_a_weak_new_password_is_refused_at_its_field(signed_in):
    browser = signed_in("sales2")
    response = browser.post_form(
        "/profile",
        {"action": "password", "pw-current_password": "quire-demo", "pw-new_password": "short"},
        page="/profile",
    )
    assert response.status_code == 422
    assert 'id="pw-new_password-error"' in response.text


def test_login_redirects_only_to_local_pages(browser):
    from tests.conftest import csrf_from

    page = browser.get("/login")
    response = browser.client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": csrf_from(page.text), "username": "sales1", "password": "quire-demo"},
    )
    assert response.location == "/"


def test_sign_out_needs_a_post_with_csrf(signed_in):
    browser = signed_in("sales1")
    assert browser.client.post("/logout").status_code == 400
    response = browser.post_form("/logout", {}, page="/")
    assert response.status_code == 302
    assert browser.get("/").status_code == 302
