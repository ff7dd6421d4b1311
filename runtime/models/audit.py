"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AuditEvent(Base):
    """One change: who, when, what, before/after. ``hash`` chains it to the previous event."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the chain, 1, 2, 3… without gaps.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Username at the time (kept even if the user is renamed); "system" for jobs.
    actor_name: Mapped[str] = mapped_column(String(64))
    #: Dotted verb, e.g. ``auth.login``, ``grant.create``, ``submission.approve``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64), index=True)
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The department of what the event is about (a submission's, a person's), so that a
    #: department-scoped auditor reads only that department's events; None = organisation.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    #: ``{field: [before, after]}`` for changes, or other facts for non-changes.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent #{self.seq} {self.action} {self.object_type}:{self.object_id}>"


class AuditHead(Base):
    """The single row that serialises appends: updating it first locks the chain's end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
