"""Report rows of current grants (the ``access_grants`` connector of ``access-review``).

Scoped in SQL like every report source: only grants held by people the reader may see
(:func:`quire.runtime.access.grants_readable_by`) reach a row, a total or an export. Four
queries whatever the number of grants: the grants with their people and roles, the request
numbers, the latest review decisions, the last sign-ins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import access
from ..extensions import db
from ..models import (
    AccessReviewItem,
    Department,
    RoleGrant,
    Submission,
    User,
    UserStatus,
    utcnow,
)
from . import evidence, hygiene, service


def grant_rows(
    user: User, config: Mapping[str, Any], filters: Any, locale: str
) -> list[dict[str, Any]]:
    """One row per grant current now, held by someone in the reader's scope."""
    now = utcnow()
    english = locale.startswith("en")
    days = hygiene.thresholds(current_app.config)
    stmt = (
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .join(Department, Department.id == User.department_id)
        .where(
            access.grant_is_current(now),
            access.grants_readable_by(user),
            User.status != UserStatus.LEFT,
        )
        .options(
            selectinload(RoleGrant.user).selectinload(User.department),
            selectinload(RoleGrant.role),
            selectinload(RoleGrant.department),
        )
        .order_by(Department.path, User.username, RoleGrant.id)
    )
    if filters.department is not None:
        stmt = stmt.where(Department.path.startswith(filters.department.path, autoescape=True))
    grants = list(db.session.scalars(stmt))
    requests = _request_numbers([g.request_submission_id for g in grants])
    reviews = _last_reviews([g.id for g in grants])
    signed_in = hygiene.last_sign_ins(sorted({g.user_id for g in grants}))
    dormant_before = now - timedelta(days=days.dormant_days)
    unused_before = now - timedelta(days=days.unused_days)
    without = "granted without request" if english else "未经申请直接授予"
    rows = []
    for grant in grants:
        person = grant.user
        review = reviews.get(grant.id)
        last_used = grant.last_used_at
        last_sign_in = signed_in.get(person.id)
        flags = []
        if (last_sign_in or person.created_at) < dormant_before:
            flags.append("dormant account" if english else "账号长期未登录")
        if (last_used or grant.created_at) < unused_before:
            flags.append("grant unused" if english else "授权长期未使用")
        rows.append(
            {
                "grant_id": grant.id,
                "user": person.username,
                "name": person.display_name,
                "department": person.department.code,
                "department_name": person.department.name(locale),
                "role": grant.role.key,
                "role_name": grant.role.name(locale),
                "scope": evidence.scope_text(grant.scope_summary(), english),
                "valid_until": service.local_day(grant.valid_until) if grant.valid_until else None,
                "source": requests.get(grant.request_submission_id) or without,
                "request_id": grant.request_submission_id,
                "last_used": service.local_day(last_used) if last_used else None,
                "last_sign_in": service.local_day(last_sign_in) if last_sign_in else None,
                "last_review": _review_text(review, english),
                "flags": "；".join(flags) if not english else "; ".join(flags),
            }
        )
    return rows


def _request_numbers(ids: list[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    stmt = select(Submission.id, Submission.number).where(Submission.id.in_(wanted))
    return {sid: number or f"#{sid}" for sid, number in db.session.execute(stmt)}


def _last_reviews(grant_ids: list[int]) -> dict[int, AccessReviewItem]:
    """The latest decided review item of each grant."""
    if not grant_ids:
        return {}
    latest = (
        select(AccessReviewItem.grant_id, func.max(AccessReviewItem.id).label("item_id"))
        .where(AccessReviewItem.grant_id.in_(grant_ids), AccessReviewItem.decision.is_not(None))
        .group_by(AccessReviewItem.grant_id)
        .subquery()
    )
    stmt = (
        select(AccessReviewItem)
        .join(latest, latest.c.item_id == AccessReviewItem.id)
        .options(selectinload(AccessReviewItem.decided_by))
    )
    return {item.grant_id: item for item in db.session.scalars(stmt)}


def _review_text(item: AccessReviewItem | None, english: bool) -> str:
    if item is None or item.decided_at is None:
        return "never reviewed" if english else "未复核"
    label = service.DECISION_LABELS[item.decision][1 if english else 0]
    who = item.decided_by.username if item.decided_by else ""
    return f"{label} · {service.local_day(item.decided_at).isoformat()} · {who}"
