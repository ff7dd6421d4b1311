"""The approval engine: submit, decide, return, hand on, withdraw, comment; timeouts.

Every function takes the acting user (None for the system: automatic decisions and the
timeout sweep), checks rights through :mod:`quire.runtime.access` at that moment, raises
domain errors, and writes history, notifications and an audit event in the caller's
transaction. Decisions lock the submission row (``SELECT … FOR UPDATE``) and check its
``version``, so two approvers pressing approve at once give one decision and one 409, and
a parallel step finishes exactly once. The route itself is data: the template's steps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import Select, exists, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from quire.designer.approval import ApprovalStep
from quire.designer.formula import FormulaError, parse
from quire.designer.model import Template

from .. import access, audit
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound, QuireError
from ..extensions import db
from ..forms import service as forms_service
from ..forms import templates as template_service
from ..forms import values as form_values
from ..models import (
    ApprovalEvent,
    ApprovalTask,
    Submission,
    SubmissionStatus,
    TaskStatus,
    User,
    UserStatus,
    utcnow,
)
from . import budget, notify, outcomes, routing

#: What ``POST …/actions`` accepts. ``transfer`` hands a task on for good; ``delegate``
#: hands it on "for" its holder.
ACTIONS = ("approve", "reject", "return", "delegate", "transfer", "withdraw", "comment")
#: History actions that are decisions (withdrawal is only allowed before the first).
DECISIONS = ("approve", "reject", "return", "auto_approve", "auto_reject")
MAX_COMMENT = 4000
S = SubmissionStatus
P = ParamSpec("P")
R = TypeVar("R")


# --- small helpers -------------------------------------------------------------------------------
def _zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "UTC"
    return ZoneInfo(name)


def local_day(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def template_of(submission: Submission) -> Template:
    version = template_service.version_record(submission.template, submission.template_version)
    return template_service.parsed(version)


def steps_of(template: Template) -> list[ApprovalStep]:
    return list(template.approval.steps) if template.approval else []


def _step(template: Template, key: str | None) -> tuple[int, ApprovalStep] | None:
    for index, step in enumerate(steps_of(template)):
        if step.key == key:
            return index, step
    return None


def _bilingual(step: ApprovalStep) -> tuple[str, str]:
    return step.name.zh, step.name.en


def _locked(submission_id: int) -> Submission | None:
    """The submission row, locked for this transaction and freshly read.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite has no row locks and pysqlite starts a
    transaction only at the first write, so a no-op write takes the database's write lock
    first; everything read after it is current until commit.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            text("UPDATE submissions SET id = id WHERE id = :id"), {"id": submission_id}
        )
    return db.session.scalar(
        select(Submission)
        .where(Submission.id == submission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _load_locked(actor: User, submission_id: int, now: datetime) -> forms_service.Loaded:
    submission = _locked(submission_id)
    if submission is None:
        raise NotFound("No such submission, or it is outside your scope.")
    return forms_service.load(actor, submission_id)


def _touch(submission: Submission, now: datetime) -> None:
    """Bump the optimistic lock: every state change makes older pages stale."""
    submission.updated_at = now


def _flush() -> None:
    """Write now, so a concurrent change surfaces inside the engine as a 409, not at commit."""
    db.session.flush()


def races_are_conflicts(fn: Callable[P, R]) -> Callable[P, R]:
    """A change that lost a race is a 409, like a stale ``version``: on PostgreSQL the row
    lock makes the loser see the new version; on SQLite its write is refused."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except StaleDataError as exc:
            raise Conflict(
                "Someone else changed this submission at the same moment; reload it and try again."
            ) from exc
        except OperationalError as exc:
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
            raise Conflict("The submission is being changed by someone else; try again.") from exc

    return guarded


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _clean_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise Invalid("Please check the request.", [Detail("comment", "must be text")])
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(
            "Please check the request.", [Detail("comment", f"at most {MAX_COMMENT} characters")]
        )
    return comment or None


def current_round(submission: Submission) -> int:
    """Review rounds: 1 after the first submission, 2 after it was returned and resubmitted…"""
    count = db.session.scalar(
        select(func.count())
        .select_from(ApprovalEvent)
        .where(ApprovalEvent.submission_id == submission.id, ApprovalEvent.action == "submit")
    )
    return int(count or 0)


def _event(
    submission: Submission,
    action: str,
    *,
    now: datetime,
    round: int,
    actor: User | None = None,
    on_behalf_of: User | None = None,
    step: str | None = None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> ApprovalEvent:
    event = ApprovalEvent(
        submission_id=submission.id,
        step_key=step,
        round=round,
        actor_id=actor.id if actor else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
        action=action,
        comment=comment,
        details=details,
        at=now,
    )
    db.session.add(event)
    return event


def _open_tasks(submission: Submission, step_key: str | None = None) -> list[ApprovalTask]:
    stmt = select(ApprovalTask).where(
        ApprovalTask.submission_id == submission.id, ApprovalTask.status == TaskStatus.OPEN
    )
    if step_key is not None:
        stmt = stmt.where(ApprovalTask.step_key == step_key)
    return list(db.session.scalars(stmt.order_by(ApprovalTask.id)))


def _step_tasks(submission: Submission, step_key: str, round: int) -> list[ApprovalTask]:
    return list(
        db.session.scalars(
            select(ApprovalTask)
            .where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.step_key == step_key,
                ApprovalTask.round == round,
            )
            .order_by(ApprovalTask.id)
        )
    )


def _cancel(tasks: Iterable[ApprovalTask], now: datetime) -> None:
    for task in tasks:
        if task.status == TaskStatus.OPEN:
            task.status = TaskStatus.CANCELLED
            task.decided_at = now


# --- facts: what formulas and approvers see ------------------------------------------------------
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
    return _facts_from(submission, template, checks)


def _facts_from(submission: Submission, template: Template, checks: dict[str, Any]) -> Facts:
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
    return _facts_from(submission, template, checks)


def evaluate(formula: str, facts: Facts, today: date) -> tuple[bool, str | None]:
    """A condition's value; a formula that fails counts as true (more review, never less)."""
    try:
        return bool(parse(formula).evaluate(facts.context, today=today)), None
    except FormulaError as exc:
        return True, getattr(exc, "message", None) or str(exc)


def _figures(facts: Facts) -> dict[str, Any]:
    budget_figures = facts.checks.get("budget") or {}
    return {
        "total": facts.checks.get("total"),
        "within_budget": facts.checks.get("within_budget"),
        "budget_remaining": budget_figures.get("remaining"),
    }


# --- running the route ---------------------------------------------------------------------------
@dataclass
class _Run:
    submission: Submission
    template: Template
    facts: Facts
    round: int
    now: datetime

    @property
    def today(self) -> date:
        return local_day(self.now)


def _open_step(
    run: _Run, index: int, step: ApprovalStep, assignments: list[routing.Assignment]
) -> list[ApprovalTask]:
    submission = run.submission
    tasks = []
    for assignment in assignments:
        for note in assignment.notes:
            _event(
                submission,
                "delegate" if note.kind == "delegate" else "reassign",
                now=run.now,
                round=run.round,
                step=step.key,
                actor=None,
                on_behalf_of=note.original,
                comment=note.sentence_en(),
                details={
                    "kind": note.kind,
                    "from": note.original.username,
                    "to": note.replacement.username,
                    "zh": note.sentence_zh(),
                    "en": note.sentence_en(),
                },
            )
        task = ApprovalTask(
            submission=submission,
            step_key=step.key,
            step_index=index,
            round=run.round,
            assignee=assignment.user,
            on_behalf_of=assignment.on_behalf_of,
            through_delegation=assignment.on_behalf_of is not None,
            status=TaskStatus.OPEN,
            created_at=run.now,
            due_at=routing.due_at(step, run.now),
            checks=run.facts.checks,
        )
        db.session.add(task)
        tasks.append(task)
        notify.new_task(task, _bilingual(step))
    submission.current_step = step.key
    return tasks


def _advance(run: _Run, start: int) -> None:
    """Open the first step from ``start`` whose condition holds; approve when none is left."""
    steps = steps_of(run.template)
    for index in range(start, len(steps)):
        step = steps[index]
        if step.when:
            applies, error = evaluate(step.when, run.facts, run.today)
            if not applies:
                _event(
                    run.submission,
                    "skip",
                    now=run.now,
                    round=run.round,
                    step=step.key,
                    comment=f"condition {step.when} is false",
                    details={"when": step.when, **_figures(run.facts)},
                )
                continue
            if error:
                _event(
                    run.submission,
                    "comment",
                    now=run.now,
                    round=run.round,
                    step=step.key,
                    comment=f"condition {step.when} failed ({error}); the step applies",
                )
        try:
            assignments = routing.assign(step, run.submission, run.facts.values, run.today)
        except routing.DecidedAlready as covered:
            _four_eyes_skip(run, step, covered)
            continue
        except routing.StepNotNeeded as unneeded:
            details = {"zh": unneeded.zh, "en": unneeded.en}
            _event(run.submission, "skip", now=run.now, round=run.round, step=step.key,
                   comment=unneeded.en, details=details)  # fmt: skip
            continue
        except routing.NoApprover:
            raise Conflict(
                f"Nobody is available to approve the step “{step.name.en}”; "
                "ask a finance administrator to check the route and the organisation."
            ) from None
        _open_step(run, index, step, assignments)
        return
    _finish(run, S.APPROVED)


def _four_eyes_skip(run: _Run, step: ApprovalStep, covered: routing.DecidedAlready) -> None:
    """Nobody but someone who already decided another step could take ``step``: nobody
    decides twice, so the step is passed with the reason in the history and the audit."""
    _event(
        run.submission,
        "skip",
        now=run.now,
        round=run.round,
        step=step.key,
        comment=covered.sentence_en(step.name.en),
        details={
            "four_eyes": covered.person.username,
            "zh": covered.sentence_zh(step.name.zh),
            "en": covered.sentence_en(step.name.en),
        },
    )
    audit.record(
        None,
        "submission.four_eyes",
        object_type="submission",
        object_id=run.submission.id,
        changes={"step": step.key, "decided_elsewhere": covered.person.username},
    )


def _finish(run: _Run, outcome: SubmissionStatus, comment: str | None = None) -> None:
    submission = run.submission
    outcome, comment = outcomes.settle(submission, run.template, outcome, comment, now=run.now)
    _cancel(_open_tasks(submission), run.now)
    submission.status = outcome
    submission.decided_at = run.now
    submission.current_step = None
    notify.decision(submission, outcome.value, comment)


def step_outcome(step: ApprovalStep, tasks: Sequence[ApprovalTask]) -> str:
    """``open``, ``approved`` or ``rejected`` for a step from its tasks and its mode."""
    live = [
        t for t in tasks if t.status in (TaskStatus.OPEN, TaskStatus.APPROVED, TaskStatus.REJECTED)
    ]
    approved = sum(t.status == TaskStatus.APPROVED for t in live)
    rejected = sum(t.status == TaskStatus.REJECTED for t in live)
    waiting = sum(t.status == TaskStatus.OPEN for t in live)
    if step.mode == "any":
        return "approved" if approved else "rejected" if rejected else "open"
    if step.mode == "all":
        if rejected:
            return "rejected"
        return "approved" if approved and not waiting else "open"
    required = min(step.required or 1, len(live)) or 1
    if approved >= required:
        return "approved"
    if approved + waiting < required:
        return "rejected"
    return "open"


def _decide(
    run: _Run,
    task: ApprovalTask,
    approve: bool,
    *,
    actor: User | None,
    comment: str | None,
    reason: dict[str, Any] | None = None,
) -> None:
    found = _step(run.template, task.step_key)
    if found is None:
        raise Conflict("The step of this task is no longer in the route.")
    index, step = found
    task.status = TaskStatus.APPROVED if approve else TaskStatus.REJECTED
    task.decided_at = run.now
    task.comment = comment
    action = (
        ("approve" if approve else "reject")
        if actor is not None
        else ("auto_approve" if approve else "auto_reject")
    )
    _event(
        run.submission,
        action,
        now=run.now,
        round=run.round,
        step=step.key,
        actor=actor,
        on_behalf_of=task.on_behalf_of,
        comment=comment,
        details=reason,
    )
    outcome = step_outcome(step, _step_tasks(run.submission, step.key, run.round))
    if outcome == "approved":
        _cancel(_open_tasks(run.submission, step.key), run.now)
        _advance(run, index + 1)
    elif outcome == "rejected":
        _finish(run, S.REJECTED, comment)


# --- submit --------------------------------------------------------------------------------------
@races_are_conflicts
def submit(
    actor: User,
    submission_id: int,
    version: Any,
    *,
    now: datetime | None = None,
    locale: str = "en",
) -> Submission:
    """Send a draft (or a returned form) into review; it may be approved at once by the
    template's ``auto_approve_when`` rule."""
    now = now or utcnow()
    loaded = _load_locked(actor, submission_id, now)
    submission, template = loaded.submission, loaded.template
    if version is not None:  # optional when submitting: checked when the client sends it
        forms_service.check_version(submission, version)
    if not access.is_submitter(actor, submission):
        raise Forbidden("Only the submitter can submit this form.")
    if not access.may_edit_submission(actor, submission):
        raise Conflict(f"A submission that is {submission.status.value} cannot be submitted.")
    facts = compute_facts(submission, template)
    forms_service.validate_for_submit(
        actor,
        submission,
        template,
        extra={k: facts.context[k] for k in ("within_budget", "over_budget", "budget_remaining")},
        today=local_day(now),
        locale=locale,
    )
    before = submission.status.value
    run = _Run(submission, template, facts, current_round(submission) + 1, now)
    submission.status = S.IN_REVIEW
    submission.submitted_at = now
    submission.decided_at = None
    submission.current_step = None
    _event(
        submission,
        "submit",
        now=now,
        round=run.round,
        actor=actor,
        details={"checks": facts.checks},
    )
    rule = template.approval.auto_approve_when if template.approval else None
    if not steps_of(template):
        _event(
            submission,
            "auto_approve",
            now=now,
            round=run.round,
            comment="the form has no approval route",
        )
        _finish(run, S.APPROVED)
    elif rule and _evaluate_strict(rule, facts, run.today):
        _event(
            submission,
            "auto_approve",
            now=now,
            round=run.round,
            comment=f"rule {rule} is true",
            details={"rule": rule, **_figures(facts)},
        )
        _finish(run, S.APPROVED)
    else:
        _advance(run, 0)
    _touch(submission, now)
    audit.record(
        actor,
        "submission.submit",
        object_type="submission",
        object_id=submission.id,
        changes={
            "status": [before, submission.status.value],
            "round": run.round,
            "step": submission.current_step,
        },
    )
    _flush()
    return submission


def _evaluate_strict(formula: str, facts: Facts, today: date) -> bool:
    """For auto-approval a failing formula counts as false (never approve by accident)."""
    try:
        return bool(parse(formula).evaluate(facts.context, today=today))
    except FormulaError:
        return False


# --- actions -------------------------------------------------------------------------------------
def _my_open_tasks(actor: User, submission: Submission, today: date) -> list[ApprovalTask]:
    """The open tasks of the current step ``actor`` may decide now (403/409 when none)."""
    if submission.status != S.IN_REVIEW:
        raise Conflict(f"This submission is {submission.status.value}; there is nothing to decide.")
    mine = [
        t
        for t in _open_tasks(submission, submission.current_step)
        if access.may_act_on_task(actor, t, today)
    ]
    if not mine:
        raise Forbidden("This step is not waiting for you.")
    conflict = access.separation_of_duties(actor, submission, submission.current_step)
    if conflict:
        raise Forbidden(f"You cannot decide on this form: you {conflict}.")
    return mine


def _task_for(actor: User, submission: Submission, today: date) -> ApprovalTask:
    """The open task of the current step that ``actor`` may decide right now."""
    task = access.own_tasks_first(actor, _my_open_tasks(actor, submission, today))[0]
    principal = access.acting_for(actor, task)
    if principal is not None:
        # Acting for someone away: the history says "actor for them".
        task.on_behalf_of = principal
        task.through_delegation = True
        task.assignee = actor
    elif task.through_delegation:
        # The holder decides their own task again (the delegation ended).
        task.assignee, task.on_behalf_of, task.through_delegation = actor, None, False
    return task


def decided_in_round(submission: Submission, round: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    ApprovalEvent.submission_id == submission.id,
                    ApprovalEvent.round == round,
                    ApprovalEvent.action.in_(DECISIONS),
                )
            )
        )
    )


