"""Browser sessions that the server can end.

The signed cookie carries a random session key; the ``user_sessions`` row behind it is
looked up (one indexed query, joined with the user) on every request. Signing out,
changing or resetting a password, and leaving end rows, so a copied cookie stops working
at once instead of living out its 31 days. A session unused for
``SESSION_IDLE_MINUTES`` (default 120) ends the same way, on the server, when its cookie
next comes back.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, session
from flask_login import login_user
from sqlalchemy import select, update
from sqlalchemy.orm import contains_eager

from ..extensions import affected_rows, db
from ..models import User, UserSession, UserStatus, utcnow

#: Where the cookie keeps the session key.
COOKIE_KEY = "sid"
#: ``last_seen_at`` moves at most this often, so most requests only read.
SEEN_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start(user: User, *, user_agent: str | None, ip: str | None) -> UserSession:
    """Sign ``user`` in with a fresh session: a new key and a new CSRF token, and nothing
    carried over from before sign-in (no session fixation)."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the token per request
    key = secrets.token_urlsafe(32)
    record = UserSession(
        key_hash=_digest(key),
        user=user,
        user_agent=(user_agent or "")[:200] or None,
        ip=(ip or "")[:64] or None,
    )
    db.session.add(record)
    db.session.flush()
    login_user(user)
    session[COOKIE_KEY] = key
    g.quire_session = record
    return record


def load(identity: str, now: datetime | None = None) -> User | None:
    """The user behind this request's session cookie, or None when the session ended.

    ``identity`` is what Flask-Login stored (``User.get_id()``): it must still match, so a
    bumped ``auth_version`` ends the session too."""
    key = session.get(COOKIE_KEY)
    if not isinstance(key, str) or not key:
        return None
    record = db.session.scalar(
        select(UserSession)
        .join(UserSession.user)
        .options(contains_eager(UserSession.user))
        .where(UserSession.key_hash == _digest(key), UserSession.ended_at.is_(None))
    )
    if record is None:
        return None
    user = record.user
    if user.status == UserStatus.LEFT or user.get_id() != identity:
        return None
    now = now or utcnow()
    idle = idle_limit()
    if idle is not None and now - record.last_seen_at > idle:
        end(record, "idle")
        db.session.commit()
        return None
    if now - record.last_seen_at > SEEN_EVERY:
        record.last_seen_at = now
        db.session.commit()
    g.quire_session = record
    return user


def idle_limit() -> timedelta | None:
    """How long a session may go unused before it ends (None: no limit)."""
    minutes = int(current_app.config.get("SESSION_IDLE_MINUTES") or 0)
    return timedelta(minutes=minutes) if minutes > 0 else None


def current() -> UserSession | None:
    """This request's session row (None for bearer tokens and anonymous requests)."""
    return g.get("quire_session")


def end(record: UserSession, reason: str) -> None:
    if record.ended_at is None:
        record.ended_at, record.end_reason = utcnow(), reason


def end_all(user: User, reason: str, *, keep: UserSession | None = None) -> int:
    """End every open session of ``user`` except ``keep``; returns how many ended."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    result = db.session.execute(stmt)
    return affected_rows(result)


def open_sessions(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .order_by(UserSession.last_seen_at.desc())
        )
    )
