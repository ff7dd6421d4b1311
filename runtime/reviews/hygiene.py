"""Grant hygiene: accounts nobody has signed in to for a while, and grants that have not
allowed anything for a while. Both are candidates for the next access review.

``QUIRE_DORMANT_ACCOUNT_DAYS`` and ``QUIRE_UNUSED_GRANT_DAYS`` (default 90) set "a while".
A grant's use is stamped by :mod:`quire.runtime.access` when it allows a check (at most
once a day); a grant never used counts from the day it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import access
from ..extensions import db
from ..models import RoleGrant, User, UserSession, UserStatus

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Thresholds:
    dormant_days: int
    unused_days: int


def thresholds(config: Mapping[str, Any]) -> Thresholds:
    return Thresholds(
        int(config.get("DORMANT_ACCOUNT_DAYS") or DEFAULT_DAYS),
        int(config.get("UNUSED_GRANT_DAYS") or DEFAULT_DAYS),
    )


def last_sign_ins(user_ids: list[int]) -> dict[int, datetime]:
    """Each person's latest sign-in (the start of their latest session), in one query."""
    if not user_ids:
        return {}
    stmt = (
        select(UserSession.user_id, func.max(UserSession.created_at))
        .where(UserSession.user_id.in_(user_ids))
        .group_by(UserSession.user_id)
    )
    return {user_id: _aware(at) for user_id, at in db.session.execute(stmt) if at is not None}


def _aware(value: Any) -> Any:
    from datetime import UTC

    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class DormantAccount:
    user: User
    last_sign_in: datetime | None
    grants: int


def dormant_accounts(viewer: User, now: datetime, days: int) -> list[DormantAccount]:
    """People in the viewer's scope who still hold a grant but have not signed in for
    ``days`` days (or never, for accounts older than that)."""
    cutoff = now - timedelta(days=days)
    last = (
        select(UserSession.user_id, func.max(UserSession.created_at).label("at"))
        .group_by(UserSession.user_id)
        .subquery()
    )
    holding = (
        select(RoleGrant.user_id, func.count().label("n"))
        .where(access.grant_is_current(now), access.grants_readable_by(viewer))
        .group_by(RoleGrant.user_id)
        .subquery()
    )
    stmt = (
        select(User, last.c.at, holding.c.n)
        .join(holding, holding.c.user_id == User.id)
        .outerjoin(last, last.c.user_id == User.id)
        .where(
            User.status != UserStatus.LEFT,
            or_(last.c.at < cutoff, last.c.at.is_(None) & (User.created_at < cutoff)),
        )
        .options(selectinload(User.department))
        .order_by(User.username)
    )
    return [DormantAccount(u, _aware(at), n) for u, at, n in db.session.execute(stmt)]


def unused_grant_filter(now: datetime, days: int) -> Any:
    """Current grants that have allowed nothing for ``days`` days (never used: counted
    from when they were given)."""
    cutoff = now - timedelta(days=days)
    return or_(
        RoleGrant.last_used_at < cutoff,
        RoleGrant.last_used_at.is_(None) & (RoleGrant.created_at < cutoff),
    )


def unused_grants(viewer: User, now: datetime, days: int) -> list[RoleGrant]:
    stmt = (
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .where(
            access.grant_is_current(now),
            access.grants_readable_by(viewer),
            User.status != UserStatus.LEFT,
            unused_grant_filter(now, days),
        )
        .options(
            selectinload(RoleGrant.user).selectinload(User.department),
            selectinload(RoleGrant.role),
            selectinload(RoleGrant.department),
        )
        .order_by(User.username, RoleGrant.id)
    )
    return list(db.session.scalars(stmt))
