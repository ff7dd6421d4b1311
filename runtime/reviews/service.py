"""Access review campaigns: start one, ask each grant's reviewer, apply their decisions,
remind and escalate, and start the next one of a quarterly series.

Every function takes the acting user (None: the system's own schedule) and the moment
(``now``), asks :mod:`quire.runtime.access`, raises domain errors and audits in the
caller's transaction. A revocation or narrowing goes through :mod:`quire.runtime.org`,
so it is audited as ``grant.revoke`` / ``grant.narrow`` naming the campaign and item.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from .. import access, audit, clock, org
from ..approvals import engine, notify
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound
from ..extensions import affected_rows, db
from ..models import (
    AccessReviewCampaign,
    AccessReviewItem,
    CampaignStatus,
    Department,
    ReviewDecision,
    ReviewScope,
    RoleGrant,
    User,
    UserStatus,
)
from ..nudges import due_nudge
from ..numbers import parse_date, parse_int

MAX_TITLE = 200
MAX_COMMENT = 2000
RECURRENCES = ("quarterly",)
#: How long a repeated campaign stays open when its first one gave no hint (days).
DEFAULT_DURATION = 14
DECISION_LABELS = {
    "keep": ("保留", "Keep"),
    "revoke": ("撤销", "Revoke"),
    "narrow": ("缩小范围", "Narrow the scope"),
}
SCOPE_LABELS = {
    ReviewScope.FINANCE_ROLES.value: ("全部财务角色", "All finance roles"),
    ReviewScope.DEPARTMENT.value: ("部门", "Department"),
}


def local_day(now: datetime) -> date:
    return engine.local_day(now)


# --- starting ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignRequest:
    """What the person starting a campaign asks for (parsed and checked)."""

    title: str
    scope_kind: str
    department: Department | None
    due_date: date
    remind_days: int = 3
    recurrence: str | None = None


def parse_request(raw: Mapping[str, Any], today: date) -> CampaignRequest:
    """Check a campaign's fields, reporting every problem at once by field name."""
    problems: list[Detail] = []
    title = str(raw.get("title") or "").strip()
    if not title:
        problems.append(Detail("title", "is required"))
    elif len(title) > MAX_TITLE:
        problems.append(Detail("title", f"at most {MAX_TITLE} characters"))
    kind = str(raw.get("scope") or ReviewScope.FINANCE_ROLES.value)
    department = None
    if kind not in {k.value for k in ReviewScope}:
        problems.append(Detail("scope", "must be finance_roles or department"))
    elif kind == ReviewScope.DEPARTMENT.value:
        code = str(raw.get("department") or "").strip()
        department = (
            db.session.scalar(select(Department).where(Department.code == code)) if code else None
        )
        if department is None:
            problems.append(
                Detail("department", f"unknown department {code!r}" if code else "is required")
            )
    due = parse_date(raw.get("due_date"))
    if due is None:
        problems.append(Detail("due_date", "must be a date (YYYY-MM-DD)"))
    elif due < today:
        problems.append(Detail("due_date", "must not be in the past"))
    remind = 3 if raw.get("remind_days") in (None, "") else parse_int(raw.get("remind_days"))
    if remind is None or not 0 <= remind <= 60:
        problems.append(Detail("remind_days", "must be a number of days from 0 to 60"))
    recurrence = str(raw.get("recurrence") or "").strip() or None
    if recurrence is not None and recurrence not in RECURRENCES:
        problems.append(Detail("recurrence", "must be quarterly or empty"))
    if problems:
        raise Invalid("Please check the campaign.", problems)
    assert due is not None and remind is not None
    return CampaignRequest(title, kind, department, due, remind, recurrence)


def add_quarter(day: date) -> date:
    """The same day three months later (the 31st becomes the month's last day)."""
    month = day.month + 3
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def grants_to_review(request: CampaignRequest, now: datetime) -> list[RoleGrant]:
    """Every grant current at ``now`` in the campaign's scope, held by someone still here."""
    stmt = (
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .where(access.grant_is_current(now), User.status != UserStatus.LEFT)
        .options(
            selectinload(RoleGrant.user).selectinload(User.manager),
            selectinload(RoleGrant.user).selectinload(User.department),
            selectinload(RoleGrant.role),
            selectinload(RoleGrant.department),
        )
        .order_by(User.username, RoleGrant.id)
    )
    if request.scope_kind == ReviewScope.DEPARTMENT.value:
        assert request.department is not None
        subtree = select(Department.id).where(
            Department.path.startswith(request.department.path, autoescape=True)
        )
        stmt = stmt.where(User.department_id.in_(subtree))
    else:
        stmt = stmt.where(RoleGrant.role_id.in_(access.finance_role_ids()))
    return list(db.session.scalars(stmt))


