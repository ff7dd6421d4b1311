"""The audit trail: every change becomes an append-only, hash-chained event.

Events are written in the same transaction as the change they describe, so there is
never a change without its event. Each event's hash covers its content and the previous
hash; :func:`verify_chain` recomputes the chain and names the first broken link, so a
row edited or deleted in the database afterwards is found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select, update

from .extensions import db
from .models import AuditEvent, AuditHead, User, utcnow

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value


def _digest(fields: Mapping[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _content(event: AuditEvent) -> dict[str, Any]:
    # The department joined the chain later; events without one hash as they always did.
    scoped = {"department_id": event.department_id} if event.department_id is not None else {}
    return {
        **scoped,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "changes": event.changes,
        "request_id": event.request_id,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value differs."""
    out: dict[str, list[Any]] = {}
    for key in dict.fromkeys([*before, *after]):
        old, new = _jsonable(before.get(key)), _jsonable(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


#: Who, besides the actor, made the events recorded now: see :func:`origin`.
_origin: ContextVar[tuple[str, dict[str, Any]] | None] = ContextVar("audit_origin", default=None)


@contextmanager
def origin(name: str, **details: Any) -> Iterator[None]:
    """Mark every event recorded inside as made by `name` (e.g. ``hr-sync``) with `details`
    (the feed and the run), so an automatic change is traced to what made it even when it
    goes through services that know nothing of it. Events carry ``changes["origin"]``; an
    event without an actor is named after `name`, not "system"."""
    token = _origin.set((name, {"by": name, **details}))
    try:
        yield
    finally:
        _origin.reset(token)


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{path: [old, new]}`` down to single values, so a changed line of a table reads
    ``lines[1].amount: 800.00 → 900.00`` rather than both whole tables."""
    old, new = _flatten(_jsonable(before)), _flatten(_jsonable(after))
    return {
        path: [old.get(path), new.get(path)]
        for path in dict.fromkeys([*old, *new])
        if old.get(path) != new.get(path)
    }


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{path}[{index}]"))
        return out
    return {path: value} if path else {}


def _request_meta() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return getattr(g, "request_id", None), request.remote_addr


def record(
    actor: User | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    changes: Mapping[str, Any] | None = None,
    actor_name: str | None = None,
    department_id: int | None = None,
) -> AuditEvent:
    """Append an event to the current transaction; the caller commits with its change."""
    session = db.session
    # Updating the head row first takes the write lock (row lock on PostgreSQL, database
    # lock on SQLite), so concurrent writers queue up instead of forking the chain.
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).first()
    if head is None:
        session.add(AuditHead(id=1, seq=1, last_hash=GENESIS))
        session.flush()
        seq, prev = 1, GENESIS
    else:
        seq, prev = head
    request_id, ip = _request_meta()
    marked = _origin.get()
    if marked is not None:
        changes = {**(changes or {}), "origin": marked[1]}
        if actor is None:
            actor_name = actor_name or marked[0]
    if department_id is None:
        department_id = department_of(object_type, object_id)
    event = AuditEvent(
        department_id=department_id,
        seq=seq,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.username if actor is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        changes=_jsonable(dict(changes)) if changes else None,
        request_id=request_id,
        ip=ip,
        prev_hash=prev,
    )
    event.hash = _digest(_content(event))
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=event.hash))
    return event


def department_of(object_type: str | None, object_id: Any) -> int | None:
    """The department an event is about, so that department-scoped auditors read it:
    a submission's, a person's (also for their grants, tokens and uploads). Anything
    else (templates, roles, data sources, settings) belongs to the whole organisation."""
    from .models import ApiToken, Attachment, RoleGrant, Submission

    if object_id is None or object_type is None:
        return None
    key = str(object_id)
    if object_type == "user":
        user = db.session.scalar(select(User).where(User.username == key))
        if user is None and key.isdigit():
            user = db.session.get(User, int(key))
        return user.department_id if user is not None else None
    owners = {
        "submission": (Submission, lambda o: o.department_id),
        "role_grant": (RoleGrant, lambda o: o.user.department_id),
        "attachment": (Attachment, lambda o: _department_of_user(o.owner_id)),
        "api_token": (ApiToken, lambda o: o.user.department_id),
    }
    if object_type not in owners or not key.isdigit():
        return None
    model, department = owners[object_type]
    found = db.session.get(model, int(key))
    return department(found) if found is not None else None


def _department_of_user(user_id: int | None) -> int | None:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user.department_id if user is not None else None


@dataclass(frozen=True)
class ChainReport:
    """Outcome of :func:`verify_chain`: ``ok`` or the first broken event and why."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    def sentence(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events verified."
        return f"Audit chain broken at event #{self.broken_seq}: {self.reason}."


def verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Walk the chain in order and report the first event whose link does not hold."""
    if events is None:
        events = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
        )
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, "event missing (gap in sequence)")
        if event.prev_hash != prev:
            return ChainReport(False, checked, event.seq, "does not link to the previous event")
        if _digest(_content(event)) != event.hash:
            return ChainReport(False, checked, event.seq, "content changed after it was written")
        prev = event.hash
        expected_seq += 1
        checked += 1
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.last_hash != prev):
        return ChainReport(False, checked, checked + 1, "events after this one were removed")
    return ChainReport(True, checked)
