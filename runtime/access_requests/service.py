"""What the ``access-request`` and ``role-change`` forms check and do.

An access request asks for a role, for oneself or for one's people, in a department scope
(optionally limited to projects and fiscal periods) until an end date. At submission the
request is checked against the role (temporary-only roles need an end date within their
longest term) and the separation-of-duties rules (a conflict needs a reason for an
exception, which adds the CFO's step). Once the last step approves, the grant is made by
:func:`quire.runtime.org.grant_role`, so every grant rule holds at that moment too.

A role change asks for permissions to be added to (or taken from) a role; once approved
:func:`quire.runtime.org.save_role` applies it, checked against the SoD rules for every
current holder.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from .. import access, audit, clock, org
from ..approvals.outcomes import Approved, Check, FormOutcome
from ..errors import Detail, Invalid
from ..extensions import db
from ..models import Department, Role, SodException, User, UserStatus

ACCESS_REQUEST_FORM = "access-request"
ROLE_CHANGE_FORM = "role-change"


def _say(locale: str, en: str, zh: str) -> str:
    return en if locale.startswith("en") else zh


def end_of(day: date) -> datetime:
    """A grant "valid until 30 June" counts through that whole day, local time."""
    return clock.end_of_day(day)


def _user(username: Any) -> User | None:
    if not username:
        return None
    return db.session.scalar(
        select(User).where(func.lower(User.username) == str(username).strip().lower())
    )


def _role(key: Any) -> Role | None:
    if not key:
        return None
    return db.session.scalar(select(Role).where(Role.key == str(key)))


def _department(code: Any) -> Department | None:
    if not code:
        return None
    return db.session.scalar(select(Department).where(Department.code == str(code)))


def subject_of(submitter: User, values: dict[str, Any]) -> User | None:
    """Whom the request is for: the ``for`` field, else the submitter."""
    return _user(values.get("for")) if values.get("for") else submitter


def _periods(values: dict[str, Any]) -> tuple[date | None, date | None]:
    periods = values.get("periods")
    if periods is None:
        return None, None
    return periods.start.replace(day=1), periods.end.replace(day=1)


# --- access requests ---------------------------------------------------------------------------
def check_access_request(ctx: Check) -> list[Detail]:
    """Is this a request Quire could grant? Problems by field, in the submitter's language."""
    say = lambda en, zh: _say(ctx.locale, en, zh)  # noqa: E731
    values, problems = ctx.values, []
    subject = subject_of(ctx.submitter, values)
    if subject is None or subject.status == UserStatus.LEFT:
        problems.append(Detail("for", say("unknown or departed user", "用户不存在或已离职")))
    elif not access.may_request_access_for(ctx.submitter, subject):
        problems.append(
            Detail(
                "for",
                say(
                    "you may ask for rights only for yourself or the people you manage",
                    "只能为本人或自己管理的人员申请权限",
                ),
            )
        )
    role = _role(values.get("role"))
    if role is None:
        problems.append(Detail("role", say("unknown role", "角色不存在")))
    department = _department(values.get("scope"))
    if values.get("scope") and (department is None or not department.active):
        problems.append(Detail("scope", say("unknown department", "部门不存在")))
    if role is not None and department is not None and access.needs_organisation_scope(role):
        problems.append(
            Detail(
                "scope",
                say(
                    "this role works only for the whole organisation; leave the department empty",
                    "该角色只能在全公司范围生效，请不要选择部门",
                ),
            )
        )
    until = values.get("valid_until")
    if role is not None:
        if role.temporary_only and until is None:
            problems.append(
                Detail(
                    "valid_until",
                    say(
                        "this role is granted only for a while: give an end date",
                        "该角色只能临时授予，请填写有效期",
                    ),
                )
            )
        if until is not None and role.max_days and (until - ctx.today).days > role.max_days:
            problems.append(
                Detail(
                    "valid_until",
                    say(
                        f"at most {role.max_days} days from today for this role",
                        f"该角色最长 {role.max_days} 天",
                    ),
                )
            )
    if until is not None and until <= ctx.today:
        problems.append(Detail("valid_until", say("must be after today", "须晚于今天")))
    if problems or role is None or subject is None:
        return problems
    broken = access.sod_conflicts(
        subject,
        role.permissions or [],
        department=department,
        include_subtree=values.get("subtree") is not False,
    )
    exception = (values.get("sod_exception_reason") or "").strip()
    if broken and not exception:
        problems.append(org.SodRefused(broken, "role", ctx.locale).details[0])
    elif exception and not broken:
        problems.append(
            Detail(
                "sod_exception_reason",
                say(
                    "no separation-of-duties rule stands in the way; leave this empty",
                    "本申请不违反职责分离规则，请留空",
                ),
            )
        )
    return problems


