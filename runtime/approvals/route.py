"""Running the route: open the next step whose condition holds, decide a step from its
tasks and its mode (any / all / N of M), finish the submission when no step is left.

The route is data (the template's steps); these functions move a locked submission along
it, inside the caller's transaction. An item of the route may be a parallel group: every
branch whose condition holds starts at once, each branch goes on by itself, and the route
moves past the group once no step of it waits any more (the join). A rejection in any
branch rejects the submission, which cancels what the other branches still wait for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from quire.designer.approval import ApprovalStep, ParallelGroup, Place
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
    """Open the route from item ``start``: the first step whose condition holds, or every
    branch of a parallel group at once; approve when nothing is left."""
    items = run.template.approval.steps if run.template.approval else []
    for item in range(start, len(items)):
        entry = items[item]
        if isinstance(entry, ParallelGroup):
            if _enter_group(run, item, entry):
                return
        elif _try_open(run, _place_of(run.template, entry.key), entry):
            return
    finish(run, S.APPROVED)


def _place_of(template: Template, key: str) -> Place:
    found = template.approval.place_of(key) if template.approval else None
    if found is None:
        raise Conflict("The step of this task is no longer in the route.")
    return found[1]


def _try_open(run: Run, place: Place, step: ApprovalStep) -> bool:
    """Open ``step`` when its condition holds and someone may decide it; otherwise record
    why it is passed and say so (False)."""
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
            return False
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
        return False
    except routing.StepNotNeeded as unneeded:
        details = {"zh": unneeded.zh, "en": unneeded.en}
        record(run.submission, "skip", now=run.now, round=run.round, step=step.key,
               comment=unneeded.en, details=details)  # fmt: skip
        return False
    except routing.NoApprover:
        raise Conflict(
            f"Nobody is available to approve the step “{step.name.en}”; "
            "ask a finance administrator to check the route and the organisation."
        ) from None
    open_step(run, place.index, step, assignments)
    return True


def _enter_group(run: Run, item: int, group: ParallelGroup) -> bool:
    """Start every branch of ``group`` whose condition holds (a branch whose condition is
    false is skipped, each of its steps with the reason in the history). False when no
    step of any branch needs deciding, so the route goes straight past the group."""
    opened = False
    for b, branch in enumerate(group.branches):
        if branch.when:
            applies, error = evaluate(branch.when, run.facts, run.today)
            if not applies:
                for step in branch.steps:
                    record(
                        run.submission,
                        "skip",
                        now=run.now,
                        round=run.round,
                        step=step.key,
                        comment=f"branch condition {branch.when} is false",
                        details={
                            "when": branch.when,
                            "group": group.key,
                            "branch": b,
                            **figures(run.facts),
                        },
                    )
                continue
            if error:
                record(
                    run.submission,
                    "comment",
                    now=run.now,
                    round=run.round,
                    step=branch.steps[0].key,
                    comment=f"condition {branch.when} failed ({error}); the step applies",
                )
        opened = _run_branch(run, item, b, 0) or opened
    if opened:
        _point_at_open_step(run)
    return opened


def _run_branch(run: Run, item: int, branch: int, position: int) -> bool:
    """Open the first step of a branch from ``position`` that needs deciding (False: the
    branch is done)."""
    for step, place in run.template.approval.places() if run.template.approval else ():
        if (place.item, place.branch) == (item, branch) and (place.position or 0) >= position:
            if _try_open(run, place, step):
                return True
    return False


def _after_approval(run: Run, place: Place) -> None:
    """Where the route goes once the step at ``place`` is approved: the next item, or the
    next step of its branch; the last step of a branch waits for the other branches."""
    if place.group is None:
        advance(run, place.item + 1)
        return
    if _run_branch(run, place.item, place.branch or 0, (place.position or 0) + 1):
        _point_at_open_step(run)
        return
    _join(run, place.item, place.group)


def _join(run: Run, item: int, group: ParallelGroup) -> None:
    """A branch is done: the route moves past the group once no other branch still waits."""
    keys = {step.key for branch in group.branches for step in branch.steps}
    if any(task.step_key in keys for task in unfinished_tasks(run.submission)):
        _point_at_open_step(run)
        return
    advance(run, item + 1)


def resume(run: Run, back: Place, returned: Place) -> None:
    """After a return without the steps between deciding again: the route opens again at
    ``back`` (the step that returned the form), once the step at ``returned`` approved it.
    Inside a branch the branch goes on from ``back`` when the form was returned within that
    branch; returned out of a group, the whole group decides again (branches join together,
    so one cannot be resumed alone)."""
    if back.group is None:
        advance(run, back.item)
    elif not back.same_branch(returned):
        advance(run, back.item)
    elif not _run_branch(run, back.item, back.branch or 0, back.position or 0):
        _join(run, back.item, back.group)


def _covered_in_parallel(run: Run, place: Place, decided: ApprovalTask) -> None:
    """Four eyes in parallel: whoever just decided a step (or the one they acted for) may
    not decide another step of the form, so their open tasks in the other branches of the
    group are withdrawn; a step nobody else holds is passed, their decision standing for it
    (as when a later step's only candidate decided an earlier one), and its branch goes on."""
    if place.group is None or run.submission.status != S.IN_REVIEW:
        return
    people = {decided.assignee_id, decided.on_behalf_of_id} - {None}
    siblings = {
        s.key: (s, p)
        for s, p in run.template.approval.places()  # type: ignore[union-attr]
        if p.item == place.item and p.branch != place.branch
    }
    for key, (step, sibling) in siblings.items():
        tasks = [t for t in unfinished_tasks(run.submission, key)]
        blocked = [t for t in tasks if t.assignee_id in people]
        if not blocked:
            continue
        cancel(blocked, run.now)
        if len(blocked) < len(tasks):
            continue
        person = decided.on_behalf_of or decided.assignee
        four_eyes_skip(run, step, routing.DecidedAlready(key, person))
        _after_approval(run, sibling)
        if run.submission.status != S.IN_REVIEW:
            return


def _point_at_open_step(run: Run) -> None:
    """``current_step`` names the first step, in route order, that waits for a decision
    (while branches run in parallel, several do; each task knows its own step)."""
    waiting = {t.step_key for t in unfinished_tasks(run.submission)}
    run.submission.current_step = next((s.key for s in steps_of(run.template) if s.key in waiting),
                                       run.submission.current_step)  # fmt: skip


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
    _, step = found
    task.status = TaskStatus.APPROVED if approve else TaskStatus.REJECTED
    task.decided_at = run.now
    notify.task_left(task, run.now)
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
        if back is not None:
            resume(run, back, _place_of(run.template, step.key))
        else:
            place = _place_of(run.template, step.key)
            _after_approval(run, place)
            if actor is not None:
                _covered_in_parallel(run, place, task)
    elif outcome == "rejected":
        finish(run, S.REJECTED, comment)


def _comes_back_to(run: Run, step: ApprovalStep) -> Place | None:
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
    found = (
        run.template.approval.place_of(details.get("back_to")) if run.template.approval else None
    )
    return found[1] if found else None


def return_targets(
    template: Template, submission: Submission, round: int, here: str | None = None
) -> list[ApprovalStep]:
    """Earlier steps of this round that someone approved: where the form at step ``here``
    (default: the current step) can be sent back to."""
    approved = set(
        db.session.scalars(
            select(ApprovalTask.step_key).where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.round == round,
                ApprovalTask.status == TaskStatus.APPROVED,
            )
        )
    )
    return [
        s for s in earlier_steps(template, here or submission.current_step) if s.key in approved
    ]


