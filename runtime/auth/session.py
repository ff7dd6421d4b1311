"""How a request becomes a user: a session cookie for people, a bearer token for scripts."""

from __future__ import annotations

from flask import Flask, request

from ..extensions import db, login_manager
from ..models import User, UserStatus
from .service import user_for_token


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(identity: str) -> User | None:
        user_id, _, version = identity.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        # A changed password or a disabled account ends every session at once.
        if user is None or user.status == UserStatus.LEFT or str(user.auth_version) != version:
            return None
        return user

    @app.before_request
    def _bearer_token() -> None:
        """A bearer token decides who the caller is, even if a session cookie came along."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            from flask import g
            from flask_login import AnonymousUserMixin

            g._login_user = user_for_token(header[7:].strip()) or AnonymousUserMixin()

    @login_manager.unauthorized_handler
    def unauthorized():  # type: ignore[no-untyped-def]
        from flask import redirect, url_for

        from ..errors import Unauthorized

        if request.path.startswith("/api/"):
            raise Unauthorized()
        return redirect(url_for("auth.login", next=request.full_path))