def _person(username: Any) -> User:
    if not isinstance(username, str) or not username.strip():
        raise Invalid("Please say to whom.", [Detail("to", "a username is required")])
    person = db.session.scalar(select(User).where(User.username == username.strip()))
    if person is None or person.status == UserStatus.LEFT:
        raise Invalid("Please check the request.", [Detail("to", f"no active user {username}")])
    return person


@races_are_conflicts
def act(
    actor: User,
    submission_id: int,
    action: Any,
    *,
    version: Any,
    comment: Any = None,
    to: Any = None,
    data: Any = None,
    now: datetime | None = None,
) -> Submission:
    """Approve, reject, return, delegate, transfer, withdraw or comment, as ``actor``.

    ``approve`` may carry ``data``: the fields the current step lets its approvers edit,
    changed first (as :func:`edit_at_step` does) and then approved, in one transaction."""
    if action not in ACTIONS:
        raise Invalid("Unknown action.", [Detail("action", "must be one of " + ", ".join(ACTIONS))])
    if data is not None and action != "approve":
        raise Invalid(
            "Only an approval may carry changed values.",
            [Detail("data", "send data with the approve action, or change it with PATCH")],
        )
    text = _clean_comment(comment)
    now = now or utcnow()
    loaded = _load_locked(actor, submission_id, now)
    submission = loaded.submission
    forms_service.check_version(submission, version)
    template = loaded.template
    round = current_round(submission)
    before = submission.status.value
    changes: dict[str, Any] = {}
    if data is not None:
        edited = _edit(actor, loaded, data, now, round)
        if edited:
            changes["edited"] = [c["path"] for c in edited]
    if action == "comment":
        _comment(actor, submission, text, now, round)
    elif action == "withdraw":
        _withdraw(actor, submission, text, now, round)
    else:
        run = _Run(submission, template, facts_at_submission(submission, template), round, now)
        if action in ("approve", "reject"):
            if action == "reject" and not text:
                raise Invalid(
                    "Please say why.", [Detail("comment", "a reason is required to reject")]
                )
            task = _task_for(actor, submission, run.today)
            changes["step"] = task.step_key
            _decide(run, task, action == "approve", actor=actor, comment=text)
        elif action == "return":
            changes["to"] = _return(actor, run, text, to)
        else:
            changes["to"] = _hand_on(
                actor, run, text, to, keep_behalf=action == "delegate", action=action
            )
    if action != "comment":
        _touch(submission, now)
    changes["status"] = [before, submission.status.value]
    if text:
        changes["comment"] = text
    audit.record(
        actor,
        f"submission.{action}",
        object_type="submission",
        object_id=submission.id,
        changes=changes,
    )
    _flush()
    return submission


