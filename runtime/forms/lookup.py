"""What widgets may ask the database while a form is drawn or a workbook written.

Widgets never query; they ask a `quire.widgets.base.Lookup`, and this is the runtime's,
read once per page (or workbook) and kept for its lifetime.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Attachment, Department, Role, User, UserStatus
from ..numbers import parse_id


class OrganisationLookup:
    """Departments, users and uploaded files, as `(value, label)` pairs for widgets."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._departments: list[tuple[str, str]] | None = None
        self._users: list[tuple[str, str]] | None = None
        self._roles: list[tuple[str, str]] | None = None

    def departments(self) -> list[tuple[str, str]]:
        if self._departments is None:
            rows = db.session.scalars(
                select(Department).where(Department.active).order_by(Department.path)
            )
            self._departments = [(d.code, f"{d.code} {d.name(self.locale)}") for d in rows]
        return self._departments

    def users(self) -> list[tuple[str, str]]:
        if self._users is None:
            rows = db.session.scalars(
                select(User).where(User.status != UserStatus.LEFT).order_by(User.username)
            )
            self._users = [(u.username, f"{u.username} · {u.display_name}") for u in rows]
        return self._users

    def roles(self) -> list[tuple[str, str]]:
        """Roles of the organisation: key, "key name"."""
        if self._roles is None:
            rows = db.session.scalars(select(Role).order_by(Role.key))
            self._roles = [(r.key, f"{r.key} {r.name(self.locale)}") for r in rows]
        return self._roles

    def source_options(self, field: Any) -> list[tuple[str, str]] | None:
        """Data sources need a template and a reader; a bare lookup has neither."""
        return None

    def attachment_name(self, value: str) -> str | None:
        attachment_id = parse_id(value)
        if attachment_id is not None:
            attachment = db.session.get(Attachment, attachment_id)
            if attachment is not None:
                return attachment.filename
        return None
