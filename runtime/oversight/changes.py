"""Report rows of permission changes (the ``permission_changes`` connector).

The ``permission-changes`` report (权限变更记录) lists grants, revocations, role changes and
delegations over a period, each with who requested it, who approved it and who made it. The
rows come from the audit trail, which every path that changes rights writes to
(:mod:`quire.runtime.org`), limited in SQL to the events the reader may read
(:func:`quire.runtime.access.permission_change_events`) before anything is counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import access, clock
from ..audit_query import permission_changes
from ..audit_view import shown_changes
from ..audit_words import Vocabulary, describe, lines_text
from ..extensions import db
from ..models import ApprovalEvent, AuditEvent, Department, RoleGrant, Submission, User

#: Kind of change → (Chinese, English).
KINDS: dict[str, tuple[str, str]] = {
    "grant": ("授予", "Grant"),
    "revoke": ("收回", "Revocation"),
    "role": ("角色变更", "Role change"),
    "delegation": ("代理变更", "Delegation"),
}
_WITHOUT_REQUEST = ("直接授权（无申请）", "granted without request")
_BY_SYSTEM = ("系统", "system")


def _kind(event: AuditEvent) -> str:
    if event.action == "grant.create":
        return "grant"
    if event.action == "grant.revoke":
        return "revoke"
    if event.action.startswith("role."):
        return "role"
    return "delegation"


_zone = clock.zone


def _bounds(filters: Any, zone: ZoneInfo) -> list[Any]:
    """The period's days in local time, as UTC bounds on the event time."""
    clauses: list[Any] = []
    since: date | None = getattr(filters, "since", None)
    until: date | None = getattr(filters, "until", None)
    if since is not None:
        start = datetime.combine(since, time.min, tzinfo=zone).astimezone(UTC)
        clauses.append(AuditEvent.at >= start)
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        clauses.append(AuditEvent.at < end)
    return clauses


def _request_of(event: AuditEvent, grants: Mapping[int, RoleGrant]) -> int | None:
    """The access request (a submission id) behind a change, if it came from one: a grant's
    ``request_submission_id``, or a ``request`` the event names itself."""
    changes = event.changes if isinstance(event.changes, Mapping) else {}
    named = changes.get("request_submission_id", changes.get("request"))
    if isinstance(named, int) or (isinstance(named, str) and named.isdigit()):
        return int(named)
    if event.action == "grant.create" and (event.object_id or "").isdigit():
        grant = grants.get(int(event.object_id or 0))
        return getattr(grant, "request_submission_id", None) if grant is not None else None
    return None


def permission_change_rows(
    user: User, config: Mapping[str, Any], filters: Any, locale: str
) -> list[dict[str, Any]]:
    """One row per grant, revocation, role change or delegation change the reader may read,
    oldest first: when, kind, whose rights, department, role, what changed (old → new),
    requested by, approved by, made by, the request's number and the reason."""
    zone = _zone()
    stmt = (
        select(AuditEvent)
        .where(access.permission_change_events(user), permission_changes())
        .where(*_bounds(filters, zone))
        .order_by(AuditEvent.seq)
    )
    department = getattr(filters, "department", None)
    if department is not None:
        subtree = select(Department.id).where(
            Department.path.startswith(department.path, autoescape=True)
        )
        stmt = stmt.where(AuditEvent.department_id.in_(subtree))
    events = list(db.session.scalars(stmt))
    words = Vocabulary(locale, zone.key)
    shown = shown_changes(user, events)

    grant_ids = [
        int(e.object_id)
        for e in events
        if e.object_type == "role_grant" and e.object_id is not None and e.object_id.isdigit()
    ]
    grants = {
        g.id: g for g in db.session.scalars(select(RoleGrant).where(RoleGrant.id.in_(grant_ids)))
    }
    requests = {e.id: _request_of(e, grants) for e in events}
    wanted = {r for r in requests.values() if r is not None}
    submissions = {
        s.id: s for s in db.session.scalars(select(Submission).where(Submission.id.in_(wanted)))
    }
    approvers: dict[int, list[str]] = {}
    for submission_id, username in db.session.execute(
        select(ApprovalEvent.submission_id, User.username)
        .join(User, User.id == ApprovalEvent.actor_id)
        .where(ApprovalEvent.submission_id.in_(wanted), ApprovalEvent.action == "approve")
        .order_by(ApprovalEvent.at, ApprovalEvent.id)
    ):
        names = approvers.setdefault(submission_id, [])
        if username not in names:
            names.append(username)
    departments = {
        d.id: d
        for d in db.session.scalars(
            select(Department).where(
                Department.id.in_({e.department_id for e in events if e.department_id})
            )
        )
    }

    pick = 1 if locale.startswith("en") else 0
    rows: list[dict[str, Any]] = []
    for event in events:
        kind = _kind(event)
        changes = shown[event.id] if isinstance(shown[event.id], Mapping) else {}
        request = submissions.get(requests[event.id] or 0)
        subject = changes.get("user") if kind in ("grant", "revoke") else None
        if kind == "delegation":
            subject = event.object_id
        role = changes.get("role") if kind in ("grant", "revoke") else None
        if kind == "role":
            role = event.object_id
        dept = departments.get(event.department_id or 0)
        origin = changes.get("origin") if isinstance(changes.get("origin"), Mapping) else None
        made_by = event.actor_name or _BY_SYSTEM[pick]
        if origin and origin.get("by") and origin.get("by") != made_by:
            made_by = f"{made_by} ({origin['by']})"
        reason = changes.get("reason")
        if not reason and request is not None:
            reason = (request.data or {}).get("reason")
        if not reason and kind == "grant" and (event.object_id or "").isdigit():
            grant = grants.get(int(event.object_id or 0))
            reason = grant.note if grant is not None else None
        if request is None and kind != "revoke":
            requested_by = _WITHOUT_REQUEST[pick] if kind == "grant" else ""
        else:
            requested_by = request.submitter.username if request is not None else ""
        moment = event.at.astimezone(zone)
        rows.append(
            {
                "seq": event.seq,
                "at": moment.strftime("%Y-%m-%d %H:%M"),
                "day": moment.date(),
                "kind": kind,
                "kind_name": KINDS[kind][pick],
                "user": subject or "",
                "department": dept.code if dept else "",
                "department_name": dept.name(locale) if dept else "",
                "role": role or "",
                "role_name": words.role(role) if role else "",
                "change": lines_text(describe(event, changes, words)),
                "requested_by": requested_by,
                "approved_by": ", ".join(approvers.get(request.id, [])) if request else "",
                "made_by": made_by,
                "request": request.number if request is not None else "",
                "reason": str(reason or ""),
            }
        )
    return rows
