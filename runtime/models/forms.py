"""Templates as stored (drafts, immutable published versions) and the submissions made from them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ExactDecimal, ScopeColumns, utcnow
from .org import Department, User


class FormTemplate(Base):
    """A template's identity and editable draft; published versions are :class:`TemplateVersion`."""

    __tablename__ = "form_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL and API name, e.g. ``expense-claim``.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``form`` or ``report``.
    kind: Mapped[str] = mapped_column(String(16))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    #: The JSON document being edited; None once published and not changed since.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft_updated_at: Mapped[datetime | None] = mapped_column()
    draft_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Highest published version number; 0 while never published.
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    #: Optimistic lock of the draft: every change to it (an operation, undo, replace) adds one,
    #: and a change sent with an older number is refused (two admins, one draft).
    draft_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.version"
    )

    def title(self, locale: str | None = "zh_CN") -> str:
        return self.title_en if (locale or "").startswith("en") else self.title_zh

    name = title

    def __repr__(self) -> str:
        return f"<FormTemplate {self.key} v{self.latest_version}>"


class TemplateVersion(Base):
    """A published version. Never changes: submissions render with the version they began on."""

    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_template_versions_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("form_templates.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    #: The canonical JSON document.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Why it was published, as the publisher wrote it.
    note: Mapped[str | None] = mapped_column(String(2000))

    template: Mapped[FormTemplate] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<TemplateVersion {self.template_id} v{self.version}>"


class DraftRevision(Base):
    """One change to a template's draft, with the document it left behind.

    The designer's operation stream: autosave is one row per operation, undo and redo walk
    back and forth over the rows (see :mod:`quire.designer.drafts`), and ``version`` is the
    draft's lock value after the change.
    """

    __tablename__ = "draft_revisions"
    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_draft_revisions_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("form_templates.id"), index=True)
    #: The draft's ``draft_version`` after this change.
    version: Mapped[int] = mapped_column(Integer)
    #: ``start`` (draft begun from a version), ``ops``, ``undo``, ``redo`` or ``replace``.
    kind: Mapped[str] = mapped_column(String(16))
    #: The operations applied (for ``ops``), as sent.
    ops: Mapped[list[Any] | None] = mapped_column(JSON)
    #: The whole draft document after the change.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<DraftRevision {self.template_id} v{self.version} {self.kind}>"


class SubmissionStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


#: States in which the submitter may still change the data.
EDITABLE_STATUSES = frozenset({SubmissionStatus.DRAFT, SubmissionStatus.RETURNED})


class Submission(Base):
    """One filled form. ``version`` is the optimistic lock every change must send back."""

    __tablename__ = "submissions"
    #: Rows are scoped by department subtree, project and period; submitters see their own.
    __scope__ = ScopeColumns(
        department="department_id", project="project", period="period", owner="submitter_id"
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("form_templates.id"), index=True)
    #: The published version the submission was created on and always renders with.
    template_version: Mapped[int] = mapped_column(Integer)
    #: Human reference, e.g. ``EC-2026-00042``.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[SubmissionStatus] = mapped_column(
        Enum(
            SubmissionStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=SubmissionStatus.DRAFT,
        index=True,
    )
    #: The department the submission belongs to (its ``department`` field, else the submitter's).
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    project: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The fiscal period it counts in (first day of the month).
    period: Mapped[date] = mapped_column(Date, index=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: Field values as canonical JSON (money as "25000.00" strings, dates as YYYY-MM-DD).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The form's ``total`` field when it has one, for lists, inboxes and routing.
    total: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 2))
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The approval step currently open (None when not in review).
    current_step: Mapped[str | None] = mapped_column(String(64))
    #: The submission this one corrects or replaces, if any: the approved submission an
    #: amendment (变更, numbered ``<original>-R1``…) or a budget adjustment was made from.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    #: The approved revision that replaced this approved submission, once it was approved.
    #: The status stays ``approved``; reports and budget checks count only submissions
    #: without it (:func:`quire.runtime.forms.revisions.in_effect`).
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()

    template: Mapped[FormTemplate] = relationship()
    department: Mapped[Department] = relationship()
    submitter: Mapped[User] = relationship(foreign_keys=[submitter_id])
    supersedes: Mapped[Submission | None] = relationship(
        foreign_keys=[supersedes_id], remote_side=[id]
    )
    superseded_by: Mapped[Submission | None] = relationship(
        foreign_keys=[superseded_by_id], remote_side=[id]
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def __repr__(self) -> str:
        return f"<Submission {self.number} {self.status}>"


class Attachment(Base):
    """An uploaded file (an invoice scan); kept in the file store by its hash."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: Set once a saved submission refers to it.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: Its key in the file store below ``uploads/`` (``ab/ab12….pdf``).
    storage_path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.filename}>"


class VoucherUse(Base):
    """An invoice number or invoice file hash used by a submission, to stop double claims."""

    __tablename__ = "voucher_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    #: ``invoice`` (a normalised invoice number) or ``file`` (an attachment's SHA-256).
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128), index=True)
    #: Where in the submission, e.g. ``lines[2].invoice``.
    path: Mapped[str] = mapped_column(String(100))
