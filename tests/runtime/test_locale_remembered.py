"""Issue 20: the language picked on the sign-in page is remembered before sign-in and kept after."""

from __future__ import annotations

from sqlalchemy import select


def test_english_picked_on_the_sign_in_page_stays_through_sign_in(browser, app):  # type: ignore[no-untyped-def]
    assert "登录" in browser.get("/login").text
    browser.post_form("/locale", {"locale": "en"}, page="/login")
    assert "Sign in to Quire" in browser.get("/login").text
    browser.login("rd1")
    assert "My tasks" in browser.get("/").text

    from quire.runtime.extensions import db
    from quire.runtime.models import User

    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.username == "rd1")) == "en"


def test_a_returning_visitor_sees_the_sign_in_page_in_the_language_picked_last_time(browser):  # type: ignore[no-untyped-def]
    browser.post_form("/locale", {"locale": "en"}, page="/login")
    browser.client.delete_cookie("session")  # a new visit: only the language cookie is left
    assert "Sign in to Quire" in browser.get("/login").text
