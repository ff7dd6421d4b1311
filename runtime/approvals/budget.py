"""The budget service: how much of a department's approved budget is left, per account.

A department's budget for a fiscal year is its latest approved ``department-budget``
submission (lines of account × quarter). What is used of it is what Quire pays out:
the year's actuals, exactly as budget-vs-actual counts them (approved claims, ERP ledger
postings as finance declared per account, and allocated shared costs: see
:mod:`quire.runtime.budgeting.actuals`), plus claims still in review (commitments), read from
every form whose table has an account column (``category`` or ``account``) and an
``amount`` column. The approval engine asks it
when a claim is submitted; the claim form asks it (through htmx) while lines are being added,
so both see the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from quire.designer.model import Template

from ..budgeting.in_force import in_force
from ..extensions import db
from ..forms import templates as template_service
from ..forms.revisions import in_effect
from ..models import (
    Department,
    FormTemplate,
    Submission,
    SubmissionStatus,
    TemplateVersion,
)

#: The form whose approved submissions are the budgets.
BUDGET_FORM = "department-budget"
#: Share of the budget from which a claim is warned about (the claimant sees amber).
WARN_RATE = Decimal("0.90")
ACCOUNT_COLUMNS = ("category", "account")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _money(value: Any) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ZERO


@dataclass(frozen=True)
class AccountBudget:
    """One account of one department's year: budget, used, this claim, what is left."""

    account: str
    budget: Decimal
    #: Actuals: approved claims, ERP ledger postings and allocated costs (see ``used``).
    spent: Decimal
    #: Other claims still in review (commitments).
    committed: Decimal
    #: The claim being checked.
    claim: Decimal

    @property
    def remaining_before(self) -> Decimal:
        return self.budget - self.spent - self.committed

    @property
    def remaining_after(self) -> Decimal:
        return self.remaining_before - self.claim

    @property
    def used_after(self) -> Decimal:
        return self.spent + self.committed + self.claim

    @property
    def rate_after(self) -> Decimal | None:
        """Share of the budget used once this claim counts (None without a budget)."""
        if self.budget <= 0:
            return None
        return (self.used_after / self.budget).quantize(Decimal("0.0001"))

    @property
    def level(self) -> str:
        """``ok``, ``warn`` (90 % or more) or ``over`` (past 100 %)."""
        if self.claim > 0 and self.remaining_after < 0:
            return "over"
        if self.budget <= 0:
            return "over" if self.claim > 0 else "ok"
        if self.used_after > self.budget:
            return "over"
        if self.used_after >= self.budget * WARN_RATE:
            return "warn"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        rate = self.rate_after
        return {
            "account": self.account,
            "budget": str(self.budget),
            "spent": str(self.spent),
            "committed": str(self.committed),
            "claim": str(self.claim),
            "remaining_before": str(self.remaining_before),
            "remaining_after": str(self.remaining_after),
            "rate_after": str(rate) if rate is not None else None,
            "level": self.level,
        }


@dataclass(frozen=True)
class BudgetCheck:
    """A claim against its department's budget for the year."""

    department: str
    year: int
    #: False for forms that spend no budget (budgets themselves, allocations).
    applicable: bool
    #: Whether an approved budget exists for the department and year.
    budget_found: bool
    accounts: list[AccountBudget] = field(default_factory=list)

    @property
    def claimed(self) -> list[AccountBudget]:
        return [a for a in self.accounts if a.claim > 0]

    @property
    def within_budget(self) -> bool:
        return not self.applicable or all(a.level != "over" for a in self.claimed)

    @property
    def remaining(self) -> Decimal:
        """What is left, before this claim, of the accounts the claim charges."""
        return sum((a.remaining_before for a in self.claimed), ZERO)

    @property
    def level(self) -> str:
        levels = {a.level for a in self.claimed}
        return "over" if "over" in levels else "warn" if "warn" in levels else "ok"

    def facts(self) -> dict[str, Any]:
        """The names formulas read: ``within_budget``, ``over_budget``, ``budget_remaining``."""
        return {
            "within_budget": self.within_budget,
            "over_budget": not self.within_budget,
            "budget_remaining": self.remaining,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "year": self.year,
            "applicable": self.applicable,
            "budget_found": self.budget_found,
            "within_budget": self.within_budget,
            "level": self.level,
            "remaining": str(self.remaining),
            "accounts": [a.as_dict() for a in self.accounts],
        }


def amount_columns(template: Template) -> list[tuple[str, str]]:
    """(table field, account column) pairs of the tables that spend budget."""
    found = []
    for f in template.fields:
        columns = {c.key: c for c in getattr(f, "columns", None) or []}
        account = next((k for k in ACCOUNT_COLUMNS if k in columns), None)
        if account and "amount" in columns:
            found.append((f.key, account))
    return found


