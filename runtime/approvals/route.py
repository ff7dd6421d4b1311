"""Running the route: open the next step whose condition holds, decide a step from its
tasks and its mode (any / all / N of M), finish the submission when no step is left.

The route is data (the template's steps); these functions move a locked submission along
it, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from quire.designer.approval import ApprovalStep
from quire.designer.model import Template

from .. import audit
from ..errors import Conflict
from ..extensions import db
from ..models import ApprovalEvent, ApprovalTask, Submission, SubmissionStatus, TaskStatus, User
from . import notify, outcomes, participants, routing
from .facts import Facts, evaluate, figures
from .handing import record_notes
from .settings import local_day
from .state import (
    S,
    bilingual,
    cancel,
    find_step,
    record,
    step_tasks,
    steps_of,
    unfinished_tasks,
)


@dataclass
class Run:
    """One change to a submission's route: the submission, its template, the facts routing
    reads, the review round and the moment."""

    submission: Submission
    template: Template
    facts: Facts
    round: int
    now: datetime

    @property
    def today(self) -> date:
        return local_day(self.now)


def open_step(
    run: Run, index: int, step: ApprovalStep, assignments: list[routing.Assignment]
) -> list[ApprovalTask]:
    submission = run.submission
    tasks = []
    for assignment in assignments:
        record_notes(submission, assignment.notes, step=step.key, now=run.now, round=run.round)
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
        notify.new_task(task, bilingual(step))
    submission.current_step = step.key
    participants.route_copies(run, step.copy_to, step.key)
    return tasks


def advance(run: Run, start: int) -> None:
    """Open the first step from ``start`` whose condition holds; approve when none is left."""
    steps = steps_of(run.template)
    for index in range(start, len(steps)):
        step = steps[index]
        if step.when:
            applies, error = evaluate(step.when, run.facts, run.today)
            if not applies:
                record(
                    run.submission,
                    "skip",
                    now=run.now,
                    round=run.round,
                    step=step.key,
                    comment=f"condition {step.when} is false",
                    details={"when": step.when, **figures(run.facts)},
                )
                continue
            if error:
                record(
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
            four_eyes_skip(run, step, covered)
            continue
        except routing.StepNotNeeded as unneeded:
            details = {"zh": unneeded.zh, "en": unneeded.en}
            record(run.submission, "skip", now=run.now, round=run.round, step=step.key,
                   comment=unneeded.en, details=details)  # fmt: skip
            continue
        except routing.NoApprover:
            raise Conflict(
                f"Nobody is available to approve the step “{step.name.en}”; "
                "ask a finance administrator to check the route and the organisation."
            ) from None
        open_step(run, index, step, assignments)
        return
    finish(run, S.APPROVED)


def four_eyes_skip(run: Run, step: ApprovalStep, covered: routing.DecidedAlready) -> None:
    """Nobody but someone who already decided another step could take ``step``: nobody
    decides twice, so the step is passed with the reason in the history and the audit."""
    record(
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


def finish(run: Run, outcome: SubmissionStatus, comment: str | None = None) -> None:
    submission = run.submission
    outcome, comment = outcomes.settle(submission, run.template, outcome, comment, now=run.now)
    cancel(unfinished_tasks(submission), run.now)
    submission.status = outcome
    submission.decided_at = run.now
    submission.current_step = None
    notify.decision(submission, outcome.value, comment)


#: Task states that count towards a step's outcome.
LIVE = (TaskStatus.OPEN, TaskStatus.WAITING, TaskStatus.APPROVED, TaskStatus.REJECTED)
#: Signers added to a task who must approve as well as its holder (加签 before / after /
#: alongside, all of them); ``any`` signers may decide in the holder's place.
REQUIRED_ADDED = ("before", "after", "all")


def seats(tasks: Sequence[ApprovalTask]) -> list[list[ApprovalTask]]:
    """A step's tasks grouped as seats: each task the route opened, with the signers its
    holder added to it. The step's mode (any / all / N of M) counts seats."""
    grouped: dict[int, list[ApprovalTask]] = {}
    for task in tasks:
        grouped.setdefault(task.added_to_id or task.id or id(task), []).append(task)
    return list(grouped.values())