def reviewer_for(grantee: User, fallback: User | None = None) -> User | None:
    """Who reviews ``grantee``'s grants: their manager, else the nearest department head up
    the tree, else ``fallback`` (whoever started the campaign); never the grantee."""
    candidates: list[User | None] = [grantee.manager]
    department = grantee.department
    while department is not None:
        candidates.append(department.manager)
        department = department.parent
    candidates.append(fallback)
    for candidate in candidates:
        if access.may_review_grant_of(candidate, grantee):
            return candidate
    return None


def _manager_above(person: User, grantee: User) -> User | None:
    """Whom an overdue item goes to: the reviewer's manager, else their department heads up
    the tree; never the grantee, never the reviewer again."""
    candidates: list[User | None] = [person.manager]
    department = person.department
    while department is not None:
        candidates.append(department.manager)
        department = department.parent
    for candidate in candidates:
        if (
            candidate is not None
            and candidate.id != person.id
            and access.may_review_grant_of(candidate, grantee)
        ):
            return candidate
    return None


def snapshot(grant: RoleGrant) -> dict[str, Any]:
    """What the grant allowed when the campaign started (kept as evidence)."""
    return {
        "user": grant.user.username,
        "role": grant.role.key,
        **grant.scope_summary(),
        "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat() if grant.valid_until else None,
        "note": grant.note,
    }


def start_campaign(
    actor: User | None,
    request: CampaignRequest,
    *,
    now: datetime,
    repeated_from: AccessReviewCampaign | None = None,
) -> AccessReviewCampaign:
    """Freeze the list of grants to review and ask each one's reviewer in their inbox."""
    if actor is not None and not access.may_run_reviews(actor, request.department):
        raise Forbidden("Only finance administrators and auditors can start an access review.")
    today = local_day(now)
    campaign = AccessReviewCampaign(
        title=request.title,
        scope_kind=request.scope_kind,
        department=request.department,
        due_date=request.due_date,
        remind_days=request.remind_days,
        status=CampaignStatus.OPEN.value,
        recurrence=request.recurrence,
        next_run_on=add_quarter(today) if request.recurrence else None,
        repeated_from_id=repeated_from.id if repeated_from is not None else None,
        started_by_id=actor.id if actor is not None else None,
        started_at=now,
    )
    db.session.add(campaign)
    db.session.flush()
    fallback = actor or (repeated_from.started_by if repeated_from is not None else None)
    asked: dict[int, User] = {}
    for grant in grants_to_review(request, now):
        reviewer = reviewer_for(grant.user, fallback)
        db.session.add(
            AccessReviewItem(
                campaign_id=campaign.id,
                grant_id=grant.id,
                grantee_id=grant.user_id,
                department_id=grant.user.department_id,
                role_id=grant.role_id,
                snapshot=snapshot(grant),
                reviewer_id=reviewer.id if reviewer is not None else None,
            )
        )
        if reviewer is not None:
            asked[reviewer.id] = reviewer
    db.session.flush()
    db.session.refresh(campaign)
    audit.record(
        actor,
        "access_review.start",
        object_type="access_review",
        object_id=campaign.id,
        department_id=campaign.department_id,
        changes={
            "title": campaign.title,
            "scope": campaign.scope_kind,
            "department": request.department.code if request.department else None,
            "due_date": campaign.due_date,
            "recurrence": campaign.recurrence,
            "items": len(campaign.items),
            "repeated_from": campaign.repeated_from_id,
        },
    )
    for reviewer in asked.values():
        _tell(reviewer, campaign, "review_task")
    return campaign


# --- reading -----------------------------------------------------------------------------------
def campaigns_for(user: User) -> list[AccessReviewCampaign]:
    """Campaigns the user follows or has items in, newest first."""
    stmt = (
        select(AccessReviewCampaign)
        .where(access.campaigns_visible_to(user))
        .order_by(AccessReviewCampaign.started_at.desc(), AccessReviewCampaign.id.desc())
    )
    return list(db.session.scalars(stmt))


def load_campaign(user: User, campaign_id: int) -> AccessReviewCampaign:
    campaign = db.session.get(AccessReviewCampaign, campaign_id)
    if campaign is None or not access.may_see_campaign(user, campaign):
        raise NotFound()
    return campaign


