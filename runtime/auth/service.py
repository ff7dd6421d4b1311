"""Sign-in and token rules, independent of how the request arrived (web form or API)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, inspect, or_, select, update
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, generation
from ..errors import Detail, Invalid, TooManyRequests, Unauthorized
from ..extensions import db
from ..models import ApiToken, SignInFailure, User, UserSession, UserStatus, utcnow
from . import sessions
from .passwords import check_password, hash_password, password_problem

TOKEN_PREFIX = "qt_"  # noqa: S105 - a prefix, not a secret
#: The name of a token from ``POST /auth/token`` when the client gives none.
SIGN_IN_TOKEN_NAME = "API sign-in"  # noqa: S105 - a label, not a secret
RESET_BY_ADMIN_MESSAGE = (
    "An administrator has reset your password: sign in on the web and choose a new one first."
)


def _throttled(username: str, ip: str | None) -> bool:
    """True when this username or this address failed too often in the window."""
    since = utcnow() - timedelta(seconds=current_app.config["SIGNIN_WINDOW_SECONDS"])
    recent = select(func.count()).where(SignInFailure.at > since)
    by_user = db.session.scalar(recent.where(SignInFailure.username == username.lower())) or 0
    by_ip = db.session.scalar(recent.where(SignInFailure.ip == ip)) if ip else 0
    return max(by_user, by_ip or 0) >= current_app.config["SIGNIN_MAX_FAILURES"]


def sign_in(username: str, password: str, ip: str | None) -> User:
    """Check credentials; raise 429 when throttled, 401 otherwise. Audits both outcomes."""
    username = (username or "").strip()
    if _throttled(username, ip):
        raise TooManyRequests("Too many failed sign-ins. Please wait a minute and try again.")
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = check_password(user.password_hash if user else None, password or "")
    if not ok or user is None or user.status == UserStatus.LEFT:
        db.session.add(SignInFailure(username=username.lower()[:64], ip=ip))
        audit.record(
            user,
            "auth.login_failed",
            object_type="user",
            object_id=user.id if user else None,
            changes={"username": username[:64]},
            actor_name=(user.username if user else username[:64]) or "?",
        )
        db.session.commit()
        raise Unauthorized("Wrong username or password, or the account is disabled.")
    audit.record(user, "auth.login", object_type="user", object_id=user.id)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str, *, keep: UserSession | None = None) -> None:
    """The person's own change: every other session and every password-issued token ends."""
    if not check_password(user.password_hash, current):
        raise Invalid(
            "Please check the form.", [Detail("current_password", "is not your current password")]
        )
    problem = password_problem(new, user.username)
    if problem:
        raise Invalid("Please check the form.", [Detail("new_password", problem)])
    if check_password(user.password_hash, new):
        raise Invalid(
            "Please check the form.", [Detail("new_password", "must differ from the current one")]
        )
    set_password(user, new, actor=user, keep=keep)


def set_password(
    user: User, new: str, actor: User | None, *, keep: UserSession | None = None
) -> None:
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.auth_version = (user.auth_version or 1) + 1
    sessions.end_all(user, "password_change", keep=keep)
    for token in _open_tokens(user, from_sign_in=True):
        revoke_token(token, actor, reason="password_change")
    audit.record(actor, "user.password_change", object_type="user", object_id=user.id)


def reset_password(actor: User, user: User, new: str) -> None:
    """An administrator sets someone else's password: they now know it, so the person must
    choose their own at the next sign-in, and everything signed in as them ends now."""
    problem = password_problem(new, user.username)
    if problem:
        raise Invalid("Please check the form.", [Detail("password", problem)])
    user.password_hash = hash_password(new)
    user.must_change_password = True
    user.auth_version = (user.auth_version or 1) + 1
    ended = sessions.end_all(user, "password_reset")
    tokens = _open_tokens(user)
    for token in tokens:
        revoke_token(token, actor, reason="password_reset")
    audit.record(
        actor,
        "user.password_reset",
        object_type="user",
        object_id=user.username,
        changes={
            "must_change_password": True,
            "sessions_ended": ended,
            "tokens_revoked": len(tokens),
        },
    )


def end_sign_ins(user: User, actor: User | None, reason: str) -> None:
    """Disabling or leaving: every session and every token of the person ends at once."""
    user.auth_version = (user.auth_version or 1) + 1
    sessions.end_all(user, reason)
    for token in _open_tokens(user):
        revoke_token(token, actor, reason=reason)


def end_sign_ins_by_admin(actor: User, user: User) -> tuple[int, int]:
    """An administrator signs someone out everywhere (a lost laptop, a leaked token): every
    open session ends and every token is revoked. Returns (sessions ended, tokens revoked).
    The caller has asked ``access.may_end_sign_ins_of``."""
    ended = sessions.end_all(user, "ended_by_admin")
    tokens = _open_tokens(user)
    for token in tokens:
        revoke_token(token, actor, reason="ended_by_admin")
    audit.record(
        actor,
        "user.sessions_end",
        object_type="user",
        object_id=user.username,
        changes={"sessions_ended": ended, "tokens_revoked": len(tokens)},
    )
    return ended, len(tokens)


