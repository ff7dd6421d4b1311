"""In-app notifications, written in both languages in the same transaction as the change.

Each notification is also the outbox entry of its email copy: after the transaction
commits, a job mails what is pending (:mod:`.mail`). Seeding sample data mutes email.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import affected_rows, db
from ..models import ApprovalTask, Notification, Submission, TaskStatus, User, utcnow
from .settings import local_day

_PENDING = "quire.mail_pending"
_MUTED = "quire.mail_muted"


def submission_path(submission_id: int) -> str:
    """The submission page's URL path (the forms blueprint owns it; found by its rule)."""
    if has_app_context():
        for rule in current_app.url_map.iter_rules():
            path = rule.rule
            if (
                not path.startswith("/api/")
                and "GET" in (rule.methods or ())
                and path.startswith("/submissions/<")
                and path.count("/") == 2
                and len(rule.arguments) == 1
            ):
                (argument,) = rule.arguments
                return current_app.url_map.bind("localhost").build(
                    rule.endpoint, {argument: submission_id}
                )
    return f"/submissions/{submission_id}"


def task_path(task: ApprovalTask) -> str:
    """Straight to the decision on the task's submission page; the page names the task so it
    can say where it went if it is no longer its reader's."""
    if task.id is None:
        db.session.flush()
    return f"{submission_path(task.submission_id)}?task={task.id}#decide"


def _money(value: Decimal | None) -> str:
    return f"{value:,.2f}" if value is not None else "—"


def _describe(submission: Submission) -> tuple[str, str]:
    template = submission.template
    who, amount = submission.submitter.display_name, _money(submission.total)
    return (
        f"{template.title_zh} {submission.number}（{who}，{amount}）",
        f"{template.title_en} {submission.number} ({who}, {amount})",
    )


def _add(
    user: User,
    kind: str,
    submission: Submission | None,
    subject: tuple[str, str],
    body: tuple[str, str] = ("", ""),
    *,
    link: str | None = None,
) -> Notification:
    muted = db.session.info.get(_MUTED, False)
    notification = Notification(
        user_id=user.id,
        kind=kind,
        submission_id=submission.id if submission is not None else None,
        subject_zh=subject[0][:300],
        subject_en=subject[1][:300],
        body_zh=body[0] or None,
        body_en=body[1] or None,
        link=link or (submission_path(submission.id) if submission is not None else None),
        emailed_at=utcnow() if muted else None,
    )
    db.session.add(notification)
    if not muted:
        db.session.info[_PENDING] = True
    return notification


def message(
    user: User, kind: str, subject: tuple[str, str], body: tuple[str, str], link: str
) -> Notification:
    """A notification about something other than a submission (a budget round's task)."""
    return _add(user, kind, None, subject, body, link=link)


def new_task(task: ApprovalTask, step_name: tuple[str, str]) -> None:
    zh, en = _describe(task.submission)
    behalf_zh = f"（代 {task.on_behalf_of.display_name}）" if task.on_behalf_of else ""
    behalf_en = f" (for {task.on_behalf_of.display_name})" if task.on_behalf_of else ""
    _add(
        task.assignee,
        "task",
        task.submission,
        (f"待审批：{zh}{behalf_zh}", f"Waiting for you: {en}{behalf_en}"),
        (f"步骤：{step_name[0]}", f"Step: {step_name[1]}"),
        link=task_path(task),
    )


def decision(submission: Submission, outcome: str, comment: str | None = None) -> None:
    """Tell the submitter the form was approved or rejected."""
    zh, en = _describe(submission)
    words = {"approved": ("已批准", "approved"), "rejected": ("已驳回", "rejected")}[outcome]
    _add(
        submission.submitter,
        "decision",
        submission,
        (f"{zh} {words[0]}", f"{en} was {words[1]}"),
        (f"意见：{comment}" if comment else "", f"Comment: {comment}" if comment else ""),
    )


def returned(user: User, submission: Submission, by: User | None, comment: str | None) -> None:
    zh, en = _describe(submission)
    who = by.display_name if by else "Quire"
    _add(
        user,
        "return",
        submission,
        (f"已退回：{zh}", f"Returned to you: {en}"),
        (f"{who} 退回，意见：{comment or ''}", f"Returned by {who}: {comment or ''}"),
    )


def reminder(task: ApprovalTask) -> None:
    zh, en = _describe(task.submission)
    _add(
        task.assignee,
        "reminder",
        task.submission,
        (f"催办：{zh} 已超时", f"Reminder: {en} is overdue"),
        ("请尽快处理。", "Please decide on it soon."),
        link=task_path(task),
    )


def escalation(new: ApprovalTask, old: ApprovalTask) -> None:
    zh, en = _describe(new.submission)
    who = old.assignee.display_name
    _add(
        new.assignee,
        "escalation",
        new.submission,
        (f"超时上报：{zh}", f"Escalated to you: {en}"),
        (f"{who} 未在期限内处理。", f"{who} did not decide in time."),
        link=task_path(new),
    )
    _add(
        old.assignee,
        "escalation",
        old.submission,
        (f"已上报：{zh}", f"Escalated: {en}"),
        (f"已转交 {new.assignee.display_name}。", f"Passed to {new.assignee.display_name}."),
    )


