"""Budget compilation rounds: finance asks every department of a subtree for next year's
budget (or a re-forecast), follows their progress and closes the round in one act."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScopeColumns, utcnow
from .forms import Submission
from .org import Department, User


class RoundStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RoundKind(enum.StrEnum):
    #: Next year's budget, prefilled from this year's.
    ANNUAL = "annual"
    #: A re-forecast of the current year's remaining quarters, prefilled from its budget.
    REFORECAST = "reforecast"


class BudgetRound(Base):
    """One call for budgets: a fiscal year, the departments taking part, a deadline."""

    __tablename__ = "budget_rounds"
    #: A round belongs to the root of the departments taking part.
    __scope__ = ScopeColumns(department="department_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The fiscal year the budgets are for.
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    #: ``annual`` or ``reforecast``.
    kind: Mapped[str] = mapped_column(String(16), default=RoundKind.ANNUAL.value)
    #: First quarter a re-forecast plans again (3 for a Q3–Q4 re-forecast); None for annual.
    from_quarter: Mapped[int | None] = mapped_column(Integer)
    #: The form the departments fill (``department-budget``).
    form_key: Mapped[str] = mapped_column(String(64))
    #: Root of the departments taking part (the whole subtree takes part).
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    #: Last day to submit (in the organisation's local calendar).
    deadline: Mapped[date] = mapped_column(Date)
    instructions: Mapped[str | None] = mapped_column(Text)
    #: Reference columns shown beside each department: ``last_budget``, ``actuals``.
    reference: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Days before the deadline when managers who have not submitted are reminded.
    remind_days: Mapped[int] = mapped_column(Integer, default=3)
    #: ``open`` until finance closes it; then its approved budgets are the year's budget.
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.OPEN.value, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column()

    department: Mapped[Department] = relationship()
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    entries: Mapped[list[BudgetRoundEntry]] = relationship(
        back_populates="round", order_by="BudgetRoundEntry.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN.value

    def __repr__(self) -> str:
        return f"<BudgetRound {self.id} {self.kind} {self.fiscal_year} {self.status}>"


class BudgetRoundEntry(Base):
    """One department's part in a round: who fills it, and the budget they filled."""

    __tablename__ = "budget_round_entries"
    __table_args__ = (
        UniqueConstraint("round_id", "department_id", name="uq_budget_round_entries_department"),
    )
    __scope__ = ScopeColumns(department="department_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_rounds.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    #: Who was asked to fill it in (the department's manager when the round opened).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The department's budget submission, once started (or adopted when the round opened).
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Once-only stamps of the periodic sweep (a reminder before, an escalation after the deadline).
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Annual amount per account when the round closed: the year's original budget.
    adopted: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    round: Mapped[BudgetRound] = relationship(back_populates="entries")
    department: Mapped[Department] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    escalated_to: Mapped[User | None] = relationship(foreign_keys=[escalated_to_id])
    submission: Mapped[Submission | None] = relationship()

    def __repr__(self) -> str:
        return f"<BudgetRoundEntry {self.round_id}:{self.department_id}>"


class BudgetLineComment(Base):
    """Finance's feedback on one line of a department's budget, shown to the department."""

    __tablename__ = "budget_line_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("budget_round_entries.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    #: 1-based line number in the submission's ``lines`` when the comment was made.
    line_no: Mapped[int] = mapped_column(Integer)
    #: The line's account then (lines may be reordered later).
    account: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The review round of the submission it was made in (1, 2, …).
    review_round: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<BudgetLineComment {self.submission_id} line {self.line_no}>"


__all__ = [
    "BudgetLineComment",
    "BudgetRound",
    "BudgetRoundEntry",
    "RoundKind",
    "RoundStatus",
]