def end_session_by_admin(actor: User, record: UserSession) -> None:
    """An administrator ends one of someone's browser sessions."""
    if record.ended_at is None:
        sessions.end(record, "ended_by_admin")
        audit.record(
            actor,
            "session.end",
            object_type="user_session",
            object_id=record.id,
            changes={"user": record.user.username, "reason": "ended_by_admin"},
        )


def open_tokens(user: User) -> list[ApiToken]:
    """The person's tokens that still work (not revoked, not expired), newest first."""
    now = utcnow()
    return sorted(
        (t for t in _open_tokens(user) if t.expires_at is None or t.expires_at > now),
        key=lambda t: t.id,
        reverse=True,
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    user: User,
    name: str,
    *,
    days: int | None = None,
    actor: User | None = None,
    from_sign_in: bool = False,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its clear text, which is never stored."""
    days = days if days is not None else current_app.config["API_TOKEN_DAYS"]
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=(name or "API token")[:100],
        token_hash=_digest(clear),
        prefix=clear[:10],
        expires_at=utcnow() + timedelta(days=days) if days else None,
        from_sign_in=from_sign_in,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        actor or user,
        "token.create",
        object_type="api_token",
        object_id=token.id,
        changes={
            "user": user.username,
            "name": token.name,
            "expires_at": token.expires_at,
            "from_sign_in": from_sign_in,
        },
    )
    return token, clear


def sign_in_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A token for a password sign-in through the API. Signing in again under the same
    name replaces the previous token instead of piling up another one."""
    name = (name or SIGN_IN_TOKEN_NAME)[:100]
    for token in _open_tokens(user, from_sign_in=True):
        if token.name == name:
            revoke_token(token, user, reason="replaced")
    return create_token(user, name, from_sign_in=True)


def _open_tokens(user: User, *, from_sign_in: bool | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if from_sign_in is not None:
        stmt = stmt.where(ApiToken.from_sign_in.is_(from_sign_in))
    return list(db.session.scalars(stmt))


def revoke_token(token: ApiToken, actor: User | None, *, reason: str = "revoked") -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            actor,
            "token.revoke",
            object_type="api_token",
            object_id=token.id,
            changes={"user": token.user.username, "name": token.name, "reason": reason},
        )


#: Built once: every API request asks it, and building the statement costs more than running it.
_TOKEN_LOOKUP = (
    select(ApiToken)
    .options(joinedload(ApiToken.user))
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")),
    )
)


@dataclass(frozen=True)
class _KnownToken:
    """What a token check found, kept until the data generation moves (any write to tokens
    or users moves it): the token, its expiry and last use, and the user's column values."""

    generation: int
    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    user: dict[str, Any]


_KNOWN_MAX = 10_000
_USER_COLUMNS = tuple(attr.key for attr in inspect(User).column_attrs)


def user_for_token(clear: str, now: datetime | None = None) -> User | None:
    """The active user behind a bearer token, or None (revoked, expired, user left).

    Every API request asks this. While the data generation stands (no token, user or other
    data written since), the answer found last time still holds: the user is put back into
    the session from the values then read, without a query; expiry is checked every time."""
    if not clear or not clear.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    digest = _digest(clear)
    stamp = generation.of_request()
    # Per app (one database each); a worker serves one.
    _known_tokens: dict[str, _KnownToken] = current_app.extensions.setdefault("quire.tokens", {})
    known = _known_tokens.get(digest)
    if known is not None and known.generation == stamp:
        if known.expires_at is not None and known.expires_at <= now:
            return None
        user = _attached_user(known.user)
    else:
        token = db.session.scalar(_TOKEN_LOOKUP, {"digest": digest, "now": now})
        if token is None or token.user.status == UserStatus.LEFT:
            _known_tokens.pop(digest, None)
            return None
        user = token.user
        if stamp is not None:
            if len(_known_tokens) >= _KNOWN_MAX:
                _known_tokens.clear()
            known = _KnownToken(
                stamp,
                token.id,
                token.expires_at,
                token.last_used_at,
                {key: getattr(user, key) for key in _USER_COLUMNS},
            )
            _known_tokens[digest] = known
        else:
            known = None
        last_used, token_id = token.last_used_at, token.id
    if known is not None:
        last_used, token_id = known.last_used_at, known.token_id
    # Record use at most once a minute to keep reads cheap (a statement that leaves the
    # data generation as it is: see runtime/generation.py).
    if last_used is None or now - last_used > timedelta(minutes=1):
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if known is not None:
            _known_tokens[digest] = replace(known, last_used_at=now)
    return user


def _attached_user(values: dict[str, Any]) -> User:
    """A persistent User in this request's session built from kept column values."""
    identity = inspect(User).identity_key_from_primary_key((values["id"],))
    present = db.session.identity_map.get(identity)
    if present is not None:
        return present  # type: ignore[no-any-return]
    user = inspect(User).class_manager.new_instance()
    for key, value in values.items():
        set_committed_value(user, key, value)
    make_transient_to_detached(user)
    db.session.add(user)
    return user
