"""Password hashing with argon2; the cost drops only when tests ask for it."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_DEFAULT = PasswordHasher()
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

MIN_LENGTH = 10


def _hasher() -> PasswordHasher:
    return _FAST if current_app.config.get("PASSWORD_HASH_FAST") else _DEFAULT


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    if not stored:
        # Spend the same time as a real check so unknown users cannot be told apart.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if username and username.lower() in password.lower():
        return "must not contain the username"
    return None