def reassigned(recipients: list[User], submission: Submission, left: User, to: User) -> None:
    """Finance hears when a task moves because its holder left the company."""
    zh, en = _describe(submission)
    for user in recipients:
        _add(
            user,
            "reassign",
            submission,
            (f"离职转交：{zh}", f"Reassigned (holder left): {en}"),
            (
                f"{left.display_name} 已离职，待办转交 {to.display_name}。",
                f"{left.display_name} has left; the task went to {to.display_name}.",
            ),
        )


def comment(recipients: list[User], submission: Submission, by: User, text: str) -> None:
    zh, en = _describe(submission)
    for user in recipients:
        _add(
            user,
            "comment",
            submission,
            (f"新意见：{zh}", f"New comment: {en}"),
            (f"{by.display_name}：{text}", f"{by.display_name}: {text}"),
        )


def copied(recipients: list[User], submission: Submission, by: User | None) -> None:
    """People a submission is copied to (抄送) are told; nothing is asked of them."""
    zh, en = _describe(submission)
    who_zh = by.display_name if by else "审批流程"
    who_en = by.display_name if by else "the approval route"
    for user in recipients:
        _add(
            user,
            "copy",
            submission,
            (f"抄送：{zh}", f"Copied to you: {en}"),
            (
                f"{who_zh} 抄送给你，供你知悉，无需审批。",
                f"{who_en} copied it to you, for your information; nothing to decide.",
            ),
        )


@contextmanager
def email_muted() -> Iterator[None]:
    """Notifications created inside are in-app only (sample data, imports)."""
    db.session.info[_MUTED] = True
    try:
        yield
    finally:
        db.session.info.pop(_MUTED, None)


def _after_commit(session: Session) -> None:
    if not session.info.pop(_PENDING, False) or not has_app_context():
        return
    from .. import jobs

    try:
        jobs.queue().enqueue("approvals.mail")
    except Exception:  # noqa: BLE001 - mail is retried by the sweep; never fail a commit
        import logging

        logging.getLogger("quire.mail").exception("could not queue mail")


def _after_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Listen for commits once per process (called when the approvals blueprint registers)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


#: Notifications that stand for a task waiting for their reader ("Waiting for you", the
#: reminder that it is overdue): they are shown only while the task is still theirs.
TASK_KINDS = ("task", "reminder")


def notifications_for(
    user: User, limit: int = 20, *, today: date | None = None
) -> list[Notification]:
    """``user``'s latest notifications. A "waiting for you" one clears when the task leaves
    them (decided, handed on, taken back, reassigned): it is listed only while an open task
    of its submission is offered to them, by the same rule as the inbox."""
    from sqlalchemy import or_, select

    from .. import access

    today = today or local_day(utcnow())
    waiting = select(ApprovalTask.submission_id).where(
        ApprovalTask.status == TaskStatus.OPEN, access.offered_tasks(user, today)
    )
    return list(
        db.session.scalars(
            select(Notification)
            .where(
                Notification.user_id == user.id,
                or_(
                    Notification.kind.not_in(TASK_KINDS),
                    Notification.submission_id.is_(None),
                    Notification.submission_id.in_(waiting),
                ),
            )
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def task_left(task: ApprovalTask, now: datetime) -> None:
    """``task`` is no longer its holder's (decided by them or by someone else, handed on,
    withdrawn, waiting for signers added before them): their "waiting for you" notifications
    about its submission are marked read, unless another task of it is still open for them."""
    from sqlalchemy import exists, update

    still_open = exists().where(
        ApprovalTask.submission_id == task.submission_id,
        ApprovalTask.assignee_id == task.assignee_id,
        ApprovalTask.status == TaskStatus.OPEN,
        ApprovalTask.id != task.id,
    )
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == task.assignee_id,
            Notification.submission_id == task.submission_id,
            Notification.kind.in_(TASK_KINDS),
            Notification.read_at.is_(None),
            ~still_open,
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )


def unread_count(user: User, *, today: date | None = None) -> int:
    """How many of the notifications listed for ``user`` they have not read."""
    return sum(1 for n in notifications_for(user, 100, today=today) if n.read_at is None)


def mark_read(user: User, ids: list[int] | None = None) -> int:
    from sqlalchemy import update

    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids:
        stmt = stmt.where(Notification.id.in_(ids))
    return affected_rows(db.session.execute(stmt.values(read_at=utcnow())))


__all__ = [
    "comment",
    "decision",
    "email_muted",
    "escalation",
    "install",
    "new_task",
    "reassigned",
    "reminder",
    "returned",
    "submission_path",
    "task_left",
    "task_path",
    "unread_count",
]