@races_are_conflicts
def edit_at_step(
    actor: User, submission_id: int, data: Any, *, version: Any, now: datetime | None = None
) -> Submission:
    """The current step's approver changes the fields their step lets them edit (a finance
    reviewer corrects a line's category): validated like the submitter's values, recorded in
    the history with old and new values, and the rest of the route re-evaluated on the
    corrected form (a budget or an amount that changed may bring in, or drop, a later step)."""
    now = now or utcnow()
    loaded = _load_locked(actor, submission_id, now)
    submission = loaded.submission
    forms_service.check_version(submission, version)
    _edit(actor, loaded, data, now, current_round(submission))
    _flush()
    return submission


def _edit(
    actor: User, loaded: forms_service.Loaded, data: Any, now: datetime, round: int
) -> list[dict[str, Any]]:
    submission, template = loaded.submission, loaded.template
    _my_open_tasks(actor, submission, local_day(now))
    route_before = _later_steps(
        template, submission, facts_at_submission(submission, template), now
    )
    changes = forms_service.edit_at_step(actor, loaded, data, today=local_day(now))
    if not changes:
        return []
    facts = compute_facts(submission, template)
    route_after = _later_steps(template, submission, facts, now)
    route = [
        {"step": key, "before": route_before[key], "after": applies}
        for key, applies in route_after.items()
        if route_before.get(key) != applies
    ]
    for task in _open_tasks(submission, submission.current_step):
        task.checks = facts.checks
    zh, en = _route_sentences(template, route)
    _event(
        submission,
        "edit",
        now=now,
        round=round,
        step=submission.current_step,
        actor=actor,
        comment=en,
        details={"changes": changes, "checks": facts.checks, "route": route, "zh": zh, "en": en},
    )
    _touch(submission, now)
    return changes


