"""Separation-of-duties rules and the exceptions the CFO approves to them.

A :class:`SodRule` says two sets of permissions must not meet in one person (designing
templates and approving claims; administering users and reading finance data).
:func:`quire.runtime.access.sod_conflicts` reads the enabled rules whenever a grant is
made; an :class:`SodException` for that person and rule, still valid, lets it through.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import User


class SodRule(Base):
    """Nobody may hold a permission of ``left_permissions`` and one of
    ``right_permissions`` at once (within one department when ``same_department``)."""

    __tablename__ = "sod_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key, e.g. ``design-vs-approve``.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: The rule's name as refusals and reports show it, per language.
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    #: Permission values of the one side, e.g. ``["template.design"]``.
    left_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Permission values of the other side, e.g. ``["submission.approve"]``.
    right_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The conflict counts only where both sides reach the same department (a grant's
    #: department or subtree; an unscoped grant reaches every department), e.g. "may not
    #: approve in the department one files forms for as staff". Off: anywhere at all.
    same_department: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Disabled rules are kept (history, the audit log) but refuse nothing.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def name(self, locale: str | None = "zh_CN") -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh

    def __repr__(self) -> str:
        return f"<SodRule {self.key}{'' if self.enabled else ' (disabled)'}>"


class SodException(Base):
    """The CFO's approved exception: ``user`` may hold both sides of ``rule`` until
    ``valid_until`` (None: until withdrawn by disabling the rule)."""

    __tablename__ = "sod_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("sod_rules.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: Why the business needs the person to hold both (from the request).
    reason: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column()
    #: The access request that carried the exception, when there was one.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))

    rule: Mapped[SodRule] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.valid_until is None or self.valid_until > now

    def __repr__(self) -> str:
        return f"<SodException rule={self.rule_id} user={self.user_id}>"