def visible_items(user: User, campaign: AccessReviewCampaign) -> list[AccessReviewItem]:
    """All items for those who manage the campaign; one's own items for a reviewer."""
    stmt = (
        select(AccessReviewItem)
        .where(AccessReviewItem.campaign_id == campaign.id)
        .options(
            selectinload(AccessReviewItem.grantee),
            selectinload(AccessReviewItem.reviewer),
            selectinload(AccessReviewItem.escalated_to),
            selectinload(AccessReviewItem.decided_by),
            selectinload(AccessReviewItem.role),
            selectinload(AccessReviewItem.department),
            selectinload(AccessReviewItem.grant).selectinload(RoleGrant.department),
        )
        .order_by(AccessReviewItem.id)
    )
    if not access.may_manage_campaign(user, campaign):
        stmt = stmt.where(access.review_items_of(user))
    return list(db.session.scalars(stmt))


def load_item(user: User, item_id: int) -> AccessReviewItem:
    item = db.session.get(AccessReviewItem, item_id)
    if item is None or not access.may_see_campaign(user, item.campaign):
        raise NotFound()
    return item


def open_items(user: User) -> list[AccessReviewItem]:
    """Items waiting for the user's decision (the inbox's access reviews)."""
    stmt = (
        select(AccessReviewItem)
        .join(AccessReviewCampaign, AccessReviewCampaign.id == AccessReviewItem.campaign_id)
        .where(
            access.review_items_of(user),
            AccessReviewItem.decision.is_(None),
            AccessReviewCampaign.status == CampaignStatus.OPEN.value,
        )
        .options(
            selectinload(AccessReviewItem.campaign),
            selectinload(AccessReviewItem.grantee),
            selectinload(AccessReviewItem.role),
            selectinload(AccessReviewItem.grant).selectinload(RoleGrant.department),
        )
        .order_by(AccessReviewCampaign.due_date, AccessReviewItem.id)
    )
    return list(db.session.scalars(stmt))


@dataclass
class ReviewerProgress:
    """One reviewer's share of a campaign."""

    reviewer: User | None
    done: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.done + self.open


def progress(
    campaign: AccessReviewCampaign, items: list[AccessReviewItem], today: date
) -> list[ReviewerProgress]:
    """Done / open / overdue per reviewer (the person holding the item now)."""
    rows: dict[int | None, ReviewerProgress] = {}
    for item in items:
        holder = item.escalated_to or item.reviewer
        row = rows.setdefault(holder.id if holder else None, ReviewerProgress(holder))
        if item.decision is not None:
            row.done += 1
        else:
            row.open += 1
            if today > campaign.due_date:
                row.overdue += 1
    return sorted(
        rows.values(), key=lambda r: (r.reviewer is None, getattr(r.reviewer, "username", ""))
    )


def outcome_counts(items: list[AccessReviewItem]) -> dict[str, int]:
    counted = Counter(item.decision or "open" for item in items)
    return {k: counted.get(k, 0) for k in ("keep", "revoke", "narrow", "open")}


# --- deciding ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """A reviewer's answer on one item (parsed and checked)."""

    decision: str
    comment: str | None = None
    department: Department | None = None
    include_subtree: bool | None = None
    valid_until: date | None = None