def _later_steps(
    template: Template, submission: Submission, facts: Facts, now: datetime
) -> dict[str, bool]:
    """Whether each step after the current one would run, on these facts."""
    steps = steps_of(template)
    current = next((i for i, s in enumerate(steps) if s.key == submission.current_step), -1)
    return {
        step.key: evaluate(step.when, facts, local_day(now))[0] if step.when else True
        for step in steps[current + 1 :]
    }


def _route_sentences(template: Template, route: list[dict[str, Any]]) -> tuple[str, str]:
    """What an edit did to the route, in both languages ("" when nothing changed)."""
    zh, en = [], []
    for item in route:
        found = _step(template, item["step"])
        if found is None:
            continue
        name_zh, name_en = _bilingual(found[1])
        if item["after"]:
            zh.append(f"修改后需要“{name_zh}”")
            en.append(f"the change brings in {name_en}")
        else:
            zh.append(f"修改后不再需要“{name_zh}”")
            en.append(f"the change skips {name_en}")
    return "；".join(zh), "; ".join(en)


def _comment(
    actor: User, submission: Submission, text: str | None, now: datetime, round: int
) -> None:
    if not text:
        raise Invalid("Please write a comment.", [Detail("comment", "is required")])
    if submission.status == S.DRAFT:
        raise Conflict("Comments start once the form is submitted.")
    if not access.may_comment(actor, submission):
        raise Forbidden("You cannot comment on this submission.")
    _event(
        submission,
        "comment",
        now=now,
        round=round,
        actor=actor,
        step=submission.current_step,
        comment=text,
    )
    if access.is_submitter(actor, submission):
        recipients = [t.assignee for t in _open_tasks(submission)]
    else:
        recipients = [submission.submitter]
    notify.comment([u for u in recipients if u.id != actor.id], submission, actor, text)


