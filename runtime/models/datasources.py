"""Data sources an administrator configures: a connector type, its settings, its secrets.

Templates name a data source by key (`data_sources[].config.source` or the entry's own key,
and `options_from.source`), so the connection details live in one place and a password is
typed once, by the person allowed to, and stored encrypted (see
:mod:`quire.runtime.datasources.vault`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import User


class DataSource(Base):
    """One configured source of outside data (ERP ledger, HR directory, a database, a file)."""

    __tablename__ = "data_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable name templates use, e.g. ``erp-actuals``; never changes once created.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: What the admin page calls it.
    name: Mapped[str] = mapped_column(String(200))
    #: Connector type (an entry-point name of ``quire.connectors``), e.g. ``erp_ledger``.
    connector: Mapped[str] = mapped_column(String(64))
    #: The connector's settings without its secret fields.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Secret fields, each a Fernet token (never clear text, never rendered back).
    secrets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Seconds results are cached; 0 reads the source every time.
    cache_ttl_s: Mapped[int] = mapped_column(Integer, default=0)
    #: Seconds the runtime waits for an answer before saying "source unavailable".
    timeout_s: Mapped[int] = mapped_column(Integer, default=15)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    def __repr__(self) -> str:
        return f"<DataSource {self.key} ({self.connector})>"
