"""Facts: what route conditions, auto-approval rules and approvers see of a submission.

The form's values plus what the engine knows about it: the budget check and duplicate
invoices, computed now or as recorded when the round was submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from quire.designer.formula import FormulaError, parse
from quire.designer.model import Template

from ..extensions import db
from ..forms import service as forms_service
from ..forms import values as form_values
from ..models import ApprovalEvent, Submission
from . import budget


@dataclass
class Facts:
    """The values of a submission plus what the engine knows about it (budget, duplicates)."""

    values: dict[str, Any]
    context: dict[str, Any]
    checks: dict[str, Any]

    @property
    def passed(self) -> bool:
        return bool(self.checks.get("passed"))


def compute_facts(submission: Submission, template: Template) -> Facts:
    """Budget check and duplicate invoices, now (at submission, and for bulk approval)."""
    check = budget.check_submission(submission, template)
    duplicates = [
        {"path": d.path, "number": d.other_number, "id": d.other_id}
        for d in forms_service.duplicate_vouchers(submission)
    ]
    checks = {
        "within_budget": check.within_budget,
        "budget": check.as_dict(),
        "duplicates": duplicates,
        "total": str(submission.total) if submission.total is not None else None,
        "passed": check.within_budget and not duplicates,
    }
    return facts_from(submission, template, checks)


def facts_from(submission: Submission, template: Template, checks: dict[str, Any]) -> Facts:
    values = form_values.to_python(template, submission.data)
    within = bool(checks.get("within_budget", True))
    remaining = Decimal(str((checks.get("budget") or {}).get("remaining") or "0"))
    extra = {
        **forms_service.submitter_facts(submission.submitter),
        "within_budget": within,
        "over_budget": not within,
        "budget_remaining": remaining,
    }
    return Facts(values, form_values.formula_context(values, extra), checks)


def facts_at_submission(submission: Submission, template: Template) -> Facts:
    """The facts recorded when the current round was submitted, or when an approver last
    changed the form at their step (routing stays consistent even if other claims use the
    budget meanwhile, and follows what the approvers corrected)."""
    details = db.session.scalar(
        select(ApprovalEvent.details)
        .where(
            ApprovalEvent.submission_id == submission.id,
            ApprovalEvent.action.in_(("submit", "edit")),
        )
        .order_by(ApprovalEvent.at.desc(), ApprovalEvent.id.desc())
        .limit(1)
    )
    checks = (details or {}).get("checks")
    if checks is None:
        return compute_facts(submission, template)
    return facts_from(submission, template, checks)


def evaluate(formula: str, facts: Facts, today: date) -> tuple[bool, str | None]:
    """A condition's value; a formula that fails counts as true (more review, never less)."""
    try:
        return bool(parse(formula).evaluate(facts.context, today=today)), None
    except FormulaError as exc:
        return True, getattr(exc, "message", None) or str(exc)


def evaluate_strict(formula: str, facts: Facts, today: date) -> bool:
    """For auto-approval a failing formula counts as false (never approve by accident)."""
    try:
        return bool(parse(formula).evaluate(facts.context, today=today))
    except FormulaError:
        return False


def figures(facts: Facts) -> dict[str, Any]:
    """The numbers a skipped step's or an automatic decision's history line quotes."""
    budget_figures = facts.checks.get("budget") or {}
    return {
        "total": facts.checks.get("total"),
        "within_budget": facts.checks.get("within_budget"),
        "budget_remaining": budget_figures.get("remaining"),
    }
