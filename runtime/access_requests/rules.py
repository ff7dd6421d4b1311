"""Separation-of-duties rules: keep them (add, disable, enable) and list who breaks them.

Rules concern the whole organisation: finance and system administrators keep them
(:func:`quire.runtime.access.may_manage_sod_rules`); every change is audited. The conflicts
list is the evidence an auditor exports: every person whose current grants put both sides
of an enabled rule in their hands, with the exception that covers it, if any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import access, audit
from ..access import Permission
from ..errors import Detail, Forbidden, Invalid
from ..extensions import db
from ..models import RoleGrant, SodException, SodRule, User, UserStatus, utcnow

_KEY = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


def _state(rule: SodRule) -> dict[str, object]:
    return {
        "name_zh": rule.name_zh,
        "name_en": rule.name_en,
        "left_permissions": rule.left_permissions,
        "right_permissions": rule.right_permissions,
        "same_department": rule.same_department,
        "enabled": rule.enabled,
    }


def add_rule(
    actor: User,
    *,
    key: str,
    name_zh: str,
    name_en: str,
    left: list[str],
    right: list[str],
    same_department: bool = False,
    description: str | None = None,
) -> SodRule:
    """A new, enabled rule; it refuses grants from now on (existing holders are listed)."""
    if not access.may_manage_sod_rules(actor):
        raise Forbidden("Only finance or system administrators keep separation-of-duties rules.")
    known = {p.value for p in Permission}
    problems = []
    key = (key or "").strip().lower()
    if not _KEY.match(key):
        problems.append(Detail("key", "lowercase letters, digits and - only"))
    elif db.session.scalar(select(SodRule).where(SodRule.key == key)):
        problems.append(Detail("key", f"{key} is already used"))
    if not name_zh.strip():
        problems.append(Detail("name_zh", "is required"))
    if not name_en.strip():
        problems.append(Detail("name_en", "is required"))
    for path, side in (("left", left), ("right", right)):
        if not side:
            problems.append(Detail(path, "choose at least one permission"))
        problems += [Detail(path, f"unknown permission {p}") for p in side if p not in known]
    if set(left) & set(right):
        problems.append(Detail("right", "a permission cannot be on both sides"))
    if problems:
        raise Invalid("Please check the form.", problems)
    rule = SodRule(
        key=key,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        description=(description or "").strip() or None,
        left_permissions=sorted(set(left)),
        right_permissions=sorted(set(right)),
        same_department=same_department,
        enabled=True,
        created_by_id=actor.id,
    )
    db.session.add(rule)
    db.session.flush()
    audit.record(
        actor, "sod_rule.create", object_type="sod_rule", object_id=rule.key, changes=_state(rule)
    )
    return rule


def set_enabled(actor: User, rule: SodRule, enabled: bool) -> None:
    """Disable a rule (it refuses nothing more; kept for history) or enable it again."""
    if not access.may_manage_sod_rules(actor):
        raise Forbidden("Only finance or system administrators keep separation-of-duties rules.")
    if rule.enabled == enabled:
        return
    rule.enabled = enabled
    audit.record(
        actor,
        "sod_rule.update",
        object_type="sod_rule",
        object_id=rule.key,
        changes={"enabled": [not enabled, enabled]},
    )


@dataclass(frozen=True)
class Conflict:
    """One person holding both sides of one rule now."""

    user: User
    rule: SodRule
    #: The grants giving each side, as "role (scope)".
    left: list[str]
    right: list[str]
    exception: SodException | None


def _label(grant: RoleGrant) -> str:
    scope = grant.department.code if grant.department is not None else "*"
    return f"{grant.role.key} ({scope})"


def existing_conflicts(now: datetime | None = None) -> list[Conflict]:
    """Everyone who holds both sides of an enabled rule now, by user then rule."""
    now = now or utcnow()
    rules = list(db.session.scalars(select(SodRule).where(SodRule.enabled).order_by(SodRule.id)))
    if not rules:
        return []
    grants = db.session.scalars(
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .where(access.grant_is_current(now), User.status != UserStatus.LEFT)
        .options(
            selectinload(RoleGrant.user),
            selectinload(RoleGrant.role),
            selectinload(RoleGrant.department),
        )
        .order_by(User.username, RoleGrant.id)
    )
    by_user: dict[int, list[RoleGrant]] = {}
    for grant in grants:
        by_user.setdefault(grant.user_id, []).append(grant)
    exceptions = {
        (e.user_id, e.rule_id): e
        for e in db.session.scalars(select(SodException).where(access.current_sod_exceptions(now)))
    }
    found = []
    for held in by_user.values():
        for rule in rules:
            left_side = set(rule.left_permissions or [])
            right_side = set(rule.right_permissions or [])
            lefts = [g for g in held if left_side & set(g.role.permissions or [])]
            rights = [g for g in held if right_side & set(g.role.permissions or [])]
            if rule.same_department:
                pairs = [
                    (a, b)
                    for a in lefts
                    for b in rights
                    if access.scopes_meet(
                        a.department, a.include_subtree, b.department, b.include_subtree
                    )
                ]
                lefts = list(dict.fromkeys(a for a, _ in pairs))
                rights = list(dict.fromkeys(b for _, b in pairs))
            if lefts and rights:
                user = held[0].user
                found.append(
                    Conflict(
                        user,
                        rule,
                        [_label(g) for g in lefts],
                        [_label(g) for g in rights],
                        exceptions.get((user.id, rule.id)),
                    )
                )
    return found
