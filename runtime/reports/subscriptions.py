"""Scheduled delivery: a user subscribes to a report with parameters and a schedule; a
periodic job renders it as that user and posts it to their inbox.

Delivery is a :class:`~quire.runtime.models.Notification` linking to the finished export.
Notifications are also the mail outbox (:mod:`quire.runtime.approvals.mail` sends every
notification not yet emailed), so a subscriber gets an email copy whenever mail is
configured: with the file attached when it is under ``REPORT_MAIL_ATTACH_MAX_BYTES``, and
always with a link behind Quire's sign-in that lives until the next delivery.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from .. import audit, clock, files
from ..access import Permission
from ..errors import Detail, Invalid, NotFound, QuireError
from ..extensions import db
from ..models import ExportJob, JobStatus, Notification, ReportSubscription, User, utcnow
from . import engine, export

FREQUENCIES = ("daily", "weekly", "monthly")
REPORT_NOTIFICATION = "report"


_zone = clock.zone


def next_run(sub: ReportSubscription, after: datetime) -> datetime:
    """The first scheduled moment strictly after ``after`` (UTC in, UTC out)."""
    local = after.astimezone(_zone())
    candidate = local.replace(hour=sub.hour, minute=sub.minute, second=0, microsecond=0)
    for _ in range(400):
        if candidate > local and _matches(sub, candidate):
            return candidate.astimezone(after.tzinfo)
        candidate = (candidate + timedelta(days=1)).replace(hour=sub.hour, minute=sub.minute)
    raise ValueError("no run in the next 400 days")


def _matches(sub: ReportSubscription, moment: datetime) -> bool:
    if sub.frequency == "daily":
        return True
    if sub.frequency == "weekly":
        return moment.isoweekday() == sub.day
    last = calendar.monthrange(moment.year, moment.month)[1]
    return moment.day == min(sub.day, last)


def _check_schedule(frequency: str, day: int, hour: int, minute: int) -> None:
    problems = []
    if frequency not in FREQUENCIES:
        problems.append(Detail("frequency", "must be one of " + ", ".join(FREQUENCIES)))
    if frequency == "weekly" and not 1 <= day <= 7:
        problems.append(Detail("day", "must be 1 (Monday) to 7 (Sunday)"))
    if frequency == "monthly" and not 1 <= day <= 31:
        problems.append(Detail("day", "must be a day of the month, 1 to 31"))
    if not 0 <= hour <= 23:
        problems.append(Detail("hour", "must be 0 to 23"))
    if not 0 <= minute <= 59:
        problems.append(Detail("minute", "must be 0 to 59"))
    if problems:
        raise Invalid("Please check the schedule.", problems)


def subscribe(
    user: User,
    key: str,
    params: dict[str, Any],
    *,
    fmt: str = "xlsx",
    frequency: str = "monthly",
    day: int = 1,
    hour: int = 8,
    minute: int = 0,
) -> ReportSubscription:
    """Subscribe ``user`` to report ``key``; the parameters are checked now and again at
    every delivery (scope may change)."""
    report = engine.definition(key)
    engine.require_reader(user)
    engine.require_reader(user, Permission.REPORT_EXPORT)
    fmt = export.check_format(fmt)
    _check_schedule(frequency, day, hour, minute)
    resolved = engine.resolve_parameters(user, report, params)
    sub = ReportSubscription(
        user_id=user.id,
        report_key=key,
        params=resolved.query(),
        format=fmt,
        frequency=frequency,
        day=day,
        hour=hour,
        minute=minute,
        active=True,
        next_run_at=utcnow(),
    )
    sub.next_run_at = next_run(sub, utcnow())
    db.session.add(sub)
    db.session.flush()
    audit.record(
        user,
        "report.subscribe",
        object_type="report",
        object_id=key,
        changes={"subscription": sub.id, "frequency": frequency, "format": fmt},
    )
    return sub


def subscriptions_of(user: User) -> list[ReportSubscription]:
    stmt = (
        select(ReportSubscription)
        .where(ReportSubscription.user_id == user.id, ReportSubscription.active.is_(True))
        .order_by(ReportSubscription.created_at)
    )
    return list(db.session.scalars(stmt))


def unsubscribe(user: User, subscription_id: int) -> None:
    sub = db.session.get(ReportSubscription, subscription_id)
    if sub is None or sub.user_id != user.id:
        raise NotFound("No such subscription.")
    sub.active = False
    audit.record(
        user,
        "report.unsubscribe",
        object_type="report",
        object_id=sub.report_key,
        changes={"subscription": sub.id},
    )


def deliver(sub: ReportSubscription, now: datetime | None = None) -> str:
    """Render one subscription now and post it to the subscriber's inbox; the file is kept
    until the delivery after this one."""
    now = now or utcnow()
    user = db.session.get(User, sub.user_id)
    assert user is not None
    report = engine.definition(sub.report_key)
    job = export.start_job(
        user,
        sub.report_key,
        sub.params,
        sub.format,
        locale=user.locale or "zh_CN",
        subscription_id=sub.id,
        enqueue=False,
        keep_until=next_run(sub, now) + timedelta(hours=1),
    )
    outcome = export.run_job(job.id)
    db.session.refresh(job)
    if job.status != JobStatus.FINISHED:
        raise Invalid(job.error or "The report could not be rendered.")
    link = current_app.url_map.bind("localhost").build("reports.job", {"token": job.token})
    title = report.template.title
    zone = _zone()
    until_zh = job.expires_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    until_en = job.expires_at.astimezone(zone).strftime("%d %b %Y %H:%M")
    db.session.add(
        Notification(
            user_id=user.id,
            kind=REPORT_NOTIFICATION,
            subject_zh=f"定期报表：{title.zh}",
            subject_en=f"Scheduled report: {title.en}",
            body_zh=f"{title.zh}（{job.format.upper()}，{job.rows or 0} 行）已生成，"
            f"可下载至 {until_zh}。",
            body_en=f"{title.en} ({job.format.upper()}, {job.rows or 0} rows) is ready to "
            f"download until {until_en}.",
            link=link,
        )
    )
    return outcome


def attachment_for(notification: Notification) -> tuple[str, bytes, str] | None:
    """The delivered file to attach to a report notification's email copy: (file name,
    content, MIME type), or None when it is gone or larger than the configured limit."""
    if notification.kind != REPORT_NOTIFICATION or not notification.link:
        return None
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(notification.link)
    except HTTPException:
        return None
    if endpoint != "reports.job":
        return None
    job = db.session.scalar(select(ExportJob).where(ExportJob.token == args.get("token")))
    if job is None or job.status != JobStatus.FINISHED or not job.file_path:
        return None
    limit = int(current_app.config.get("REPORT_MAIL_ATTACH_MAX_BYTES", 10 * 1024 * 1024))
    store = files.store()
    stored = store.stat(export.file_key(job))
    if stored is None or stored.size > limit:
        return None
    try:
        content = files.read_bytes(store, export.file_key(job))
    except (files.FileMissing, OSError):
        return None
    return job.filename or str(job.file_path), content, export.FORMATS[job.format][0]


def deliver_due(now: datetime | None = None) -> int:
    """Deliver every subscription that is due (the periodic job); returns how many ran."""
    now = now or utcnow()
    due = db.session.scalars(
        select(ReportSubscription)
        .where(ReportSubscription.active.is_(True), ReportSubscription.next_run_at <= now)
        .order_by(ReportSubscription.next_run_at)
    ).all()
    done = 0
    for sub in due:
        try:
            deliver(sub, now)
            sub.last_error = None
            done += 1
        except QuireError as error:
            db.session.rollback()
            sub = db.session.get(ReportSubscription, sub.id)
            assert sub is not None
            sub.last_error = error.message[:500]
        sub.last_run_at = now
        sub.next_run_at = next_run(sub, now)
        db.session.commit()
    return done