def seat_outcome(seat: Sequence[ApprovalTask]) -> str | None:
    """``open``, ``approved`` or ``rejected`` for one seat (None when nobody holds it now)."""
    live = [t for t in seat if t.status in LIVE]
    if not live:
        return None
    if any(t.status == TaskStatus.REJECTED for t in live):
        return "rejected"
    principal = [t for t in live if t.added_as in (None, "any")]
    required = [t for t in live if t.added_as in REQUIRED_ADDED]
    if any(t.status == TaskStatus.APPROVED for t in principal) and all(
        t.status == TaskStatus.APPROVED for t in required
    ):
        return "approved"
    return "open"


def step_outcome(step: ApprovalStep, tasks: Sequence[ApprovalTask]) -> str:
    """``open``, ``approved`` or ``rejected`` for a step from its tasks and its mode."""
    live = [o for o in (seat_outcome(seat) for seat in seats(tasks)) if o is not None]
    approved = sum(o == "approved" for o in live)
    rejected = sum(o == "rejected" for o in live)
    waiting = sum(o == "open" for o in live)
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


def _seat_moves_on(run: Run, task: ApprovalTask, step: ApprovalStep) -> None:
    """After an approval inside a seat: the holder's turn comes once every signer added
    before them approved; the signers added after them get theirs once the holder (or an
    ``any`` signer beside them) approved, and the other ``any`` candidates are no longer asked."""
    tasks = step_tasks(run.submission, step.key, run.round)
    root_id = task.added_to_id or task.id
    seat = [t for t in tasks if (t.added_to_id or t.id) == root_id]
    opened: list[ApprovalTask] = []
    if task.added_as == "before":
        before = [t for t in seat if t.added_as == "before" and t.status in LIVE]
        if all(t.status == TaskStatus.APPROVED for t in before):
            opened += [t for t in seat if t.added_as is None and t.status == TaskStatus.WAITING]
    elif task.added_as in (None, "any"):
        cancel(
            [t for t in seat if t.added_as in (None, "any") and t is not task],
            run.now,
        )
        opened += [t for t in seat if t.added_as == "after" and t.status == TaskStatus.WAITING]
    for waiting in opened:
        waiting.status = TaskStatus.OPEN
        waiting.created_at = run.now
        notify.new_task(waiting, bilingual(step))


def decide(
    run: Run,
    task: ApprovalTask,
    approve: bool,
    *,
    actor: User | None,
    comment: str | None,
    reason: dict[str, Any] | None = None,
) -> None:
    """One task decided; the step, and perhaps the submission, follow from its mode."""
    found = find_step(run.template, task.step_key)
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
    record(
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
    if approve:
        _seat_moves_on(run, task, step)
    outcome = step_outcome(step, step_tasks(run.submission, step.key, run.round))
    if outcome == "approved":
        cancel(unfinished_tasks(run.submission, step.key), run.now)
        back = _comes_back_to(run, step)
        advance(run, back if back is not None else index + 1)
    elif outcome == "rejected":
        finish(run, S.REJECTED, comment)


def _comes_back_to(run: Run, step: ApprovalStep) -> int | None:
    """Where the route resumes after ``step`` approved: the step that returned the form to it
    without the steps between deciding again, when that return is the round's latest."""
    latest = db.session.scalar(
        select(ApprovalEvent)
        .where(
            ApprovalEvent.submission_id == run.submission.id,
            ApprovalEvent.round == run.round,
            ApprovalEvent.action == "return",
        )
        .order_by(ApprovalEvent.at.desc(), ApprovalEvent.id.desc())
        .limit(1)
    )
    details = latest.details if latest is not None else None
    if not isinstance(details, dict) or details.get("to") != step.key:
        return None
    found = find_step(run.template, details.get("back_to"))
    return found[0] if found else None


def return_targets(template: Template, submission: Submission, round: int) -> list[ApprovalStep]:
    """Earlier steps of this round that someone approved: where a form can be sent back to."""
    found = find_step(template, submission.current_step)
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


def later_steps(
    template: Template, submission: Submission, facts: Facts, now: datetime
) -> dict[str, bool]:
    """Whether each step after the current one would run, on these facts."""
    steps = steps_of(template)
    current = next((i for i, s in enumerate(steps) if s.key == submission.current_step), -1)
    return {
        step.key: evaluate(step.when, facts, local_day(now))[0] if step.when else True
        for step in steps[current + 1 :]
    }
