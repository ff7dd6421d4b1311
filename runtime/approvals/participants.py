"""Who else takes part in a submission's review: signers an approver adds (加签) and people
a submission is copied to (抄送).

An added signer holds a task beside the approver's own: before it (the approver waits),
after it (the signer waits for the approver), or alongside it (either of them decides, or
both must). The step's mode counts the approver's task and its signers as one seat
(:func:`.route.seat_outcome`). A copy lets someone read the submission and tells them
about it; it asks nothing of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import access
from ..errors import Detail, Forbidden, Invalid
from ..extensions import db
from ..models import (
    ApprovalTask,
    Role,
    Submission,
    SubmissionCopy,
    TaskStatus,
    User,
    UserStatus,
)
from . import notify, routing
from .handing import already_holds
from .state import record, step_names

if TYPE_CHECKING:
    from .route import Run

#: Where added signers stand relative to the approver who adds them.
POSITIONS = ("before", "after", "alongside")
#: Alongside the approver: any one of them decides, or all must approve.
ALONGSIDE = ("any", "all")
MAX_PEOPLE = 20


def _names(people: Sequence[User]) -> tuple[str, str]:
    return "、".join(p.display_name for p in people), ", ".join(p.display_name for p in people)


def _listed(value: Any, field: str) -> list[str]:
    """``to`` as a list of names: one name, a comma-separated string, or a JSON list."""
    if isinstance(value, str):
        items = [v.strip() for v in value.replace("，", ",").split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise Invalid("Please say whom.", [Detail(field, "a username or a list of usernames")])
    items = [v for v in items if v]
    if not items:
        raise Invalid("Please say whom.", [Detail(field, "a username is required")])
    if len(items) > MAX_PEOPLE:
        raise Invalid("Please check the request.", [Detail(field, f"at most {MAX_PEOPLE} names")])
    return list(dict.fromkeys(items))


def _active_user(username: str, path: str) -> User:
    person = db.session.scalar(select(User).where(User.username == username))
    if person is None or person.status == UserStatus.LEFT:
        raise Invalid("Please check the request.", [Detail(path, f"no active user {username}")])
    return person


def signer_sentences(actor: User, people: Sequence[User], kind: str) -> tuple[str, str]:
    """What adding signers did, in both languages, for the history."""
    zh_names, en_names = _names(people)
    who = actor.display_name
    if kind == "before":
        return (
            f"{who} 加签：请 {zh_names} 先审批，之后再由 {who} 审批",
            f"{who} asked {en_names} to approve first, before {who} decides",
        )
    if kind == "after":
        return (
            f"{who} 加签：{zh_names} 在 {who} 同意之后审批",
            f"{who} added {en_names} to approve after {who}",
        )
    if kind == "any":
        return (
            f"{who} 加签：{zh_names} 与 {who} 共同审批，任一人同意即可",
            f"{who} added {en_names} alongside {who}; any one of them may approve",
        )
    return (
        f"{who} 加签：{zh_names} 与 {who} 共同审批，须全部同意",
        f"{who} added {en_names} alongside {who}; all of them must approve",
    )


def add_signers(
    actor: User, run: Run, task: ApprovalTask, text: str | None, to: Any, position: Any, mode: Any
) -> dict[str, Any]:
    """``actor``, holding ``task``, adds signers before, after or alongside themselves."""
    if not text:
        raise Invalid("Please say why.", [Detail("comment", "a reason is required to add signers")])
    if position not in POSITIONS:
        raise Invalid(
            "Please say where the signers come.",
            [Detail("position", "must be one of " + ", ".join(POSITIONS))],
        )
    kind = position
    if position == "alongside":
        kind = mode or "all"
        if kind not in ALONGSIDE:
            raise Invalid("Please check the request.", [Detail("mode", "must be one of any, all")])
    people = [_active_user(name, f"to[{i}]") for i, name in enumerate(_listed(to, "to"))]
    if not access.may_add_signers(actor, task, run.today):
        raise Forbidden("Signers added to a step decide; only the step's own approver adds more.")
    submission = run.submission
    for i, person in enumerate(people):
        if person.id == actor.id:
            raise Invalid("Please choose someone else.", [Detail(f"to[{i}]", "that is you")])
        conflict = access.separation_of_duties(person, submission, task.step_key)
        if conflict:
            raise Invalid(
                "Please choose someone else.",
                [Detail(f"to[{i}]", f"{person.username} {conflict} and cannot decide on it")],
            )
        if already_holds(task, person):
            raise Invalid(
                "Please choose someone else.",
                [Detail(f"to[{i}]", f"{person.username} already holds this step")],
            )
    added = []
    for person in people:
        signer = ApprovalTask(
            submission=submission,
            step_key=task.step_key,
            step_index=task.step_index,
            round=task.round,
            assignee=person,
            status=TaskStatus.WAITING if kind == "after" else TaskStatus.OPEN,
            created_at=run.now,
            due_at=task.due_at,
            checks=task.checks,
            added_by=actor,
            added_as=kind,
            added_to_id=task.id,
        )
        db.session.add(signer)
        added.append(signer)
    if kind == "before":
        task.status = TaskStatus.WAITING
        notify.task_left(task, run.now)
    zh, en = signer_sentences(actor, people, kind)
    record(
        submission,
        "add_signer",
        now=run.now,
        round=run.round,
        actor=actor,
        on_behalf_of=task.on_behalf_of,
        step=task.step_key,
        comment=text,
        details={"to": [p.username for p in people], "position": kind, "zh": zh, "en": en},
    )
    names = step_names(run.template, task.step_key)
    for signer in added:
        if signer.status == TaskStatus.OPEN:
            notify.new_task(signer, names)
    return {"to": [p.username for p in people], "position": kind}


# --- copies --------------------------------------------------------------------------------------
def _holders(name: str) -> list[User] | None:
    """A username's active user, or a role key's current holders (None: neither)."""
    person = db.session.scalar(select(User).where(User.username == name))
    if person is not None and person.status != UserStatus.LEFT:
        return [person]
    if db.session.scalar(select(Role.id).where(Role.key == name)) is not None:
        return routing.role_holders(name)
    return None


def _copy_targets(names: Iterable[str]) -> list[tuple[str, list[User]]]:
    """Each name as a username, else as a role key (all its current holders)."""
    found = []
    for i, name in enumerate(names):
        holders = _holders(name)
        if holders is None:
            raise Invalid(
                "Please check the request.",
                [Detail(f"to[{i}]", f"no active user or role {name}")],
            )
        found.append((name, holders))
    return found


def route_copies(run: Run, names: Sequence[str], step: str | None) -> None:
    """The copies a step (when it is reached) or the template (at submission) names."""
    if not names:
        return
    people: dict[int, User] = {}
    for name in names:
        for person in _holders(name) or []:
            people.setdefault(person.id, person)
    new = copy_to(run.submission, people.values(), now=run.now, actor=None, step=step)
    if new:
        zh, en = copy_sentences(None, new)
        record(
            run.submission,
            "copy",
            now=run.now,
            round=run.round,
            step=step,
            comment=en,
            details={"to": [p.username for p in new], "named": list(names), "zh": zh, "en": en},
        )


def copy_to(
    submission: Submission,
    people: Iterable[User],
    *,
    now: datetime,
    actor: User | None,
    step: str | None = None,
) -> list[User]:
    """Give each person a copy (read access and a notification); returns who is new."""
    have = set(
        db.session.scalars(
            select(SubmissionCopy.user_id).where(SubmissionCopy.submission_id == submission.id)
        )
    )
    new = []
    for person in people:
        if person.id in have or person.id == submission.submitter_id:
            continue
        have.add(person.id)
        db.session.add(
            SubmissionCopy(
                submission_id=submission.id,
                user_id=person.id,
                step_key=step,
                added_by_id=actor.id if actor else None,
                created_at=now,
            )
        )
        new.append(person)
    if new:
        notify.copied(new, submission, actor)
    return new


def copy_sentences(actor: User | None, people: Sequence[User]) -> tuple[str, str]:
    zh_names, en_names = _names(people)
    if actor is None:
        return f"抄送给 {zh_names}", f"copied to {en_names}"
    return (
        f"{actor.display_name} 抄送给 {zh_names}",
        f"{actor.display_name} copied it to {en_names}",
    )


def copy_by(actor: User, run: Run, text: str | None, to: Any) -> dict[str, Any]:
    """``actor`` (the submitter or a current approver) copies the submission to people or
    to everyone holding a role."""
    submission = run.submission
    if not access.may_copy(actor, submission, run.today):
        raise Forbidden("Only the submitter or a current approver can copy this submission.")
    targets = _copy_targets(_listed(to, "to"))
    people = {p.id: p for _name, holders in targets for p in holders}
    new = copy_to(submission, people.values(), now=run.now, actor=actor, step=None)
    if not new:
        raise Invalid(
            "Everyone named can already read this submission.",
            [Detail("to", "already copied, or the submitter")],
        )
    zh, en = copy_sentences(actor, new)
    record(
        submission,
        "copy",
        now=run.now,
        round=run.round,
        actor=actor,
        step=submission.current_step,
        comment=text,
        details={
            "to": [p.username for p in new],
            "named": [n for n, _ in targets],
            "zh": zh,
            "en": en,
        },
    )
    return {"to": [p.username for p in new]}