def grant_access_request(done: Approved) -> None:
    """Create the grant the request asked for (and the CFO's SoD exceptions, if any)."""
    submission, values = done.submission, done.values
    subject = subject_of(submission.submitter, values)
    role = _role(values.get("role"))
    if subject is None or role is None:
        raise Invalid("The person or the role of this request no longer exists.")
    department = _department(values.get("scope"))
    include_subtree = values.get("subtree") is not False
    reason = (values.get("sod_exception_reason") or "").strip()
    cfo = done.approvers.get("sod_exception")
    if reason and cfo is not None:
        until = values.get("valid_until")
        for rule in access.sod_conflicts(
            subject, role.permissions or [], department=department, include_subtree=include_subtree
        ):
            exception = SodException(
                rule=rule,
                user=subject,
                reason=reason,
                approved_by=cfo,
                approved_at=done.now,
                valid_until=end_of(until) if until else None,
                submission_id=submission.id,
            )
            db.session.add(exception)
            db.session.flush()
            audit.record(
                cfo,
                "sod.exception",
                object_type="sod_exception",
                object_id=exception.id,
                changes={
                    "rule": rule.key,
                    "user": subject.username,
                    "reason": reason,
                    "request": submission.number,
                },
            )
    period_from, period_until = _periods(values)
    until = values.get("valid_until")
    org.grant_role(
        None,
        subject,
        role,
        department=department,
        include_subtree=include_subtree,
        projects=list(values.get("projects") or []) or None,
        period_from=period_from,
        period_until=period_until,
        valid_until=end_of(until) if until else None,
        note=(values.get("reason") or "")[:2000] or None,
        request=submission,
    )


ACCESS_REQUEST = FormOutcome(ACCESS_REQUEST_FORM, check_access_request, grant_access_request)


# --- role changes ------------------------------------------------------------------------------
def _wanted_permissions(role: Role, values: dict[str, Any]) -> list[str]:
    added = set(values.get("add_permissions") or [])
    removed = set(values.get("remove_permissions") or [])
    return sorted((set(role.permissions or []) | added) - removed)


def check_role_change(ctx: Check) -> list[Detail]:
    say = lambda en, zh: _say(ctx.locale, en, zh)  # noqa: E731
    role = _role(ctx.values.get("role"))
    if role is None:
        return [Detail("role", say("unknown role", "角色不存在"))]
    added = set(ctx.values.get("add_permissions") or [])
    removed = set(ctx.values.get("remove_permissions") or [])
    known = {p.value for p in access.Permission}
    problems = [
        Detail("add_permissions", say(f"unknown permission {p}", f"未知权限 {p}"))
        for p in sorted((added | removed) - known)
    ]
    if not added and not removed:
        problems.append(
            Detail("add_permissions", say("name what to add or remove", "请填写要增加或去除的权限"))
        )
    if added & removed:
        problems.append(
            Detail(
                "remove_permissions",
                say("a permission cannot be added and removed", "同一权限不能既增加又去除"),
            )
        )
    if problems:
        return problems
    wanted = _wanted_permissions(role, ctx.values)
    for username, rules in access.sod_conflicts_of_role_change(role, wanted).items():
        refusal = org.SodRefused(rules, "add_permissions", ctx.locale).details[0]
        problems.append(Detail("add_permissions", f"{username}: {refusal.message}"))
    return problems


def apply_role_change(done: Approved) -> None:
    role = _role(done.values.get("role"))
    if role is None:
        raise Invalid("The role of this request no longer exists.")
    org.save_role(
        None,
        key=role.key,
        name_zh=role.name_zh,
        name_en=role.name_en,
        description=role.description,
        permissions=_wanted_permissions(role, done.values),
        existing=role,
        request=done.submission,
    )


ROLE_CHANGE = FormOutcome(ROLE_CHANGE_FORM, check_role_change, apply_role_change)
