"""What the submission page shows about the route: the diagram, the timeline, the buttons.

Done steps come from the history, the current step from the open tasks, and the steps
still to come from the rules as they would apply now (conditions evaluated on the facts
recorded at submission, holders resolved the way the engine will resolve them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from quire.designer.approval import ApprovalStep, ParallelGroup
from quire.designer.model import Template

from .. import access
from ..extensions import db
from ..forms import service as forms_service
from ..forms import values as form_values
from ..models import (
    ApprovalEvent,
    ApprovalTask,
    Submission,
    SubmissionStatus,
    TaskStatus,
    User,
    utcnow,
)
from . import amend, engine, reasons, routing

S = SubmissionStatus


@dataclass
class Holder:
    user: User
    on_behalf_of: User | None
    since: datetime
    due: datetime | None
    status: str

    @property
    def overdue(self) -> bool:
        return self.status == "open" and self.due is not None and self.due < utcnow()


@dataclass
class StepView:
    key: str
    name: str
    mode: str
    required: int | None
    #: done | current | rejected | returned | skipped | upcoming | will_skip | not_reached
    state: str
    holders: list[Holder] = field(default_factory=list)
    events: list[ApprovalEvent] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass
class BranchView:
    """One branch of a parallel group as the route diagram draws it."""

    title: str
    keys: list[str]
    #: The branch's condition in words ("only when …"), or why it was skipped.
    reason: str = ""
    state: str = "upcoming"


@dataclass
class GroupView:
    key: str
    name: str
    branches: list[BranchView]


@dataclass
class Panel:
    steps: list[StepView]
    events: list[ApprovalEvent]
    actions: set[str]
    return_targets: list[tuple[str, str]]
    checks: dict[str, Any] | None
    round: int
    version: int
    auto: ApprovalEvent | None = None
    #: Per history event id: an approver's changes as the viewer may read them.
    changes: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    #: Per history event id: its remark, the engine's in words (never a formula).
    reasons: dict[int, str] = field(default_factory=dict)
    #: The route's items in order: a step's key, or a parallel group of branches.
    items: list[str | GroupView] = field(default_factory=list)


def _why_skipped(formula: str, template: Template, facts: engine.Facts, locale: str) -> str:
    """Why a step's (or its branch's) condition is false, in words ("total is under 100,000
    and within budget"), from the facts the engine routed with; never the formula text."""
    from quire.designer.sentences import explain

    document = template.model_dump(mode="json", by_alias=True)
    today = engine.local_day(utcnow())
    return explain(formula, document, facts.context, locale, today=today)[1]


def _predict(step: ApprovalStep, submission: Submission, facts: engine.Facts) -> list[str]:
    try:
        assignments = routing.assign(step, submission, facts.values, engine.local_day(utcnow()))
    except routing.StepNotNeeded:
        raise
    except routing.NoApprover:
        return []
    return [
        f"{a.user.display_name}" + (f" ⇐ {a.on_behalf_of.display_name}" if a.on_behalf_of else "")
        for a in assignments
    ]


def build(
    viewer: User,
    submission: Submission,
    template: Template,
    locale: str,
    field_access: dict[str, str] | None = None,
) -> Panel:
    round = engine.current_round(submission)
    events = list(db.session.scalars(engine.history_query(submission)))
    edits = [e for e in events if e.action == "edit" and isinstance(e.details, dict)]
    if edits and field_access is None:
        field_access = forms_service.describe(viewer, submission).access
    changes = {
        e.id: form_values.describe_changes(
            template, e.details.get("changes"), field_access or {}, locale
        )
        for e in edits
    }
    tasks = list(
        db.session.scalars(
            select(ApprovalTask)
            .where(ApprovalTask.submission_id == submission.id, ApprovalTask.round == round)
            .order_by(ApprovalTask.id)
        )
    )
    submitted = submission.status not in (S.DRAFT,) and round > 0
    facts = (
        engine.facts_at_submission(submission, template)
        if submitted
        else engine.compute_facts(submission, template)
    )
    in_round = [e for e in events if e.round == round]
    told = reasons.Reasons(template, facts.context, locale, engine.local_day(utcnow()))
    steps: list[StepView] = []
    waiting = {t.step_key for t in tasks if t.status == TaskStatus.OPEN}
    current_index = next(
        (
            i
            for i, s in enumerate(engine.steps_of(template))
            if s.key == submission.current_step or s.key in waiting
        ),
        None,
    )
    places = dict((s.key, p) for s, p in template.approval.places()) if template.approval else {}
    for index, step in enumerate(engine.steps_of(template)):
        place = places.get(step.key)
        branch = place.group.branches[place.branch or 0] if place and place.group else None
        view = StepView(step.key, step.name.text(locale), step.mode, step.required, "upcoming")
        view.events = [e for e in in_round if e.step_key == step.key]
        mine = [t for t in tasks if t.step_key == step.key]
        view.holders = [
            Holder(t.assignee, t.on_behalf_of, t.created_at, t.due_at, t.status.value)
            for t in mine
            if t.status != TaskStatus.CANCELLED
        ]
        skipped = next((e for e in view.events if e.action == "skip"), None)
        outcome = engine.step_outcome(step, mine) if mine else None
        if not submitted:
            view.state = "upcoming"
        elif skipped is not None:
            said = skipped.details if isinstance(skipped.details, dict) else {}
            view.state = "skipped"
            view.reason = (
                said.get("zh" if locale.startswith("zh") else "en")
                or told.comment(skipped)
                or _why_skipped(step.when or "", template, facts, locale)
            )
        elif submission.status == S.IN_REVIEW and (
            submission.current_step == step.key or step.key in waiting
        ):
            view.state = "current"
        elif any(t.status == TaskStatus.RETURNED for t in mine):
            view.state = "returned"
        elif outcome == "approved":
            view.state = "done"
        elif outcome == "rejected":
            view.state = "rejected"
        elif submission.status == S.IN_REVIEW and (current_index is None or index > current_index):
            view.state = "upcoming"
        else:
            view.state = "not_reached"
        if view.state == "upcoming":
            applies, formula = True, ""
            for condition in (branch.when if branch else None, step.when):
                if condition and applies:
                    applies, _ = engine.evaluate(condition, facts, engine.local_day(utcnow()))
                    formula = condition
            if not applies:
                view.state = "will_skip"
                view.reason = _why_skipped(formula, template, facts, locale)
            else:
                try:
                    view.predicted = _predict(step, submission, facts)
                except routing.StepNotNeeded as unneeded:
                    view.state = "will_skip"
                    view.reason = unneeded.zh if locale.startswith("zh") else unneeded.en
        steps.append(view)
    return Panel(
        steps=steps,
        events=events,
        actions=_actions(viewer, submission, round, tasks),
        return_targets=[
            (s.key, s.name.text(locale))
            for s in engine.return_targets(template, submission, round, _held_step(viewer, tasks))
        ]
        if submission.status == S.IN_REVIEW
        else [],
        checks=facts.checks,
        round=round,
        version=submission.version,
        auto=next((e for e in in_round if e.action == "auto_approve"), None),
        changes=changes,
        reasons={e.id: text for e in events if (text := told.comment(e))},
        items=_items(template, steps, locale),
    )


def _items(template: Template, steps: list[StepView], locale: str) -> list[str | GroupView]:
    """The route's shape for the diagram: step keys, and parallel groups with their branches
    (each branch's state and condition in words)."""
    from quire.designer.sentences import describe

    if template.approval is None:
        return []
    zh = locale.startswith("zh")
    views = {v.key: v for v in steps}
    document = template.model_dump(mode="json", by_alias=True)
    items: list[str | GroupView] = []
    for item in template.approval.steps:
        if not isinstance(item, ParallelGroup):
            items.append(item.key)
            continue
        branches = []
        for b, branch in enumerate(item.branches):
            keys = [s.key for s in branch.steps]
            states = {views[k].state for k in keys if k in views}
            view = BranchView(
                branch.name.text(locale)
                if branch.name
                else ("分支 %d" if zh else "Branch %d") % (b + 1),
                keys,
            )
            if states and states <= {"skipped", "will_skip"}:
                view.state = "skipped" if "skipped" in states else "will_skip"
                view.reason = views[keys[0]].reason or ""
            elif branch.when:
                view.reason = ("仅当" if zh else "only when ") + describe(
                    branch.when, document, locale
                )
            branches.append(view)
        items.append(GroupView(item.key, item.name.text(locale), branches))
    return items


def _held_step(viewer: User, tasks: list[ApprovalTask]) -> str | None:
    """The step of an open task ``viewer`` may decide now (while branches run in parallel,
    which one is theirs), if any."""
    today = engine.local_day(utcnow())
    return next(
        (
            t.step_key
            for t in tasks
            if t.status == TaskStatus.OPEN and access.may_act_on_task(viewer, t, today)
        ),
        None,
    )


def _actions(
    viewer: User, submission: Submission, round: int, tasks: list[ApprovalTask]
) -> set[str]:
    actions: set[str] = set()
    today = engine.local_day(utcnow())
    if access.may_edit_submission(viewer, submission):
        actions.add("submit")
    if submission.status == S.IN_REVIEW:
        held = _held_step(viewer, tasks)
        if held and access.separation_of_duties(viewer, submission, held) is None:
            actions |= {"approve", "reject", "return", "delegate"}
            if any(t.step_key == held and access.may_add_signers(viewer, t, today) for t in tasks):
                actions.add("add_signer")
    if access.may_copy(viewer, submission, today):
        actions.add("copy")
    if access.may_withdraw(viewer, submission) and (
        submission.status == S.RETURNED
        or (submission.status == S.IN_REVIEW and not engine.decided_in_round(submission, round))
    ):
        actions.add("withdraw")
    if submission.status != S.DRAFT and access.may_comment(viewer, submission):
        actions.add("comment")
    if (
        submission.status == S.APPROVED
        and access.may_amend(viewer, submission)
        and amend.refusal(submission) is None
    ):
        actions.add("amend")
    return actions
