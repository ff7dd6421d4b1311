"""Cost allocation: rules that split a shared cost across departments, the runs that applied
them to a month, and the lines each run booked to each department."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ExactDecimal, ScopeColumns, utcnow
from .org import Department, User


class AllocationRule(Base):
    """Where a shared cost comes from, how it is split, and who receives it."""

    __tablename__ = "allocation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key, e.g. ``it-by-headcount``.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: ``ledger`` (ERP actuals of a cost centre or account) or ``submission`` (approved
    #: ``cost-allocation`` forms of the month).
    source_kind: Mapped[str] = mapped_column(String(16))
    #: Ledger: the configured data source to read (``erp-actuals``).
    source_datasource: Mapped[str | None] = mapped_column(String(64))
    #: Ledger filters: cost centre and account of the pooled cost (either may be empty).
    source_cost_center: Mapped[str | None] = mapped_column(String(64))
    source_account: Mapped[str | None] = mapped_column(String(64))
    #: Ledger: the department the pool is booked to; submission: the department that filed.
    source_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: ``fixed`` (percentages), ``headcount`` (active people), ``measure`` (a data source's
    #: value per department) or ``form_shares`` (the cost-allocation form's own percentages).
    driver: Mapped[str] = mapped_column(String(16))
    #: Fixed: department code → percent (strings, summing to 100).
    percentages: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Measure: data source key, its query and the column holding each department's value.
    driver_datasource: Mapped[str | None] = mapped_column(String(64))
    driver_query: Mapped[str | None] = mapped_column(String(200))
    driver_column: Mapped[str | None] = mapped_column(String(64))
    #: Department codes that receive a share.
    receivers: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The account the shares are booked to (the source account when empty).
    account: Mapped[str | None] = mapped_column(String(64))
    #: ``manual`` or ``monthly`` (the job runs last month on the first of each month).
    schedule: Mapped[str] = mapped_column(String(16), default="manual")
    #: Months the rule applies to (first day of month, inclusive); None = open-ended.
    period_from: Mapped[date | None] = mapped_column(Date)
    period_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    source_department: Mapped[Department | None] = relationship()

    def name(self, locale: str | None = "zh_CN") -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh

    def __repr__(self) -> str:
        return f"<AllocationRule {self.key} {self.source_kind}/{self.driver}>"


class AllocationRun(Base):
    """A rule applied to one month. Re-running the month replaces its lines."""

    __tablename__ = "allocation_runs"
    __table_args__ = (UniqueConstraint("rule_id", "period", name="uq_allocation_runs_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("allocation_rules.id"), index=True)
    #: The month allocated (first day).
    period: Mapped[date] = mapped_column(Date, index=True)
    #: The pooled cost that was split.
    source_amount: Mapped[Decimal] = mapped_column(ExactDecimal(18, 2))
    #: Driver values and source breakdown, as the run saw them.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: None when the monthly job ran it.
    ran_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: How many times this month was run (the lines are those of the last run).
    times: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(Text)

    rule: Mapped[AllocationRule] = relationship()
    ran_by: Mapped[User | None] = relationship()
    lines: Mapped[list[AllocationLine]] = relationship(
        back_populates="run", order_by="AllocationLine.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<AllocationRun {self.rule_id} {self.period:%Y-%m}>"


class AllocationLine(Base):
    """One department's share of one run (``in``), or the pool it came out of (``out``)."""

    __tablename__ = "allocation_lines"
    __scope__ = ScopeColumns(department="department_id", period="period")

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("allocation_rules.id"), index=True)
    period: Mapped[date] = mapped_column(Date, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    account: Mapped[str] = mapped_column(String(64))
    #: The share (positive), or the pool credited (negative, kind ``out``).
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(18, 2))
    #: ``in`` (a share received) or ``out`` (the pooled cost moved away).
    kind: Mapped[str] = mapped_column(String(8), default="in")
    #: The driver's value for the department (people, m², percent).
    driver_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 4))
    #: The department's share of the driver, in percent.
    percent: Mapped[Decimal | None] = mapped_column(ExactDecimal(9, 4))

    run: Mapped[AllocationRun] = relationship(back_populates="lines")
    rule: Mapped[AllocationRule] = relationship()
    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"<AllocationLine {self.run_id} {self.department_id} {self.amount}>"
