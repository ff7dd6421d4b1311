"""Report exports run in the background, and report subscriptions (scheduled delivery)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import User


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class ExportJob(Base):
    """One export of one report, written to the file store under ``exports/``.

    Only its owner may read its status or download the file, and only until ``expires_at``.
    """

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable id used in URLs, so job numbers do not reveal how busy the system is.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    report_key: Mapped[str] = mapped_column(String(64))
    #: ``xlsx``, ``pdf`` or ``csv``.
    format: Mapped[str] = mapped_column(String(8))
    #: The report parameters as given (query-string values).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=JobStatus.QUEUED,
        index=True,
    )
    #: 0-100.
    progress: Mapped[int] = mapped_column(Integer, default=0)
    #: Rows in the report once known.
    rows: Mapped[int | None] = mapped_column(Integer)
    #: Times a worker has started it; an interrupted job is retried once (at most 2).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The worker running it (``host:pid``), so a worker that died can be recognised.
    worker: Mapped[str | None] = mapped_column(String(200))
    #: Last sign of life from that worker (start and each progress step).
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    #: File name in the file store under ``exports/`` once finished.
    file_path: Mapped[str | None] = mapped_column(String(300))
    #: The name the browser saves it as.
    filename: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    #: The subscription that asked for it, if it was a scheduled delivery.
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("report_subscriptions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    #: After this the file is deleted and the download answers 404.
    expires_at: Mapped[datetime] = mapped_column(index=True)

    owner: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ExportJob {self.id} {self.report_key}.{self.format} {self.status}>"


class ReportSubscription(Base):
    """A user's standing order for a report: rendered on a schedule and posted to their inbox
    (and, through the notification outbox, emailed)."""

    __tablename__ = "report_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    report_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    format: Mapped[str] = mapped_column(String(8), default="xlsx")
    #: ``daily``, ``weekly`` (``day`` is 1 = Monday … 7) or ``monthly`` (``day`` of the month,
    #: capped at the month's last day).
    frequency: Mapped[str] = mapped_column(String(16), default="monthly")
    day: Mapped[int] = mapped_column(Integer, default=1)
    #: Local time of day (the instance's time zone).
    hour: Mapped[int] = mapped_column(Integer, default=8)
    minute: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None] = mapped_column()
    #: Why the last delivery failed (rights lost, a parameter no longer valid…).
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ReportSubscription {self.id} {self.report_key} {self.frequency}>"
