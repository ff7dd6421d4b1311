"""Credentials other than passwords: browser sessions, API tokens and the sign-in failure log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import User


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, so a user can tell tokens apart in the list.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    #: Issued in exchange for a password (``POST /auth/token``): such a token dies with a
    #: password change, and a new sign-in under the same name replaces it.
    from_sign_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… user={self.user_id}>"


class UserSession(Base):
    """One browser sign-in, checked on every request, so ending it ends every copy of the
    cookie. The signed cookie carries a random key; only its SHA-256 is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the random key in the cookie; the one indexed lookup per request.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Refreshed at most once a minute, so reads stay reads.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the session ends; a session with an end is never accepted again.
    ended_at: Mapped[datetime | None] = mapped_column()
    #: Why it ended: ``logout``, ``password_change``, ``password_reset``, ``left``, ``revoked``.
    end_reason: Mapped[str | None] = mapped_column(String(32))
    #: The browser that signed in, so a person can tell their sessions apart.
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id} ended={self.ended_at}>"


class SignInFailure(Base):
    """One failed sign-in; counted per username and per address to throttle guessing.

    Kept in the database rather than process memory so every gunicorn worker sees the
    same count.
    """

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
