"""How a request becomes a user: a session cookie for people, a bearer token for scripts."""

from __future__ import annotations

from flask import Flask, request

from ..errors import Forbidden
from ..extensions import login_manager
from ..models import User
from . import sessions
from .service import RESET_BY_ADMIN_MESSAGE, user_for_token

_ALLOWED_BEFORE_NEW_PASSWORD = frozenset(
    {"static", "auth.new_password", "auth.logout", "auth.login", "web.set_locale", "web.healthz"}
)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(identity: str) -> User | None:
        # The session row must still be open: signing out, a new password and leaving
        # end it, wherever the cookie was copied to.
        return sessions.load(identity)

    @app.before_request
    def _bearer_token() -> None:
        """A bearer token decides who the caller is, even if a session cookie came along."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            from flask import g
            from flask_login import AnonymousUserMixin

            g._login_user = user_for_token(header[7:].strip()) or AnonymousUserMixin()

    @app.before_request
    def _new_password_first():  # type: ignore[no-untyped-def]
        """After an administrator's reset, nothing works until the person picks a password."""
        if request.endpoint in _ALLOWED_BEFORE_NEW_PASSWORD or request.endpoint is None:
            return None
        from flask import redirect, url_for
        from flask_login import current_user

        if not current_user.is_authenticated or not current_user.must_change_password:
            return None
        if request.path.startswith("/api/"):
            raise Forbidden(RESET_BY_ADMIN_MESSAGE)
        return redirect(url_for("auth.new_password"))

    @login_manager.unauthorized_handler
    def unauthorized():  # type: ignore[no-untyped-def]
        from flask import redirect, url_for

        from ..errors import Unauthorized

        if request.path.startswith("/api/"):
            raise Unauthorized()
        return redirect(url_for("auth.login", next=request.full_path))
