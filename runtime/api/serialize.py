"""JSON shapes shared by several endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from ..access import current_grants, permissions_of
from ..models import AuditEvent, RoleGrant, User
from ..numbers import DB_INT_MAX


def _blank_is_absent(value: Any) -> Any:
    return None if value == "" else value


#: A whole-number query parameter: ASCII digits from 1, absent when empty.
QueryNumber = Annotated[
    Annotated[int, Field(ge=1, le=DB_INT_MAX)] | None, BeforeValidator(_blank_is_absent)
]


class PageQuery(BaseModel):
    """Paging of every list: ``{items, page, pages, total}``, ``per_page`` at most 200."""

    page: QueryNumber = None
    per_page: QueryNumber = None


class Grant(BaseModel):
    id: int
    role: str
    scope: dict[str, Any]
    valid_from: str | None
    valid_until: str | None


class Me(BaseModel):
    username: str
    display_name: str
    email: str | None
    department: str | None
    manager: str | None
    #: active, on_leave or left.
    status: str
    locale: str | None
    grants: list[Grant]
    permissions: list[str]


class AuditItem(BaseModel):
    seq: int
    at: str
    actor: str | None
    action: str
    object_type: str | None
    object_id: str | None
    changes: Any
    request_id: str | None
    ip: str | None
    hash: str


class AuditList(BaseModel):
    items: list[AuditItem]
    page: int
    pages: int
    total: int


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def grant_json(grant: RoleGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "role": grant.role.key,
        "scope": grant.scope_summary(),
        "valid_from": iso(grant.valid_from),
        "valid_until": iso(grant.valid_until),
    }


def user_json(user: User, *, with_rights: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "department": user.department.code if user.department else None,
        "manager": user.manager.username if user.manager else None,
        "status": user.status.value,
        "locale": user.locale,
    }
    if with_rights:
        body["grants"] = [grant_json(g) for g in current_grants(user)]
        body["permissions"] = sorted(p.value for p in permissions_of(user))
    return body


def audit_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": iso(event.at),
        "actor": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "changes": event.changes,
        "request_id": event.request_id,
        "ip": event.ip,
        "hash": event.hash,
    }