def _withdraw(
    actor: User, submission: Submission, text: str | None, now: datetime, round: int
) -> None:
    if not access.may_withdraw(actor, submission):
        raise Forbidden("Only the submitter can withdraw this form.")
    if submission.status == S.IN_REVIEW:
        if decided_in_round(submission, round):
            raise Conflict(
                "Someone has already decided on this form; it can no longer be withdrawn."
            )
    elif submission.status != S.RETURNED:
        raise Conflict(f"A submission that is {submission.status.value} cannot be withdrawn.")
    _cancel(_open_tasks(submission), now)
    submission.status = S.WITHDRAWN
    submission.current_step = None
    submission.decided_at = now
    _event(submission, "withdraw", now=now, round=round, actor=actor, comment=text)


def return_targets(template: Template, submission: Submission, round: int) -> list[ApprovalStep]:
    """Earlier steps of this round that someone approved: where a form can be sent back to."""
    found = _step(template, submission.current_step)
    if found is None:
        return []
    approved = set(
        db.session.scalars(
            select(ApprovalTask.step_key).where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.round == round,
                ApprovalTask.status == TaskStatus.APPROVED,
            )
        )
    )
    return [s for s in steps_of(template)[: found[0]] if s.key in approved]


def _return(actor: User, run: _Run, text: str | None, to: Any) -> str:
    """Return to the submitter, or to an earlier step of this round; either way the task is
    closed, the open ones cancelled and the history says where the form went."""
    if not text:
        raise Invalid(
            "Please say why.", [Detail("comment", "a reason is required to return a form")]
        )
    submission = run.submission
    task = _task_for(actor, submission, run.today)
    target = (to or "submitter") if isinstance(to, str | type(None)) else None
    step = None
    if target not in ("submitter", "draft"):
        earlier = {s.key: s for s in return_targets(run.template, submission, run.round)}
        if target not in earlier:
            raise Invalid(
                "Please check where to return the form.",
                [
                    Detail(
                        "to",
                        'must be "submitter" or an earlier step: ' + ", ".join(earlier)
                        if earlier
                        else 'must be "submitter"',
                    )
                ],
            )
        step = earlier[target]
    task.status = TaskStatus.RETURNED
    task.decided_at, task.comment = run.now, text
    _cancel(_open_tasks(submission), run.now)
    _event(
        submission,
        "return",
        now=run.now,
        round=run.round,
        actor=actor,
        on_behalf_of=task.on_behalf_of,
        step=task.step_key,
        comment=text,
        details={"to": step.key if step else "submitter"},
    )
    if step is None:
        submission.status = S.RETURNED
        submission.current_step = None
        notify.returned(submission.submitter, submission, actor, text)
        return "submitter"
    index, _ = _step(run.template, step.key) or (0, step)
    try:
        assignments = routing.assign(step, submission, run.facts.values, run.today)
    except routing.NoApprover:
        raise Conflict(f"Nobody is available for the step “{step.name.en}” any more.") from None
    for new in _open_step(run, index, step, assignments):
        notify.returned(new.assignee, submission, actor, text)
    return step.key


