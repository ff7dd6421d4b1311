"""Filtering the audit trail, shared by the auditor's page and ``GET /api/v1/audit``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, or_, select

from . import access
from .models import AuditEvent, User

FILTERS = ("actor", "action", "category", "object_type", "object_id", "since", "until")
#: ``category=permissions``: grants, revocations, role changes and delegations.
PERMISSION_CATEGORY = "permissions"


def _day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(name, "must be a date like 2026-11-25") from None


def audit_query(args: Mapping[str, Any], reader: User) -> Select[Any]:
    """Events ``reader`` may read (their ``audit.read`` scope) matching the filters, newest
    first. Raises ValueError(path, message)."""
    stmt = select(AuditEvent).where(access.audit_events(reader))
    if args.get("actor"):
        stmt = stmt.where(AuditEvent.actor_name == args["actor"])
    if args.get("action"):
        action = str(args["action"])
        if action.endswith("*") or action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(action.rstrip("*"), autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if args.get("category") == PERMISSION_CATEGORY:
        stmt = stmt.where(permission_changes())
    elif args.get("category"):
        raise ValueError("category", f"must be {PERMISSION_CATEGORY}")
    if args.get("object_type"):
        stmt = stmt.where(AuditEvent.object_type == args["object_type"])
    if args.get("object_id"):
        stmt = stmt.where(AuditEvent.object_id == str(args["object_id"]))
    if args.get("since"):
        start = datetime.combine(_day("since", args["since"]), time.min, tzinfo=UTC)
        stmt = stmt.where(AuditEvent.at >= start)
    if args.get("until"):
        end = datetime.combine(_day("until", args["until"]), time.min, tzinfo=UTC) + timedelta(
            days=1
        )
        stmt = stmt.where(AuditEvent.at < end)
    return stmt.order_by(AuditEvent.seq.desc())


def permission_changes() -> Any:
    """The WHERE clause of events that change who may do what: grants, revocations, role
    edits, and a person's delegate (``user.update`` naming ``delegate…``)."""
    from .audit_words import DELEGATION_KEYS, PERMISSION_ACTIONS

    stored = AuditEvent.changes.cast(String)
    return or_(
        AuditEvent.action.in_(PERMISSION_ACTIONS),
        and_(
            AuditEvent.action == "user.update",
            or_(*(stored.like(f'%"{key}"%') for key in DELEGATION_KEYS)),
        ),
    )
