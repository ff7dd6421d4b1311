"""``POST /auth/token`` and ``GET /me``."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..auth import service
from ..errors import BadRequest, Detail, Forbidden, NotFound
from ..extensions import db
from ..models import ApiToken
from ..openapi import PUBLIC, answers, spec
from ..pagination import paginate, parse_page_args
from . import bp
from .serialize import Me, PageQuery, iso, user_json


class TokenRequest(BaseModel):
    username: str
    password: str
    #: Signing in again under the same name replaces that token.
    name: str = Field(service.SIGN_IN_TOKEN_NAME, min_length=1, max_length=100)


class TokenResponse(BaseModel):
    #: Send it as ``Authorization: Bearer <token>``; shown once.
    token: str
    name: str
    expires_at: str | None


class TokenItem(BaseModel):
    id: int
    name: str
    #: The token's first characters, to tell tokens apart.
    prefix: str
    #: Issued by ``POST /auth/token`` (ends with a password change) rather than by an admin.
    from_sign_in: bool
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class TokenList(BaseModel):
    items: list[TokenItem]
    page: int
    pages: int
    total: int


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


@bp.post("/auth/token")
@spec.validate(
    json=TokenRequest,
    resp=answers(TokenResponse, 400, 401, 403, 422, 429),
    tags=["auth"],
    security=PUBLIC,
)
def issue_token():  # type: ignore[no-untyped-def]
    """A token for a password; signing in again under the same ``name`` replaces it."""
    data = json_body()
    missing = [
        Detail(k, "is required")
        for k in ("username", "password")
        if not isinstance(data.get(k), str) or not data.get(k)
    ]
    if missing:
        raise BadRequest("Username and password are required.", missing)
    name = data.get("name", service.SIGN_IN_TOKEN_NAME)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise BadRequest("Invalid token name.", [Detail("name", "must be 1 to 100 characters")])
    user = service.sign_in(data["username"], data["password"], request.remote_addr)
    if user.must_change_password:
        raise Forbidden(service.RESET_BY_ADMIN_MESSAGE)
    token, clear = service.sign_in_token(user, name.strip())
    db.session.commit()
    return jsonify(
        token=clear,
        name=token.name,
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
    )


@bp.get("/me")
@login_required
@spec.validate(resp=answers(Me, 401), tags=["auth"])
def me():  # type: ignore[no-untyped-def]
    """The signed-in user with current grants and permissions."""
    return jsonify(user_json(current_user, with_rights=True))


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "from_sign_in": token.from_sign_in,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }


@bp.get("/me/tokens")
@login_required
@spec.validate(query=PageQuery, resp=answers(TokenList, 400, 401), tags=["auth"])
def my_tokens():  # type: ignore[no-untyped-def]
    """My API tokens, newest first, revoked ones included (never the token itself)."""
    page, per_page = parse_page_args(request.args)
    stmt = select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    return jsonify(paginate(stmt, page, per_page).as_dict(token_json))


@bp.delete("/me/tokens/<int:token_id>")
@login_required
@spec.validate(resp=answers(TokenItem, 401, 404), tags=["auth"])
def revoke_my_token(token_id: int):  # type: ignore[no-untyped-def]
    """Revoke one of my tokens; it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        raise NotFound()
    service.revoke_token(token, current_user)
    db.session.commit()
    return jsonify(token_json(token))
