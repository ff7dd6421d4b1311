"""The organisation: departments, people, roles and the grants that give people rights.

Rights are never attached to a person directly: a :class:`RoleGrant` gives a role to a
user within a scope (department subtree, projects, fiscal periods) and a validity
window, so that access reviews and expiry have one thing to look at.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .auth import ApiToken


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    LEFT = "left"


class Department(Base):
    """A node of the department tree; ``path`` makes subtree filters one indexed LIKE."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code used everywhere in data and the API, e.g. ``SALES-E``.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: Display names; the UI picks one by locale.
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: The department manager (approvals, reminders); a user may manage several.
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_departments_manager_id_users")
    )
    cost_center: Mapped[str | None] = mapped_column(String(32))
    #: Materialised path of codes, ``/HQ/SALES/SALES-E/``, kept by the organisation service.
    path: Mapped[str] = mapped_column(String(1000), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Department | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id], post_update=True)

    def name(self, locale: str | None = "zh_CN") -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh

    @property
    def depth(self) -> int:
        return self.path.strip("/").count("/")

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class User(Base):
    """A person who signs in. People who leave are kept (history) with status ``left``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[UserStatus] = mapped_column(
        Enum(
            UserStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=UserStatus.ACTIVE,
    )
    #: argon2 hash; None for accounts that sign in only through tokens or SSO.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: The cost centre the person works for within their department (their profile, kept by
    #: HR); the lines of a department's budget they may fill in. None: the department's own.
    cost_center: Mapped[str | None] = mapped_column(String(32))
    #: Preferred UI language (``zh_CN`` or ``en``); None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(8))
    #: Who acts for this user while on leave, and when.
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delegate_from: Mapped[date | None] = mapped_column(Date)
    delegate_until: Mapped[date | None] = mapped_column(Date)
    #: Bumped on password change, disabling and leaving: old sessions stop at once.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Set by an administrator's password reset: the person must choose a new password at
    #: their next sign-in before anything else.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(foreign_keys=[department_id])
    manager: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[manager_id])
    delegate: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[delegate_id])
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id"
    )
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.status != UserStatus.LEFT

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The version makes every session of a disabled user or an old password invalid.
        return f"{self.id}:{self.auth_version}"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.status})>"


class Role(Base):
    """A named set of permissions (see :class:`quire.runtime.access.Permission`)."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key used by templates and the API, e.g. ``finance_reviewer``.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    #: Permission values, e.g. ``["submission.read", "report.export"]``.
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Holders of this role approve access requests for it (the role's owner), e.g.
    #: ``finance_admin`` for the finance roles. None: the system administrators.
    owner_role_key: Mapped[str | None] = mapped_column(String(64))
    #: A request for a high-risk role also needs the security approver's decision.
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Holders of this role are the security approver of a high-risk role (e.g. ``cfo``).
    security_approver_role_key: Mapped[str | None] = mapped_column(String(64))
    #: A request for this role must say when it ends (``valid_until``).
    temporary_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The longest a requested grant may last, in days; None: no limit.
    max_days: Mapped[int | None] = mapped_column(Integer)

    def name(self, locale: str | None = "zh_CN") -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh

    def __repr__(self) -> str:
        return f"<Role {self.key}>"


class RoleGrant(Base):
    """User × role × scope × validity: the only thing that gives anyone a right.

    The scope narrows where the role applies: a department (and its subtree unless
    ``include_subtree`` is off; no department = the whole organisation), a list of
    projects, and a range of fiscal periods. Validity is checked at query time, so a
    grant past ``valid_until`` stops counting at once without a job.
    """

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"))
    #: None means organisation-wide.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    include_subtree: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Project codes the grant is limited to; None means every project.
    projects: Mapped[list[str] | None] = mapped_column(JSON)
    #: Fiscal period range, inclusive, by first day of month; None means open-ended.
    period_from: Mapped[date | None] = mapped_column(Date)
    period_until: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column()
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Why the grant exists (ticket, access request); shown in access reviews.
    note: Mapped[str | None] = mapped_column(Text)
    #: The approved ``access-request`` submission the grant came from; None means it was
    #: granted without a request (by an administrator, the CLI, the HR sync, the demo).
    request_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id"), index=True
    )
    #: When the grant last decided an access check that succeeded (dormant-grant reports).
    last_used_at: Mapped[datetime | None] = mapped_column()
    #: When the holder and the role's owner were reminded that a temporary grant ends.
    expiry_reminded_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    role: Mapped[Role] = relationship()
    department: Mapped[Department | None] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return (
            self.revoked_at is None
            and self.valid_from <= now
            and (self.valid_until is None or self.valid_until > now)
        )

    def scope_summary(self) -> dict[str, Any]:
        return {
            "department": self.department.code if self.department else None,
            "include_subtree": self.include_subtree,
            "projects": self.projects,
            "period_from": self.period_from.isoformat() if self.period_from else None,
            "period_until": self.period_until.isoformat() if self.period_until else None,
        }

    def __repr__(self) -> str:
        return f"<RoleGrant {self.user_id}:{self.role_id} dept={self.department_id}>"
