"""An administrator's view of someone's sign-ins: list and end their sessions and tokens.

``access.may_end_sign_ins_of`` decides (user managers whose grant reaches the person, never
for oneself: one's own sessions and tokens are ended from the profile and ``/me/tokens``).
Everything ended is audited.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user, login_required
from pydantic import BaseModel
from sqlalchemy import select

from .. import access, org
from ..auth import service, sessions
from ..errors import Forbidden, NotFound
from ..extensions import db
from ..models import ApiToken, User, UserSession
from ..openapi import answers, spec
from . import bp
from .auth import TokenItem, token_json
from .serialize import iso


class SessionItem(BaseModel):
    id: int
    created_at: str | None
    last_seen_at: str | None
    user_agent: str | None
    ip: str | None


class SignIns(BaseModel):
    """The person's open browser sessions and working API tokens."""

    sessions: list[SessionItem]
    tokens: list[TokenItem]


class SignInsEnded(BaseModel):
    sessions_ended: int
    tokens_revoked: int


def session_json(record: UserSession) -> dict[str, Any]:
    return {
        "id": record.id,
        "created_at": iso(record.created_at),
        "last_seen_at": iso(record.last_seen_at),
        "user_agent": record.user_agent,
        "ip": record.ip,
    }


def sign_ins_json(user: User) -> dict[str, Any]:
    return {
        "sessions": [session_json(s) for s in sessions.open_sessions(user)],
        "tokens": [token_json(t) for t in service.open_tokens(user)],
    }


def _person(username: str) -> User:
    """The person (404 when unknown or outside the caller's reach, 403 when it is oneself
    or the caller manages no one)."""
    user = org.user_by_username(username)
    if not access.may_end_sign_ins_of(current_user, user):
        if user.id == current_user.id:
            raise Forbidden("End your own sessions and tokens from your profile.")
        if access.can(current_user, access.Permission.USER_MANAGE):
            raise NotFound()
        raise Forbidden()
    return user


@bp.get("/users/<username>/sessions")
@login_required
@spec.validate(resp=answers(SignIns, 401, 403, 404), tags=["users"])
def user_sign_ins(username: str):  # type: ignore[no-untyped-def]
    """Someone's open browser sessions and working API tokens (user managers only)."""
    return jsonify(sign_ins_json(_person(username)))


@bp.delete("/users/<username>/sessions")
@login_required
@spec.validate(resp=answers(SignInsEnded, 401, 403, 404), tags=["users"])
def end_user_sign_ins(username: str):  # type: ignore[no-untyped-def]
    """Sign someone out everywhere: every session ends and every token is revoked
    (audited as user.sessions_end)."""
    user = _person(username)
    ended, revoked = service.end_sign_ins_by_admin(current_user, user)
    db.session.commit()
    return jsonify(sessions_ended=ended, tokens_revoked=revoked)


@bp.delete("/users/<username>/sessions/<int:session_id>")
@login_required
@spec.validate(resp=answers(SessionItem, 401, 403, 404), tags=["users"])
def end_user_session(username: str, session_id: int):  # type: ignore[no-untyped-def]
    """End one of someone's browser sessions (audited as session.end)."""
    user = _person(username)
    record = db.session.scalar(
        select(UserSession).where(
            UserSession.id == session_id,
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
        )
    )
    if record is None:
        raise NotFound()
    service.end_session_by_admin(current_user, record)
    db.session.commit()
    return jsonify(session_json(record))


@bp.delete("/users/<username>/tokens/<int:token_id>")
@login_required
@spec.validate(resp=answers(TokenItem, 401, 403, 404), tags=["users"])
def revoke_user_token(username: str, token_id: int):  # type: ignore[no-untyped-def]
    """Revoke one of someone's API tokens (audited as token.revoke)."""
    user = _person(username)
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound()
    service.revoke_token(token, current_user, reason="revoked_by_admin")
    db.session.commit()
    return jsonify(token_json(token))