@races_are_conflicts
def return_for_rework(
    actor: User,
    submission_id: int,
    *,
    version: Any,
    comment: Any,
    now: datetime | None = None,
) -> Submission:
    """Send a form in review (or approved but not yet in force) back to its submitter on
    behalf of whoever runs the process it belongs to, such as finance in a budget round.
    The caller has decided that ``actor`` may; open tasks are cancelled, history says who."""
    text = _clean_comment(comment)
    if not text:
        raise Invalid(
            "Please say why.", [Detail("comment", "a reason is required to return a form")]
        )
    now = now or utcnow()
    submission = _locked(submission_id)
    if submission is None:
        raise NotFound("No such submission, or it is outside your scope.")
    forms_service.check_version(submission, version)
    if submission.status not in (S.IN_REVIEW, S.APPROVED):
        raise Conflict(f"A submission that is {submission.status.value} cannot be returned.")
    before = submission.status.value
    round = current_round(submission)
    _cancel(_open_tasks(submission), now)
    _event(
        submission,
        "return",
        now=now,
        round=round,
        actor=actor,
        step=submission.current_step,
        comment=text,
        details={"to": "submitter", "by": "owner"},
    )
    submission.status = S.RETURNED
    submission.current_step = None
    submission.decided_at = None
    notify.returned(submission.submitter, submission, actor, text)
    _touch(submission, now)
    audit.record(
        actor,
        "submission.return",
        object_type="submission",
        object_id=submission.id,
        changes={"status": [before, submission.status.value], "comment": text, "by": "owner"},
    )
    _flush()
    return submission


def _hand_on(
    actor: User, run: _Run, text: str | None, to: Any, *, keep_behalf: bool, action: str
) -> str:
    target = _person(to)
    submission = run.submission
    task = _task_for(actor, submission, run.today)
    if target.id == actor.id:
        raise Invalid("Please check the request.", [Detail("to", "the task is already yours")])
    conflict = access.separation_of_duties(target, submission, task.step_key)
    if conflict:
        raise Invalid(
            "Please choose someone else.",
            [Detail("to", f"{target.username} {conflict} and cannot decide on it")],
        )
    if any(t.assignee_id == target.id for t in _open_tasks(submission, task.step_key)):
        raise Invalid(
            "Please choose someone else.",
            [Detail("to", f"{target.username} already holds this step")],
        )
    task.status = TaskStatus.DELEGATED
    task.decided_at, task.comment = run.now, text
    new = ApprovalTask(
        submission=submission,
        step_key=task.step_key,
        step_index=task.step_index,
        round=task.round,
        assignee=target,
        on_behalf_of_id=(task.on_behalf_of_id or task.assignee_id) if keep_behalf else None,
        status=TaskStatus.OPEN,
        created_at=run.now,
        due_at=task.due_at,
        checks=task.checks,
    )
    db.session.add(new)
    _event(
        submission,
        action,
        now=run.now,
        round=run.round,
        actor=actor,
        on_behalf_of=task.on_behalf_of,
        step=task.step_key,
        comment=text,
        details={"to": target.username},
    )
    found = _step(run.template, task.step_key)
    notify.new_task(new, _bilingual(found[1]) if found else (task.step_key, task.step_key))
    return target.username


# --- inbox and history ---------------------------------------------------------------------------
INBOX_SORTS = {
    "-since": (ApprovalTask.created_at.desc(), ApprovalTask.id.desc()),
    "since": (ApprovalTask.created_at.asc(), ApprovalTask.id.asc()),
    "-total": (Submission.total.desc().nulls_last(), ApprovalTask.id.desc()),
    "total": (Submission.total.asc().nulls_last(), ApprovalTask.id.asc()),
    "due": (ApprovalTask.due_at.asc().nulls_last(), ApprovalTask.id.asc()),
}


def inbox_query(user: User, today: date, sort: str = "-since") -> Select[Any]:
    """Open tasks ``user`` may decide now (their own and those delegated to them)."""
    if sort not in INBOX_SORTS:
        raise Invalid("Invalid sort.", [Detail("sort", "must be one of " + ", ".join(INBOX_SORTS))])
    return (
        select(ApprovalTask)
        .join(Submission, Submission.id == ApprovalTask.submission_id)
        .where(
            ApprovalTask.status == TaskStatus.OPEN,
            access.actionable_tasks(user, today),
            Submission.status == S.IN_REVIEW,
        )
        .options(
            joinedload(ApprovalTask.submission).joinedload(Submission.submitter),
            joinedload(ApprovalTask.submission).joinedload(Submission.department),
            joinedload(ApprovalTask.submission).joinedload(Submission.template),
            joinedload(ApprovalTask.assignee),
            joinedload(ApprovalTask.on_behalf_of),
        )
        .order_by(*INBOX_SORTS[sort])
    )


