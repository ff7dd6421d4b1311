"""Access reviews: a campaign asks managers, person by person, whether each current grant
should stay, go or shrink; the answers are the evidence auditors ask for.

A campaign covers either every grant of a finance role or every grant held by the people
of a department subtree. Starting it freezes the list: one :class:`AccessReviewItem` per
grant current at that moment, with a copy of what the grant allowed then, so the
evidence still reads right after the grant itself has been revoked or narrowed.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScopeColumns, utcnow
from .org import Department, Role, RoleGrant, User


class ReviewScope(enum.StrEnum):
    #: Every current grant of a role with rights over finance data, organisation-wide.
    FINANCE_ROLES = "finance_roles"
    #: Every current grant held by the people of a department subtree.
    DEPARTMENT = "department"


class CampaignStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReviewDecision(enum.StrEnum):
    KEEP = "keep"
    REVOKE = "revoke"
    NARROW = "narrow"


class AccessReviewCampaign(Base):
    """One round of access review: what is reviewed, by when, and whether it repeats."""

    __tablename__ = "access_review_campaigns"
    #: A campaign belongs to the department it reviews; None = the organisation.
    __scope__ = ScopeColumns(department="department_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: ``finance_roles`` or ``department`` (:class:`ReviewScope`).
    scope_kind: Mapped[str] = mapped_column(String(32))
    #: Root of the reviewed subtree for ``department`` campaigns; None for finance roles.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    #: Last day to decide, in the organisation's local calendar.
    due_date: Mapped[date] = mapped_column(Date)
    #: Days before the due date when reviewers with open items are reminded.
    remind_days: Mapped[int] = mapped_column(Integer, default=3)
    #: ``open`` while items wait; ``closed`` once every item is decided or it was closed.
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.OPEN.value, index=True)
    #: ``quarterly`` for a campaign that starts again by itself; None for a one-off.
    recurrence: Mapped[str | None] = mapped_column(String(16))
    #: The day the next campaign of the series starts (kept on the latest of the series).
    next_run_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: The campaign of the series this one was started from (None: started by hand).
    repeated_from_id: Mapped[int | None] = mapped_column(ForeignKey("access_review_campaigns.id"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()

    department: Mapped[Department | None] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])
    items: Mapped[list[AccessReviewItem]] = relationship(
        back_populates="campaign", order_by="AccessReviewItem.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status == CampaignStatus.OPEN.value

    def __repr__(self) -> str:
        return f"<AccessReviewCampaign {self.id} {self.scope_kind} due {self.due_date}>"


class AccessReviewItem(Base):
    """One grant to review in a campaign, the person asked, and their decision."""

    __tablename__ = "access_review_items"
    __table_args__ = (UniqueConstraint("campaign_id", "grant_id"),)
    #: An item belongs to the grantee's department (scope of who may follow it).
    __scope__ = ScopeColumns(department="department_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("access_review_campaigns.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("role_grants.id"), index=True)
    #: The person holding the grant, and their department when the campaign started.
    grantee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"))
    #: What the grant allowed when the campaign started: scope summary and validity.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Who is asked (the grantee's manager, else the department head chain); never the grantee.
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Who it went to when the due date passed undecided (the reviewer's manager).
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: ``keep``, ``revoke`` or ``narrow`` once decided (:class:`ReviewDecision`).
    decision: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    #: For ``narrow``: what the grant became, e.g. ``{"department": "SALES-E"}``.
    narrowed_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()

    campaign: Mapped[AccessReviewCampaign] = relationship(back_populates="items")
    grant: Mapped[RoleGrant] = relationship()
    grantee: Mapped[User] = relationship(foreign_keys=[grantee_id])
    department: Mapped[Department] = relationship()
    role: Mapped[Role] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    escalated_to: Mapped[User | None] = relationship(foreign_keys=[escalated_to_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_open(self) -> bool:
        return self.decision is None

    def __repr__(self) -> str:
        return f"<AccessReviewItem {self.id} grant={self.grant_id} {self.decision or 'open'}>"
