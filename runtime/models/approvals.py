"""Approval tasks (who must act on which step) and the history of everything that happened."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .forms import Submission
from .org import User


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    #: Handed on to someone else (delegated, transferred, escalated or reassigned).
    DELEGATED = "delegated"
    #: No longer needed (another approver decided, the form was returned or withdrawn).
    CANCELLED = "cancelled"
    #: Not yet the holder's turn: an approver who added signers before themselves waits
    #: for them; a signer added after the approver waits for the approver's decision.
    WAITING = "waiting"


class ApprovalTask(Base):
    """One person's part in one step of one submission's route."""

    __tablename__ = "approval_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    #: The template's step key, e.g. ``manager``, ``finance``, ``cfo``.
    step_key: Mapped[str] = mapped_column(String(64))
    #: Position of the step in the route (0-based).
    step_index: Mapped[int] = mapped_column(Integer)
    #: Incremented each time the submission re-enters review after a return.
    round: Mapped[int] = mapped_column(Integer, default=1)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: Who the task was meant for when it went to a delegate ("X for Y").
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: True when the task reached its assignee through the holder's standing delegation
    #: (leave): it stays the holder's, and the delegate may decide it only while that
    #: delegation lasts (see :func:`quire.runtime.access.actionable_tasks`). False for a
    #: task handed on by an explicit "delegate" action, which is the assignee's for good.
    through_delegation: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[TaskStatus] = mapped_column(
        Enum(
            TaskStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=TaskStatus.OPEN,
        index=True,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    decided_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    #: What the engine checked when the task was created (budget figures, duplicate
    #: invoices), so inboxes show the key figures and bulk approval knows what passed.
    checks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Optimistic lock for concurrent decisions.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: For a signer added by an approver (加签): who added them …
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: … where: ``before`` / ``after`` the approver, or ``any`` / ``all`` alongside them …
    added_as: Mapped[str | None] = mapped_column(String(16))
    #: … and to which task (the approver's own). The step's mode counts a task together with
    #: the signers added to it as one seat.
    added_to_id: Mapped[int | None] = mapped_column(ForeignKey("approval_tasks.id"))

    submission: Mapped[Submission] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return (
            f"<ApprovalTask {self.submission_id}:{self.step_key} {self.assignee_id} {self.status}>"
        )


class SubmissionCopy(Base):
    """Someone a submission is copied to (抄送): told about it and able to read it, without
    acting on it. Named by a step or the template (``added_by`` empty) or by an approver."""

    __tablename__ = "submission_copies"
    __table_args__ = (
        UniqueConstraint("submission_id", "user_id", name="uq_submission_copies_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The step that copied it (None: the whole template, or an approver's own choice).
    step_key: Mapped[str | None] = mapped_column(String(64))
    #: The approver who copied it; None when the route did.
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])

    def __repr__(self) -> str:
        return f"<SubmissionCopy {self.submission_id} → {self.user_id}>"


class ApprovalEvent(Base):
    """A line of a submission's history: submitted, approved, skipped (and why), returned…"""

    __tablename__ = "approval_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    step_key: Mapped[str | None] = mapped_column(String(64))
    #: The review round (1 for the first submission, 2 after one return, …).
    round: Mapped[int | None] = mapped_column(Integer)
    #: None for the system (automatic decisions, timeouts).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: submit, approve, reject, return, delegate, withdraw, comment, skip, auto_approve,
    #: auto_reject, remind, escalate, reassign.
    action: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    #: Facts behind an automatic decision (rule, amounts, budget figures).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])

    def __repr__(self) -> str:
        return f"<ApprovalEvent {self.submission_id}:{self.step_key} {self.action}>"


class Notification(Base):
    """An in-app message (new task, decision, reminder…); email copies go through the mailer."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: Bilingual text, rendered at creation so it reads the same later.
    subject_zh: Mapped[str] = mapped_column(String(300))
    subject_en: Mapped[str] = mapped_column(String(300))
    #: The submission it is about, if any.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    #: Body text in both languages (the email copy carries both).
    body_zh: Mapped[str | None] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column()
    #: The outbox: None until the email copy was handed to the mail backend (or not needed, or
    #: could never be sent: then `mail_error` starts with "not sent:").
    emailed_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Why the last email attempt failed, if it did.
    mail_error: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship()

    def subject(self, locale: str | None = "zh_CN") -> str:
        return self.subject_en if (locale or "").startswith("en") else self.subject_zh

    def __repr__(self) -> str:
        return f"<Notification {self.kind} to {self.user_id}>"


class SavedPhrase(Base):
    """An approver's own saved comment (常用语), offered as they type a decision's comment."""

    __tablename__ = "saved_phrases"
    __table_args__ = (UniqueConstraint("user_id", "text", name="uq_saved_phrases_user_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose phrase: only they see, use or delete it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The comment as it will be written into the decision.
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<SavedPhrase {self.id} of {self.user_id}>"
