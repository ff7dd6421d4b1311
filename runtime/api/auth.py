"""``POST /auth/token`` and ``GET /me``."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required

from ..auth import service
from ..errors import BadRequest, Detail
from ..extensions import db
from . import bp
from .serialize import user_json


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


@bp.post("/auth/token")
def issue_token():  # type: ignore[no-untyped-def]
    data = json_body()
    missing = [
        Detail(k, "is required")
        for k in ("username", "password")
        if not isinstance(data.get(k), str) or not data.get(k)
    ]
    if missing:
        raise BadRequest("Username and password are required.", missing)
    user = service.sign_in(data["username"], data["password"], request.remote_addr)
    token, clear = service.create_token(user, "API sign-in")
    db.session.commit()
    return jsonify(
        token=clear, expires_at=token.expires_at.isoformat() if token.expires_at else None
    )


@bp.get("/me")
@login_required
def me():  # type: ignore[no-untyped-def]
    return jsonify(user_json(current_user, with_rights=True))
