"""The route simulator: for sample values, which steps would run, who would be asked (by the
engine's own assignee rules, absences and separation of duties included) and why a step is
skipped, in words.

Nothing is written: the sample is a transient submission that never reaches the session.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from quire.runtime.approvals import budget, routing
from quire.runtime.extensions import db
from quire.runtime.forms import service as forms_service
from quire.runtime.forms import values as form_values
from quire.runtime.models import Department, Submission, User
from quire.widgets.base import ParseContext, localized

from .approval import ApprovalStep
from .model import Template
from .sentences import explain

_WHY = {
    "en": {
        "auto": "approved automatically: {why}",
        "skipped": "skipped: {why}",
        "runs_because": "runs: {why}",
        "runs_always": "runs: every form comes to this step",
        "runs_unknown": "runs: the condition cannot be checked with these values ({why})",
        "nobody": "; nobody is available to decide it",
        "after_auto": "not reached: the form is approved automatically",
        "branch_skipped": "skipped with its branch: {why}",
    },
    "zh": {
        "auto": "自动通过：{why}",
        "skipped": "跳过：{why}",
        "runs_because": "执行：{why}",
        "runs_always": "执行：所有单据都经过此步",
        "runs_unknown": "执行：用这些值无法判断条件（{why}）",
        "nobody": "；但目前没有可审批的人",
        "after_auto": "不会到达：单据将自动通过",
        "branch_skipped": "所在分支跳过：{why}",
    },
}


@dataclass
class SimulatedStep:
    key: str
    name: str
    #: will_run | skipped | auto_approved
    status: str
    assignees: list[User] = field(default_factory=list)
    reason: str = ""
    #: The parallel group the step is in and its branch (0, 1…); None outside a group.
    group: str | None = None
    branch: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "status": self.status,
            "assignees": [u.username for u in self.assignees],
            "reason": self.reason,
            "group": self.group,
            "branch": self.branch,
        }


@dataclass
class Simulation:
    steps: list[SimulatedStep]
    auto_approved: bool
    auto_reason: str | None
    within_budget: bool
    department: str

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [s.as_dict() for s in self.steps]}


def _department(code: Any, fallback: Department) -> Department:
    if isinstance(code, str) and code:
        found = db.session.scalar(select(Department).where(Department.code == code))
        if found is not None:
            return found
    return fallback


def _sample_values(
    template: Template, data: dict[str, Any], submitter: User, today: datetime.date
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Python values of the sample: parsed, defaults applied, formulas computed, and computed
    fields given in the sample (a total typed without lines) taken as given."""
    extra = forms_service.submitter_facts(submitter)
    values = form_values.to_python(template, data)
    form_values.apply_defaults(template, values, extra, ParseContext(today=today))
    form_values.compute(template, values, extra, today)
    for f in form_values.value_fields(template):
        if form_values.is_computed(f) and data.get(f.key) not in (None, ""):
            try:
                values[f.key] = Decimal(str(data[f.key]))
            except (InvalidOperation, ValueError):
                pass
    return values, extra


def _within_budget(
    template: Template,
    data: dict[str, Any],
    values: dict[str, Any],
    department: Department,
    year: int,
) -> tuple[bool, Decimal]:
    if isinstance(data.get("within_budget"), bool):
        return data["within_budget"], Decimal(0)
    columns = budget.amount_columns(template)
    if not columns or template.key == budget.BUDGET_FORM:
        return True, Decimal(0)
    claim = budget.claim_amounts(template, data)
    check = budget.check(department, year, claim)
    if claim:
        return check.within_budget, check.remaining
    # A total without lines: compare it with what the whole department has left.
    remaining = sum((a.remaining_before for a in check.accounts), Decimal(0))
    total = values.get("total")
    within = not check.budget_found or not isinstance(total, Decimal) or total <= remaining
    return within, remaining


def simulate(
    template: Template,
    data: dict[str, Any],
    submitter: User,
    *,
    locale: str,
    today: datetime.date | None = None,
) -> Simulation:
    """What the route would do with a form holding `data`, submitted by `submitter`."""
    today = today or routing.local_today()
    lang = "zh" if locale.lower().startswith("zh") else "en"
    why = _WHY[lang]
    document = template.model_dump(mode="json", by_alias=True)
    values, extra = _sample_values(template, data, submitter, today)
    department = _department(
        values.get("department") or data.get("department"), submitter.department
    )
    within, remaining = _within_budget(template, data, values, department, today.year)
    context = form_values.formula_context(
        values,
        {
            **extra,
            "within_budget": within,
            "over_budget": not within,
            "budget_remaining": remaining,
        },
    )
    sample = Submission(
        submitter=submitter,
        submitter_id=submitter.id,
        department=department,
        department_id=department.id,
        data=data,
        period=today.replace(day=1),
    )
    steps: list[SimulatedStep] = []
    approval = template.approval
    auto_reason = None
    auto = False
    if approval and approval.auto_approve_when:
        outcome, sentence = explain(
            approval.auto_approve_when, document, context, locale, today=today
        )
        auto = outcome is True
        if auto:
            auto_reason = why["auto"].format(why=sentence)
    for step, place in approval.places() if approval else ():
        name = localized(step.name, locale)
        group = place.group.key if place.group else None
        if auto:
            steps.append(
                SimulatedStep(
                    step.key, name, "auto_approved", [], auto_reason or "", group, place.branch
                )
            )
            continue
        branch = place.group.branches[place.branch or 0] if place.group else None
        if branch is not None and branch.when:
            outcome, sentence = explain(branch.when, document, context, locale, today=today)
            if outcome is False:
                reason = why["branch_skipped"].format(why=sentence)
                steps.append(
                    SimulatedStep(step.key, name, "skipped", [], reason, group, place.branch)
                )
                continue
        simulated = _simulate_step(step, name, sample, values, document, context, locale, today)
        simulated.group, simulated.branch = group, place.branch
        steps.append(simulated)
    return Simulation(steps, auto, auto_reason, within, department.code)


def _simulate_step(
    step: ApprovalStep,
    name: str,
    sample: Submission,
    values: dict[str, Any],
    document: dict[str, Any],
    context: dict[str, Any],
    locale: str,
    today: datetime.date,
) -> SimulatedStep:
    """One step on the sample: skipped by its condition or its rule, or who is asked."""
    why = _WHY["zh" if locale.lower().startswith("zh") else "en"]
    if step.when:
        outcome, sentence = explain(step.when, document, context, locale, today=today)
        if outcome is False:
            return SimulatedStep(step.key, name, "skipped", [], why["skipped"].format(why=sentence))
        reason = (
            why["runs_because"].format(why=sentence)
            if outcome
            else why["runs_unknown"].format(why=sentence)
        )
    else:
        reason = why["runs_always"]
    try:
        people = [a.user for a in routing.assign(step, sample, values, today)]
    except routing.StepNotNeeded as unneeded:
        because = unneeded.zh if locale.startswith("zh") else unneeded.en
        return SimulatedStep(step.key, name, "skipped", [], why["skipped"].format(why=because))
    except routing.NoApprover:
        people = []
        reason += why["nobody"]
    return SimulatedStep(step.key, name, "will_run", people, reason)
