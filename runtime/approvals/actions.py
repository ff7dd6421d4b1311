"""What people do to a submission in review: submit, approve, reject, return, hand on,
withdraw, comment, change a field at their step, approve in bulk.

Every function takes the acting user, checks rights through :mod:`quire.runtime.access` at
that moment, raises domain errors, and writes history, notifications and an audit event in
the caller's transaction. Decisions lock the submission row and check its ``version``, so
two approvers pressing approve at once give one decision and one 409.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select

from quire.designer.model import Template

from .. import access, audit
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound, QuireError
from ..extensions import db
from ..forms import service as forms_service
from ..models import ApprovalTask, Submission, TaskStatus, User, UserStatus, utcnow
from . import amend, notify, participants, routing
from .facts import compute_facts, evaluate_strict, facts_at_submission, figures
from .handing import hand_over, holder_ids
from .route import (
    Run,
    advance,
    decide,
    decide_again,
    finish,
    later_steps,
    left_by_return,
    open_step,
    return_targets,
)
from .settings import local_day
from .state import (
    S,
    bilingual,
    cancel,
    clean_comment,
    current_round,
    decided_in_round,
    find_step,
    flush,
    load_locked,
    locked,
    open_tasks,
    races_are_conflicts,
    record,
    step_names,
    step_tasks_of_round,
    steps_of,
    template_of,
    touch,
    unfinished_tasks,
)

#: What ``POST …/actions`` accepts. ``transfer`` hands a task on for good; ``delegate``
#: hands it on "for" its holder.
#: ``add_signer`` asks more people to approve (加签); ``copy`` lets people read it (抄送).
ACTIONS = (
    "approve",
    "reject",
    "return",
    "delegate",
    "transfer",
    "withdraw",
    "comment",
    "add_signer",
    "copy",
    "amend",
)


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
    loaded = load_locked(actor, submission_id)
    submission, template = loaded.submission, loaded.template
    if version is not None:  # optional when submitting: checked when the client sends it
        forms_service.check_version(submission, version)
    if not access.is_submitter(actor, submission):
        raise Forbidden("Only the submitter can submit this form.")
    if not access.may_edit_submission(actor, submission):
        raise Conflict("Only a draft or a returned form can be submitted.")
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
    run = Run(submission, template, facts, current_round(submission) + 1, now)
    submission.status = S.IN_REVIEW
    submission.submitted_at = now
    submission.decided_at = None
    submission.current_step = None
    record(
        submission,
        "submit",
        now=now,
        round=run.round,
        actor=actor,
        details={"checks": facts.checks},
    )
    if template.approval:
        participants.route_copies(run, template.approval.copy_to, None)
    rule = template.approval.auto_approve_when if template.approval else None
    if not steps_of(template):
        record(
            submission,
            "auto_approve",
            now=now,
            round=run.round,
            comment="the form has no approval route",
        )
        finish(run, S.APPROVED)
    elif rule and evaluate_strict(rule, facts, run.today):
        record(
            submission,
            "auto_approve",
            now=now,
            round=run.round,
            comment=f"rule {rule} is true",
            details={"rule": rule, **figures(facts)},
        )
        finish(run, S.APPROVED)
    else:
        advance(run, 0)
    touch(submission, now)
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
    flush()
    return submission


# --- whose turn it is ----------------------------------------------------------------------------
#: Why someone may not decide (:func:`access.separation_of_duties`), as whole sentences the
#: catalogue translates (never "you " + a reason glued together).
SEPARATION_SENTENCES = {
    "submitted it": "You cannot decide on a form you submitted.",
    "would get these rights": "You cannot decide on a request that gives you these rights.",
    "edited it": "You cannot decide on a form you filled in or changed.",
    access.DECIDED_ANOTHER_STEP: "You decided another step; someone else decides this one.",
}


def my_open_tasks(actor: User, submission: Submission, today: date) -> list[ApprovalTask]:
    """The open tasks of the current step ``actor`` may decide now (403/409 when none).
    While branches run in parallel several steps are current; each task knows its own."""
    if submission.status != S.IN_REVIEW:
        raise Conflict("This form is no longer in review; there is nothing to decide.")
    mine = [t for t in open_tasks(submission) if access.may_act_on_task(actor, t, today)]
    if not mine:
        raise Forbidden("This step is not waiting for you.")
    conflict = access.separation_of_duties(actor, submission, mine[0].step_key)
    if conflict:
        raise Forbidden(SEPARATION_SENTENCES.get(conflict, "You cannot decide on this form."))
    return mine


def task_for(actor: User, submission: Submission, today: date) -> ApprovalTask:
    """The open task of the current step that ``actor`` may decide right now."""
    task = access.own_tasks_first(actor, my_open_tasks(actor, submission, today))[0]
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


def _person(username: Any) -> User:
    if not isinstance(username, str) or not username.strip():
        raise Invalid("Please say to whom.", [Detail("to", "a username is required")])
    person = db.session.scalar(select(User).where(User.username == username.strip()))
    if person is None or person.status == UserStatus.LEFT:
        raise Invalid("Please check the request.", [Detail("to", f"no active user {username}")])
    return person


# --- the actions ---------------------------------------------------------------------------------
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
    position: Any = None,
    mode: Any = None,
    step: Any = None,
    again: Any = None,
    now: datetime | None = None,
) -> Submission:
    """Approve, reject, return, delegate, transfer, withdraw, comment, add signers or copy,
    as ``actor``.

    ``approve`` may carry ``data``: the fields the current step lets its approvers edit,
    changed first (as :func:`edit_at_step` does) and then approved, in one transaction.
    ``return`` names the earlier ``step`` (or ``to``) and whether the steps between decide
    ``again`` (default) or the form comes straight back. ``amend`` returns the new revision
    (see :mod:`.amend`)."""
    if action not in ACTIONS:
        raise Invalid("Unknown action.", [Detail("action", "must be one of " + ", ".join(ACTIONS))])
    if action == "amend" and data is None:
        return amend.amend(actor, submission_id, version=version, comment=comment, now=now)
    if data is not None and action != "approve":
        raise Invalid(
            "Only an approval may carry changed values.",
            [Detail("data", "send data with the approve action, or change it with PATCH")],
        )
    text = clean_comment(comment)
    now = now or utcnow()
    loaded = load_locked(actor, submission_id)
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
        run = Run(submission, template, facts_at_submission(submission, template), round, now)
        if action in ("approve", "reject"):
            if action == "reject" and not text:
                raise Invalid(
                    "Please say why.", [Detail("comment", "a reason is required to reject")]
                )
            task = task_for(actor, submission, run.today)
            changes["step"] = task.step_key
            decide(run, task, action == "approve", actor=actor, comment=text)
        elif action == "return":
            again = True if again is None else again
            changes["to"] = _return(actor, run, text, step if to is None else to, again)
        elif action == "add_signer":
            task = task_for(actor, submission, run.today)
            changes.update(participants.add_signers(actor, run, task, text, to, position, mode))
        elif action == "copy":
            changes.update(participants.copy_by(actor, run, text, to))
        else:
            changes["to"] = _hand_on(
                actor, run, text, to, keep_behalf=action == "delegate", action=action
            )
    if action != "comment":
        touch(submission, now)
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
    flush()
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
    loaded = load_locked(actor, submission_id)
    submission = loaded.submission
    forms_service.check_version(submission, version)
    _edit(actor, loaded, data, now, current_round(submission))
    flush()
    return submission


def _edit(
    actor: User, loaded: forms_service.Loaded, data: Any, now: datetime, round: int
) -> list[dict[str, Any]]:
    submission, template = loaded.submission, loaded.template
    at = my_open_tasks(actor, submission, local_day(now))[0].step_key
    route_before = later_steps(template, submission, facts_at_submission(submission, template), now)
    changes = forms_service.edit_at_step(actor, loaded, data, today=local_day(now))
    if not changes:
        return []
    facts = compute_facts(submission, template)
    route_after = later_steps(template, submission, facts, now)
    route = [
        {"step": key, "before": route_before[key], "after": applies}
        for key, applies in route_after.items()
        if route_before.get(key) != applies
    ]
    for task in open_tasks(submission):
        task.checks = facts.checks
    zh, en = _route_sentences(template, route)
    record(
        submission,
        "edit",
        now=now,
        round=round,
        step=at,
        actor=actor,
        comment=en,
        details={"changes": changes, "checks": facts.checks, "route": route, "zh": zh, "en": en},
    )
    touch(submission, now)
    return changes


def _route_sentences(template: Template, route: list[dict[str, Any]]) -> tuple[str, str]:
    """What an edit did to the route, in both languages ("" when nothing changed)."""
    zh, en = [], []
    for item in route:
        found = find_step(template, item["step"])
        if found is None:
            continue
        name_zh, name_en = bilingual(found[1])
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
    record(
        submission,
        "comment",
        now=now,
        round=round,
        actor=actor,
        step=submission.current_step,
        comment=text,
    )
    if access.is_submitter(actor, submission):
        recipients = [t.assignee for t in open_tasks(submission)]
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
        raise Conflict("Only a form in review or returned to you can be withdrawn.")
    cancel(unfinished_tasks(submission), now)
    submission.status = S.WITHDRAWN
    submission.current_step = None
    submission.decided_at = now
    record(submission, "withdraw", now=now, round=round, actor=actor, comment=text)


def _return(actor: User, run: Run, text: str | None, to: Any, again: Any = True) -> str:
    """Return to the submitter, or to any earlier step of this round; either way the task is
    closed, the open ones cancelled and the history says where the form went.

    Returned to an earlier step, the steps between decide again once it is approved
    (``again``), or the form comes straight back to the step that returned it."""
    if not text:
        raise Invalid(
            "Please say why.", [Detail("comment", "a reason is required to return a form")]
        )
    if not isinstance(again, bool):
        raise Invalid("Please check the request.", [Detail("again", "must be true or false")])
    submission = run.submission
    task = task_for(actor, submission, run.today)
    target = (to or "submitter") if isinstance(to, str | type(None)) else None
    step = None
    if target not in ("submitter", "draft"):
        earlier = {
            s.key: s for s in return_targets(run.template, submission, run.round, task.step_key)
        }
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
    notify.task_left(task, run.now)
    cancel(left_by_return(run.template, submission, task.step_key, step and step.key), run.now)
    details: dict[str, Any] = {"to": step.key if step else "submitter"}
    if step is not None:
        details["again"] = again
        if not again:
            details["back_to"] = task.step_key
        zh, en = return_sentences(run.template, step.key, task.step_key, again)
        details.update(zh=zh, en=en)
    record(
        submission,
        "return",
        now=run.now,
        round=run.round,
        actor=actor,
        on_behalf_of=task.on_behalf_of,
        step=task.step_key,
        comment=text,
        details=details,
    )
    if step is None:
        submission.status = S.RETURNED
        submission.current_step = None
        notify.returned(submission.submitter, submission, actor, text)
        return "submitter"
    index, _ = find_step(run.template, step.key) or (0, step)
    # The decisions to be made again no longer count: the target step's, and those of the
    # steps between when they decide again (a parallel group left decides again whole).
    redo = decide_again(run.template, step.key, task.step_key, again)
    for old in step_tasks_of_round(submission, run.round):
        if old.step_key in redo and old.status == TaskStatus.APPROVED:
            old.status = TaskStatus.CANCELLED
    try:
        assignments = routing.assign(step, submission, run.facts.values, run.today)
    except routing.NoApprover:
        raise Conflict(f"Nobody is available for the step “{step.name.en}” any more.") from None
    for new in open_step(run, index, step, assignments):
        notify.returned(new.assignee, submission, actor, text)
    return step.key


def return_sentences(template: Template, to: str, back_to: str, again: bool) -> tuple[str, str]:
    """Where a form was returned to and what happens after, in both languages."""
    to_zh, to_en = step_names(template, to)
    back_zh, back_en = step_names(template, back_to)
    if again:
        return (
            f"退回到“{to_zh}”，之后的步骤重新审批",
            f"returned to {to_en}; the steps after it decide again",
        )
    return (
        f"退回到“{to_zh}”，同意后直接回到“{back_zh}”",
        f"returned to {to_en}; once approved it comes straight back to {back_en}",
    )


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
    text = clean_comment(comment)
    if not text:
        raise Invalid(
            "Please say why.", [Detail("comment", "a reason is required to return a form")]
        )
    now = now or utcnow()
    submission = locked(submission_id)
    if submission is None:
        raise NotFound("No such submission, or it is outside your scope.")
    forms_service.check_version(submission, version)
    if submission.status not in (S.IN_REVIEW, S.APPROVED):
        raise Conflict("Only a form in review or approved can be returned.")
    before = submission.status.value
    round = current_round(submission)
    cancel(unfinished_tasks(submission), now)
    record(
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
    touch(submission, now)
    audit.record(
        actor,
        "submission.return",
        object_type="submission",
        object_id=submission.id,
        changes={"status": [before, submission.status.value], "comment": text, "by": "owner"},
    )
    flush()
    return submission


def _hand_on(
    actor: User, run: Run, text: str | None, to: Any, *, keep_behalf: bool, action: str
) -> str:
    target = _person(to)
    submission = run.submission
    task = task_for(actor, submission, run.today)
    refusal = access.hand_on_refusal(
        target, submission, task.step_key, actor=actor, holders=holder_ids(task)
    )
    if refusal:
        raise Invalid("Please choose someone else.", [Detail("to", f"{target.username} {refusal}")])
    new = hand_over(
        task,
        target,
        now=run.now,
        on_behalf_of=(task.on_behalf_of or task.assignee) if keep_behalf else None,
        through_delegation=False,
        due_at=task.due_at,
        comment=text,
    )
    record(
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
    notify.new_task(new, step_names(run.template, task.step_key))
    return target.username


def people_to_hand_on(
    actor: User, submission: Submission, search: str, today: date, *, limit: int = 20
) -> list[User]:
    """Up to ``limit`` people whose name or username contains ``search`` and to whom ``actor``
    may hand their open task on ``submission`` (the hand-on action asks the same rule), for the
    picker; nobody when ``actor`` has no open task there."""
    tasks = my_open_tasks(actor, submission, today)
    if not tasks:
        return []
    task = access.own_tasks_first(actor, tasks)[0]
    holders = holder_ids(task)
    stmt = select(User).where(User.status != UserStatus.LEFT)
    text = search.strip().lower()[:64]
    if text:
        stmt = stmt.where(
            or_(
                func.lower(User.username).contains(text, autoescape=True),
                func.lower(User.display_name).contains(text, autoescape=True),
            )
        )
    found: list[User] = []
    for person in db.session.scalars(stmt.order_by(User.username).limit(limit * 3)):
        refusal = access.hand_on_refusal(
            person, submission, task.step_key, actor=actor, holders=holders
        )
        if refusal is None:
            found.append(person)
            if len(found) == limit:
                break
    return found


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
