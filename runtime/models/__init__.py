"""Database models. Import from here so Alembic sees every table."""

from .audit import AuditEvent, AuditHead
from .auth import ApiToken, SignInFailure
from .base import Base, utcnow
from .org import Department, Role, RoleGrant, User, UserStatus

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Department",
    "Role",
    "RoleGrant",
    "SignInFailure",
    "User",
    "UserStatus",
    "utcnow",
]