def inbox_count(user: User, today: date) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ApprovalTask)
            .join(Submission, Submission.id == ApprovalTask.submission_id)
            .where(
                ApprovalTask.status == TaskStatus.OPEN,
                access.actionable_tasks(user, today),
                Submission.status == S.IN_REVIEW,
            )
        )
        or 0
    )


def history_query(submission: Submission) -> Select[Any]:
    """Every line of the submission's history, oldest first."""
    return (
        select(ApprovalEvent)
        .where(ApprovalEvent.submission_id == submission.id)
        .options(joinedload(ApprovalEvent.actor), joinedload(ApprovalEvent.on_behalf_of))
        .order_by(ApprovalEvent.at.asc(), ApprovalEvent.id.asc())
    )


def step_name(template: Template, key: str | None, locale: str) -> str:
    found = _step(template, key)
    return found[1].name.text(locale) if found else (key or "")


# --- bulk approval -------------------------------------------------------------------------------
@dataclass
class BulkResult:
    approved: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def bulk_approve(
    actor: User, items: Iterable[tuple[int, Any]], *, now: datetime | None = None
) -> BulkResult:
    """Approve each (task id, submission version) that passed every check; each in its own
    transaction, so one stale or flagged item never holds the others back."""
    result = BulkResult()
    for task_id, version in items:
        task = db.session.get(ApprovalTask, task_id)
        today = local_day(now or utcnow())
        if task is None or not access.may_act_on_task(actor, task, today):
            result.skipped.append((f"#{task_id}", "not waiting for you"))
            continue
        submission = task.submission
        label = submission.number
        try:
            facts = compute_facts(submission, template_of(submission))
            if not facts.passed:
                reason = "over budget" if not facts.checks["within_budget"] else "duplicate invoice"
                result.skipped.append((label, reason))
                db.session.rollback()
                continue
            act(actor, submission.id, "approve", version=version, now=now)
            db.session.commit()
            result.approved.append(label)
        except QuireError as exc:
            db.session.rollback()
            result.skipped.append((label, exc.message))
    return result


# --- timeouts and absence (the sweep) ------------------------------------------------------------
def overdue_task_ids(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(ApprovalTask.id)
            .join(Submission, Submission.id == ApprovalTask.submission_id)
            .where(
                ApprovalTask.status == TaskStatus.OPEN,
                ApprovalTask.due_at.is_not(None),
                ApprovalTask.due_at <= now,
                Submission.status == S.IN_REVIEW,
            )
            .order_by(ApprovalTask.due_at)
        )
    )