def account_labels(template: Template, locale: str) -> dict[str, str]:
    """Account code → the name people read, from the options of the template's account column."""
    from quire.widgets.base import localized

    labels: dict[str, str] = {}
    for f in template.fields:
        for column in getattr(f, "columns", None) or ():
            if column.key in ACCOUNT_COLUMNS:
                for option in getattr(column, "options", None) or ():
                    labels[option.value] = localized(option.label, locale)
    return labels


def claim_amounts(template: Template, data: Mapping[str, Any]) -> dict[str, Decimal]:
    """Amount per account of one claim, from stored JSON or Python values alike."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for table, account in amount_columns(template):
        for row in data.get(table) or []:
            if isinstance(row, Mapping) and row.get(account):
                totals[str(row[account])] += _money(row.get("amount"))
    return dict(totals)


def budget_submission(department: Department, year: int) -> Submission | None:
    """The department's budget for the year in force: the latest approved, leaving out
    budgets of a round that is still open."""
    stmt = (
        select(Submission)
        .join(FormTemplate, FormTemplate.id == Submission.template_id)
        .where(
            FormTemplate.key == BUDGET_FORM,
            Submission.department_id == department.id,
            Submission.period == date(year, 1, 1),
            Submission.status == SubmissionStatus.APPROVED,
            in_force(),
            in_effect(),
        )
        .order_by(Submission.decided_at.desc().nulls_last(), Submission.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def annual_by_account(data: Mapping[str, Any]) -> dict[str, Decimal]:
    """Annual amount per account of a budget's stored lines."""
    budget: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in data.get("lines") or []:
        if not isinstance(row, Mapping) or not row.get("account"):
            continue
        annual = row.get("annual")
        if annual in (None, ""):
            annual = sum((_money(row.get(q)) for q in ("q1", "q2", "q3", "q4")), ZERO)
        budget[str(row["account"])] += _money(annual)
    return dict(budget)


def approved_budget(department: Department, year: int) -> dict[str, Decimal] | None:
    """Annual budget per account from the budget in force, or None if there is none."""
    found = budget_submission(department, year)
    return annual_by_account(found.data) if found is not None else None


def _left_out(exclude_id: int | None) -> set[int]:
    """The claim being checked, and the approved claim it revises (变更): once approved it
    replaces that one, so the original's amount is not counted against it."""
    if exclude_id is None:
        return set()
    revises = db.session.scalar(select(Submission.supersedes_id).where(Submission.id == exclude_id))
    return {exclude_id} | ({revises} if revises is not None else set())


def used(
    department: Department, year: int, *, exclude_id: int | None = None
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(spent, committed) per account: the year's actuals as budget-vs-actual counts them
    (:func:`quire.runtime.budgeting.actuals.spent_by_account`: approved claims, the latest
    approved revision of each, ERP ledger postings and allocated costs), and claims still in
    review. The claim being checked is left out, and so is the original it revises (变更)."""
    from ..budgeting.actuals import spent_by_account

    left_out = _left_out(exclude_id)
    rows = db.session.execute(
        select(Submission.id, Submission.status, Submission.data, TemplateVersion)
        .join(FormTemplate, FormTemplate.id == Submission.template_id)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == Submission.template_id)
            & (TemplateVersion.version == Submission.template_version),
        )
        .where(
            FormTemplate.key != BUDGET_FORM,
            FormTemplate.kind == "form",
            Submission.department_id == department.id,
            Submission.period >= date(year, 1, 1),
            Submission.period <= date(year, 12, 31),
            Submission.status == SubmissionStatus.IN_REVIEW,
            in_effect(),
        )
    ).all()
    committed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for submission_id, _status, data, version in rows:
        if submission_id in left_out:
            continue
        for account, amount in claim_amounts(template_service.parsed(version), data).items():
            committed[account] += amount
    return spent_by_account(department, year, exclude=left_out), dict(committed)


def check(
    department: Department,
    year: int,
    claim: Mapping[str, Decimal],
    *,
    exclude_id: int | None = None,
    applicable: bool = True,
    accounts: Iterable[str] = (),
) -> BudgetCheck:
    """A claim (amount per account) against the department's remaining budget of ``year``."""
    if not applicable:
        return BudgetCheck(department.code, year, False, False)
    budget = approved_budget(department, year)
    spent, committed = used(department, year, exclude_id=exclude_id)
    names = dict.fromkeys([*(budget or {}), *accounts, *claim])
    lines = [
        AccountBudget(
            account=name,
            budget=(budget or {}).get(name, ZERO),
            spent=spent.get(name, ZERO),
            committed=committed.get(name, ZERO),
            claim=claim.get(name, ZERO),
        )
        for name in names
    ]
    return BudgetCheck(department.code, year, True, budget is not None, lines)


def check_submission(submission: Submission, template: Template) -> BudgetCheck:
    """The budget check of a saved claim, leaving the claim itself out of what is used."""
    applicable = bool(amount_columns(template)) and template.key != BUDGET_FORM
    return check(
        submission.department,
        submission.period.year,
        claim_amounts(template, submission.data) if applicable else {},
        exclude_id=submission.id,
        applicable=applicable,
    )
