"""What the HR system last told Quire about a person: employee number and position.

Kept beside :class:`~quire.runtime.models.User` so a position change can take away exactly
the role grants the old position gave (see :mod:`quire.runtime.hr_sync`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import User


class EmployeeRecord(Base):
    """One person as the HR directory knows them, linked to their Quire account."""

    __tablename__ = "employee_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    #: The HR system's employee number, e.g. ``E1004``.
    employee_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The HR position key the person's base grants come from, e.g. ``engineer``.
    position: Mapped[str | None] = mapped_column(String(64))
    #: When the last sync confirmed or changed this record.
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<EmployeeRecord {self.employee_no} {self.position}>"