def parse_decision(raw: Mapping[str, Any], today: date) -> Decision:
    problems: list[Detail] = []
    decision = str(raw.get("decision") or "").strip()
    if decision not in {d.value for d in ReviewDecision}:
        problems.append(Detail("decision", "must be keep, revoke or narrow"))
    comment = str(raw.get("comment") or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        problems.append(Detail("comment", f"at most {MAX_COMMENT} characters"))
    department = None
    valid_until = None
    include_subtree = None
    if decision == ReviewDecision.NARROW.value:
        code = str(raw.get("department") or "").strip()
        if code:
            department = db.session.scalar(select(Department).where(Department.code == code))
            if department is None:
                problems.append(Detail("department", f"unknown department {code!r}"))
        if raw.get("valid_until") not in (None, ""):
            valid_until = parse_date(raw.get("valid_until"))
            if valid_until is None:
                problems.append(Detail("valid_until", "must be a date (YYYY-MM-DD)"))
            elif valid_until <= today:
                problems.append(Detail("valid_until", "must be after today"))
        if raw.get("include_subtree") not in (None, ""):
            include_subtree = str(raw.get("include_subtree")).lower() in ("1", "true", "on", "yes")
        if department is None and valid_until is None and include_subtree is None and not problems:
            problems.append(Detail("department", "choose a narrower department or an earlier end"))
    if decision == ReviewDecision.REVOKE.value and not comment:
        problems.append(Detail("comment", "say why the grant is revoked"))
    if problems:
        raise Invalid("Please check the decision.", problems)
    return Decision(decision, comment, department, include_subtree, valid_until)


_end_of_local_day = clock.end_of_day


def decide(
    actor: User, item: AccessReviewItem, decision: Decision, *, now: datetime
) -> AccessReviewItem:
    """Record the reviewer's decision and apply it to the grant at once."""
    if not access.may_decide_review_item(actor, item):
        if item.decision is not None:
            raise Conflict("This grant has already been reviewed.")
        if not item.campaign.is_open:
            raise Conflict("This access review is closed.")
        raise Forbidden("Only the reviewer asked about this grant can decide it.")
    grant = item.grant
    applied: dict[str, Any] = {}
    reason = f"access review {item.campaign_id}: {decision.comment or decision.decision}"
    if decision.decision == ReviewDecision.REVOKE.value:
        if grant.revoked_at is None:
            org.revoke_grant(actor, grant, reason, review=item)
        else:
            applied["note"] = "already revoked"
    elif decision.decision == ReviewDecision.NARROW.value:
        org.narrow_grant(
            actor,
            grant,
            department=decision.department,
            include_subtree=decision.include_subtree,
            valid_until=_end_of_local_day(decision.valid_until) if decision.valid_until else None,
            reason=reason,
            review=item,
        )
        applied = {
            "department": grant.department.code if grant.department else None,
            "include_subtree": grant.include_subtree,
            "valid_until": grant.valid_until.isoformat() if grant.valid_until else None,
        }
    stamped = db.session.execute(
        update(AccessReviewItem)
        .where(AccessReviewItem.id == item.id, AccessReviewItem.decision.is_(None))
        .values(
            decision=decision.decision,
            comment=decision.comment,
            narrowed_to=applied or None,
            decided_by_id=actor.id,
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if affected_rows(stamped) != 1:
        raise Conflict("This grant has already been reviewed.")
    db.session.refresh(item)
    audit.record(
        actor,
        "access_review.decide",
        object_type="access_review_item",
        object_id=item.id,
        department_id=item.department_id,
        changes={
            "campaign": item.campaign_id,
            "grant": item.grant_id,
            "user": item.grantee.username,
            "role": item.role.key,
            "decision": decision.decision,
            "comment": decision.comment,
            **({"narrowed_to": applied} if applied else {}),
        },
    )
    _close_when_done(item.campaign, now)
    return item


def _close_when_done(campaign: AccessReviewCampaign, now: datetime) -> None:
    remaining = db.session.scalar(
        select(func.count())
        .select_from(AccessReviewItem)
        .where(AccessReviewItem.campaign_id == campaign.id, AccessReviewItem.decision.is_(None))
    )
    if remaining:
        return
    closed = db.session.execute(
        update(AccessReviewCampaign)
        .where(
            AccessReviewCampaign.id == campaign.id,
            AccessReviewCampaign.status == CampaignStatus.OPEN.value,
        )
        .values(status=CampaignStatus.CLOSED.value, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(closed) == 1:
        db.session.refresh(campaign)
        audit.record(
            None,
            "access_review.complete",
            object_type="access_review",
            object_id=campaign.id,
            department_id=campaign.department_id,
            changes={"items": len(campaign.items)},
        )


def close_campaign(actor: User, campaign: AccessReviewCampaign, *, now: datetime) -> None:
    """End a campaign early (open items stay undecided in the evidence) and stop its series."""
    if not access.may_manage_campaign(actor, campaign):
        raise Forbidden("Only finance administrators and auditors can close an access review.")
    if not campaign.is_open and campaign.next_run_on is None:
        raise Conflict("This access review is closed.")
    before = {"status": campaign.status, "next_run_on": campaign.next_run_on}
    campaign.status = CampaignStatus.CLOSED.value
    campaign.closed_at = campaign.closed_at or now
    campaign.next_run_on = None
    audit.record(
        actor,
        "access_review.close",
        object_type="access_review",
        object_id=campaign.id,
        department_id=campaign.department_id,
        changes=audit.changes_between(
            before, {"status": campaign.status, "next_run_on": campaign.next_run_on}
        ),
    )


# --- reminders, escalation and the next campaign of a series (the periodic sweep) --------------
def campaign_path(campaign_id: int) -> str:
    return f"/access-reviews/{campaign_id}"


def _tell(user: User, campaign: AccessReviewCampaign, kind: str, count: int = 0) -> None:
    day = campaign.due_date
    due_zh, due_en = f"{day.year} 年 {day.month} 月 {day.day} 日", day.isoformat()
    subjects = {
        "review_task": (
            f"请于 {due_zh} 前完成权限复核：{campaign.title}",
            f"Review access by {due_en}: {campaign.title}",
        ),
        "review_reminder": (
            f"催办：权限复核「{campaign.title}」将于 {due_zh} 截止",
            f"Reminder: the access review {campaign.title!r} is due {due_en}",
        ),
        "review_escalation": (
            f"已超期：权限复核「{campaign.title}」有 {count} 项未复核，已转交给您",
            f"Overdue: {count} item(s) of the access review {campaign.title!r} passed to you",
        ),
    }
    notify.message(user, kind, subjects[kind], ("", ""), campaign_path(campaign.id))


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass: start due campaigns of quarterly series, remind reviewers before the due
    date, escalate undecided items once the due date has passed. Safe to run twice."""
    from ..models import utcnow

    now = now or utcnow()
    today = local_day(now)
    done: Counter[str] = Counter()
    for campaign in db.session.scalars(
        select(AccessReviewCampaign).where(
            AccessReviewCampaign.next_run_on.is_not(None),
            AccessReviewCampaign.next_run_on <= today,
        )
    ).all():
        if repeat(campaign, now=now) is not None:
            done["started"] += 1
        db.session.commit()
    open_items_ = db.session.scalars(
        select(AccessReviewItem)
        .join(AccessReviewCampaign, AccessReviewCampaign.id == AccessReviewItem.campaign_id)
        .where(
            AccessReviewCampaign.status == CampaignStatus.OPEN.value,
            AccessReviewItem.decision.is_(None),
            AccessReviewItem.escalated_at.is_(None),
        )
        .order_by(AccessReviewItem.id)
    ).all()
    reminders: dict[tuple[int, int], tuple[User, AccessReviewCampaign]] = {}
    escalations: dict[tuple[int, int], tuple[User, AccessReviewCampaign, int]] = {}
    for item in open_items_:
        campaign = item.campaign
        nudge = due_nudge(
            AccessReviewItem,
            item,
            deadline=campaign.due_date,
            remind_days=campaign.remind_days,
            today=today,
            now=now,
            may_remind=item.reviewer is not None,
        )
        if nudge == "escalate":
            holder = item.reviewer
            boss = _manager_above(holder, item.grantee) if holder is not None else None
            boss = boss or (
                campaign.started_by
                if access.may_review_grant_of(campaign.started_by, item.grantee)
                else None
            )
            if boss is not None:
                db.session.execute(
                    update(AccessReviewItem)
                    .where(AccessReviewItem.id == item.id)
                    .values(escalated_to_id=boss.id)
                    .execution_options(synchronize_session=False)
                )
                key = (boss.id, campaign.id)
                _, _, count = escalations.get(key, (boss, campaign, 0))
                escalations[key] = (boss, campaign, count + 1)
            audit.record(
                None,
                "access_review.escalate",
                object_type="access_review_item",
                object_id=item.id,
                department_id=item.department_id,
                changes={
                    "campaign": campaign.id,
                    "reviewer": holder.username if holder else None,
                    "escalated_to": boss.username if boss else None,
                    "due_date": campaign.due_date,
                },
            )
            done["escalate"] += 1
        elif nudge == "remind":
            assert item.reviewer is not None
            reminders[(item.reviewer.id, campaign.id)] = (item.reviewer, campaign)
            done["remind"] += 1
    for reviewer, campaign in reminders.values():
        _tell(reviewer, campaign, "review_reminder")
    for boss, campaign, count in escalations.values():
        _tell(boss, campaign, "review_escalation", count)
    db.session.commit()
    db.session.expire_all()
    return dict(done)


def repeat(campaign: AccessReviewCampaign, *, now: datetime) -> AccessReviewCampaign | None:
    """Start the next campaign of ``campaign``'s series and hand the schedule on to it."""
    handed = db.session.execute(
        update(AccessReviewCampaign)
        .where(
            AccessReviewCampaign.id == campaign.id,
            AccessReviewCampaign.next_run_on == campaign.next_run_on,
        )
        .values(next_run_on=None)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(handed) != 1:
        return None
    today = local_day(now)
    duration = (campaign.due_date - local_day(campaign.started_at)).days
    if duration <= 0:
        duration = DEFAULT_DURATION
    base_title = campaign.title.split(" · ")[0]
    request = CampaignRequest(
        title=f"{base_title} · {today.year}-Q{(today.month - 1) // 3 + 1}",
        scope_kind=campaign.scope_kind,
        department=campaign.department,
        due_date=today + timedelta(days=duration),
        remind_days=campaign.remind_days,
        recurrence=campaign.recurrence,
    )
    db.session.refresh(campaign)
    return start_campaign(None, request, now=now, repeated_from=campaign)


def overdue(campaign: AccessReviewCampaign, today: date) -> bool:
    return campaign.is_open and today > campaign.due_date