def _before(p: Place, at: Place) -> bool:
    """Does the step at ``p`` come before the one at ``at`` on its way through the route: an
    earlier item, or earlier in the same branch (a parallel branch is never "before")?"""
    return p.item < at.item or (p.same_branch(at) and (p.position or 0) < (at.position or 0))


def earlier_steps(template: Template, here: str | None) -> list[ApprovalStep]:
    found = template.approval.place_of(here) if template.approval else None
    if found is None:
        return []
    at = found[1]
    return [s for s, p in template.approval.places() if _before(p, at)]  # type: ignore[union-attr]


def decide_again(template: Template, to: str, here: str, again: bool) -> set[str]:
    """The steps whose approvals no longer count when the form at ``here`` is returned to
    ``to``: ``to`` itself; the steps between when they decide again; and every step of the
    parallel group ``here`` stands in when the form is returned out of it (its branches join
    together, so they decide again together)."""
    places = {s.key: p for s, p in template.approval.places()} if template.approval else {}
    if to not in places or here not in places:
        return {to}
    dest, at = places[to], places[here]
    redo = {to}
    for key, p in places.items():
        if again and _before(dest, p) and _before(p, at):
            redo.add(key)
        if at.group is not None and not at.same_branch(dest) and p.item == at.item:
            redo.add(key)
    return redo


def left_by_return(
    template: Template, submission: Submission, here: str, to: str | None
) -> list[ApprovalTask]:
    """The unfinished tasks a return cancels: all of them, or, when the form goes back within
    its own branch, only that branch's (the other branches carry on)."""
    tasks = unfinished_tasks(submission)
    places = {s.key: p for s, p in template.approval.places()} if template.approval else {}
    if to in places and here in places and places[to].same_branch(places[here]):
        branch = {key for key, p in places.items() if p.same_branch(places[here])}
        return [t for t in tasks if t.step_key in branch]
    return tasks


def later_steps(
    template: Template, submission: Submission, facts: Facts, now: datetime
) -> dict[str, bool]:
    """Whether each step after the current one would run, on these facts (a step in a branch
    runs when its branch's condition and its own hold)."""
    places = list(template.approval.places()) if template.approval else []
    current = next((p.index for s, p in places if s.key == submission.current_step), -1)
    today = local_day(now)
    result = {}
    for step, place in places[current + 1 :]:
        branch = place.group.branches[place.branch or 0] if place.group else None
        conditions = [c for c in (branch.when if branch else None, step.when) if c]
        result[step.key] = all(evaluate(c, facts, today)[0] for c in conditions)
    return result