def _claim(task_id: int, column: Any, now: datetime) -> bool:
    """Stamp a once-only column; True for the one sweep that stamped it (idempotency)."""
    result = db.session.execute(
        update(ApprovalTask)
        .where(ApprovalTask.id == task_id, ApprovalTask.status == TaskStatus.OPEN, column.is_(None))
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


@races_are_conflicts
def handle_overdue(task_id: int, now: datetime) -> str | None:
    """Apply the step's ``on_timeout`` to one overdue task; returns what was done, if anything."""
    task = db.session.get(ApprovalTask, task_id)
    if task is None or task.status != TaskStatus.OPEN:
        return None
    submission = _locked(task.submission_id)
    db.session.refresh(task)
    if submission is None or submission.status != S.IN_REVIEW or task.status != TaskStatus.OPEN:
        return None
    template = template_of(submission)
    found = _step(template, task.step_key)
    if found is None:
        return None
    _, step = found
    round = current_round(submission)
    run = _Run(submission, template, facts_at_submission(submission, template), round, now)
    policy = step.on_timeout
    if policy == "escalate":
        return _escalate(run, task, step) or _remind(run, task)
    if policy in ("auto_approve", "auto_reject"):
        if not _claim(task.id, ApprovalTask.escalated_at, now):
            return None
        db.session.refresh(task)
        _decide(
            run,
            task,
            policy == "auto_approve",
            actor=None,
            comment="due time passed",
            reason={
                "on_timeout": policy,
                "due_at": task.due_at.isoformat() if task.due_at else None,
            },
        )
        _touch(submission, now)
        audit.record(
            None,
            f"submission.{policy}",
            object_type="submission",
            object_id=submission.id,
            changes={"step": step.key, "task": task.id},
        )
        _flush()
        return policy
    return _remind(run, task)


def _remind(run: _Run, task: ApprovalTask) -> str | None:
    if not _claim(task.id, ApprovalTask.reminded_at, run.now):
        return None
    db.session.refresh(task)
    _event(
        run.submission,
        "remind",
        now=run.now,
        round=run.round,
        step=task.step_key,
        on_behalf_of=task.assignee,
        comment=f"reminded {task.assignee.username}: overdue since {_iso(task.due_at)}",
    )
    notify.reminder(task)
    return "remind"


def _escalate(run: _Run, task: ApprovalTask, step: ApprovalStep) -> str | None:
    boss = routing.manager_of(task.assignee)
    settled = (
        routing.settle(boss, run.submission, run.today, task.step_key) if boss is not None else None
    )
    if settled is None or settled.user.id == task.assignee_id:
        return None
    if any(t.assignee_id == settled.user.id for t in _open_tasks(run.submission, task.step_key)):
        return None
    if not _claim(task.id, ApprovalTask.escalated_at, run.now):
        return None
    db.session.refresh(task)
    task.status = TaskStatus.DELEGATED
    task.decided_at = run.now
    new = ApprovalTask(
        submission=run.submission,
        step_key=task.step_key,
        step_index=task.step_index,
        round=task.round,
        assignee=settled.user,
        on_behalf_of=settled.on_behalf_of,
        through_delegation=settled.on_behalf_of is not None,
        status=TaskStatus.OPEN,
        created_at=run.now,
        due_at=routing.due_at(step, run.now),
        checks=task.checks,
    )
    db.session.add(new)
    _event(
        run.submission,
        "escalate",
        now=run.now,
        round=run.round,
        step=task.step_key,
        on_behalf_of=task.assignee,
        comment=(
            f"{task.assignee.display_name} did not decide in time; "
            f"escalated to {settled.user.display_name}"
        ),
        details={
            "from": task.assignee.username,
            "to": settled.user.username,
            "due_at": task.due_at.isoformat() if task.due_at else None,
        },
    )
    notify.escalation(new, task)
    _touch(run.submission, run.now)
    audit.record(
        None,
        "submission.escalate",
        object_type="submission",
        object_id=run.submission.id,
        changes={
            "step": task.step_key,
            "from": task.assignee.username,
            "to": settled.user.username,
        },
    )
    _flush()
    return "escalate"


def finance_people() -> list[User]:
    """Who "finance" is when the engine must tell finance something."""
    keys = current_app.config.get("APPROVAL_FINANCE_ROLES") or ("finance_admin", "finance_reviewer")
    people: dict[int, User] = {}
    for key in keys:
        for person in routing.role_holders(key):
            people.setdefault(person.id, person)
    return list(people.values())


def absent_task_ids(today: date) -> list[int]:
    """Open tasks whose holder has left or is away with a delegate."""
    rows = db.session.execute(
        select(ApprovalTask.id, User)
        .join(User, User.id == ApprovalTask.assignee_id)
        .join(Submission, Submission.id == ApprovalTask.submission_id)
        .where(
            ApprovalTask.status == TaskStatus.OPEN,
            Submission.status == S.IN_REVIEW,
            (User.status != UserStatus.ACTIVE) | User.delegate_id.is_not(None),
        )
    ).all()
    return [
        task_id
        for task_id, person in rows
        if person.status == UserStatus.LEFT
        or access.delegation_active(person, today)
        or person.status == UserStatus.ON_LEAVE
    ]


@races_are_conflicts
def reroute(task_id: int, now: datetime) -> str | None:
    """Move one task off someone who left (to their manager; finance is told) or who is
    away (to their delegate, "X for Y")."""
    task = db.session.get(ApprovalTask, task_id)
    if task is None or task.status != TaskStatus.OPEN:
        return None
    submission = _locked(task.submission_id)
    db.session.refresh(task)
    if submission is None or submission.status != S.IN_REVIEW or task.status != TaskStatus.OPEN:
        return None
    holder = task.assignee
    today = local_day(now)
    settled = routing.settle(holder, submission, today, task.step_key)
    if settled is None or settled.user.id == holder.id:
        return None
    if any(t.assignee_id == settled.user.id for t in _open_tasks(submission, task.step_key)):
        return None
    template = template_of(submission)
    found = _step(template, task.step_key)
    run = _Run(
        submission,
        template,
        facts_at_submission(submission, template),
        current_round(submission),
        now,
    )
    task.status = TaskStatus.DELEGATED
    task.decided_at = now
    new = ApprovalTask(
        submission=submission,
        step_key=task.step_key,
        step_index=task.step_index,
        round=task.round,
        assignee=settled.user,
        on_behalf_of=settled.on_behalf_of or task.on_behalf_of,
        through_delegation=settled.on_behalf_of is not None or task.through_delegation,
        status=TaskStatus.OPEN,
        created_at=task.created_at,
        due_at=task.due_at,
        checks=task.checks,
    )
    db.session.add(new)
    for note in settled.notes:
        _event(
            submission,
            "delegate" if note.kind == "delegate" else "reassign",
            now=now,
            round=run.round,
            step=task.step_key,
            on_behalf_of=note.original,
            comment=note.sentence_en(),
            details={
                "kind": note.kind,
                "from": note.original.username,
                "to": note.replacement.username,
                "zh": note.sentence_zh(),
                "en": note.sentence_en(),
            },
        )
    notify.new_task(new, _bilingual(found[1]) if found else (task.step_key, task.step_key))
    kind = "left" if holder.status == UserStatus.LEFT else "away"
    if kind == "left":
        notify.reassigned(finance_people(), submission, holder, settled.user)
    _touch(submission, now)
    audit.record(
        None,
        "submission.reassign",
        object_type="submission",
        object_id=submission.id,
        changes={
            "step": task.step_key,
            "from": holder.username,
            "to": settled.user.username,
            "why": kind,
        },
    )
    _flush()
    return kind
