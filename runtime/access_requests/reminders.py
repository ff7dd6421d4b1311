"""Reminders before temporary grants end.

A grant with an end date stops counting by itself (validity is checked at every access
check). Some days before (``GRANT_EXPIRY_REMIND_DAYS``, default 7) the holder and the
role's owners get a notification (and an email through the outbox), so the right can be
asked for again in time. ``expiry_reminded_at`` is stamped with a guarded UPDATE, so two
workers or two runs remind once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from .. import access
from ..approvals import notify, routing
from ..extensions import affected_rows, db
from ..models import RoleGrant, User, utcnow

log = logging.getLogger("quire.access_requests.reminders")

#: Where a reminder points: the access-request form, to ask again.
RENEW_PATH = "/forms/access-request/new"


def expiring_grant_ids(now: datetime, days: int) -> list[int]:
    """Current grants ending within ``days`` that nobody was reminded of yet."""
    return list(
        db.session.scalars(
            select(RoleGrant.id)
            .where(
                access.grants_ending_within(now, days),
                RoleGrant.expiry_reminded_at.is_(None),
            )
            .order_by(RoleGrant.valid_until)
        )
    )


def _remind(grant: RoleGrant, now: datetime) -> None:
    holder, role = grant.user, grant.role
    local = grant.valid_until.astimezone(routing.local_now().tzinfo) if grant.valid_until else None
    when = local.strftime("%Y-%m-%d %H:%M") if local else ""
    scope = grant.department.code if grant.department else "全公司 / organisation"
    recipients: dict[int, User] = {holder.id: holder}
    for owner in routing.role_owners(role):
        recipients.setdefault(owner.id, owner)
    for person in recipients.values():
        yours = person.id == holder.id
        notify.message(
            person,
            "grant_expiry",
            (
                f"权限即将到期：{holder.display_name} 的 {role.name_zh}（{scope}）",
                f"Access ends soon: {holder.display_name}'s {role.name_en} ({scope})",
            ),
            (
                f"到期时间 {when}。" + ("如仍需要，请重新申请。" if yours else ""),
                f"It ends at {when}." + (" Ask again if you still need it." if yours else ""),
            ),
            RENEW_PATH,
        )


def run(now: datetime | None = None) -> int:
    """Remind of every grant that ends soon; returns how many grants were reminded of."""
    now = now or utcnow()
    days = int(current_app.config.get("GRANT_EXPIRY_REMIND_DAYS", 7))
    reminded = 0
    for grant_id in expiring_grant_ids(now, days):
        claimed = affected_rows(
            db.session.execute(
                update(RoleGrant)
                .where(RoleGrant.id == grant_id, RoleGrant.expiry_reminded_at.is_(None))
                .values(expiry_reminded_at=now)
            )
        )
        if not claimed:
            continue
        grant = db.session.get(RoleGrant, grant_id)
        if grant is not None:
            _remind(grant, now)
            reminded += 1
        db.session.commit()
    if reminded:
        log.info("reminded of %s grants that end soon", reminded)
    return reminded
