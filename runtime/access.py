"""Who may do what, and on which rows. The only place in Quire that decides.

Forms, reports, exports, the API and the designer ask :func:`can` for one object and
:func:`scope_filter` for lists; no view re-implements a check. A right comes from an
active :class:`~quire.runtime.models.RoleGrant` whose role carries the permission and
whose scope (department subtree, projects, fiscal periods) covers the row. ``can`` on an
object runs the same SQL predicate as ``scope_filter``, so the two can never disagree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import selectinload

from .errors import Forbidden, NotFound
from .extensions import db
from .models import Department, RoleGrant, User, UserStatus, utcnow
from .models.base import ScopeColumns


class Permission(enum.StrEnum):
    """Every right Quire knows. Roles are sets of these."""

    TEMPLATE_DESIGN = "template.design"
    DATASOURCE_MANAGE = "datasource.manage"
    SUBMISSION_CREATE = "submission.create"
    SUBMISSION_READ = "submission.read"
    SUBMISSION_APPROVE = "submission.approve"
    REPORT_READ = "report.read"
    REPORT_EXPORT = "report.export"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    PERSONNEL_MANAGE = "personnel.manage"
    ROLE_MANAGE = "role.manage"
    DEPARTMENT_MANAGE = "department.manage"
    AUDIT_READ = "audit.read"
    SETTINGS_MANAGE = "settings.manage"
    BUDGET_MANAGE = "budget.manage"


PERMISSION_LABELS: dict[Permission, tuple[str, str]] = {
    Permission.TEMPLATE_DESIGN: ("设计模板", "Design templates"),
    Permission.DATASOURCE_MANAGE: ("管理数据源", "Manage data sources"),
    Permission.SUBMISSION_CREATE: ("填报", "Fill in forms"),
    Permission.SUBMISSION_READ: ("查看填报", "Read submissions"),
    Permission.SUBMISSION_APPROVE: ("审批", "Approve"),
    Permission.REPORT_READ: ("查看报表", "Read reports"),
    Permission.REPORT_EXPORT: ("导出报表", "Export reports"),
    Permission.USER_READ: ("查看用户", "See users"),
    Permission.USER_MANAGE: ("管理用户", "Manage users and grants"),
    Permission.PERSONNEL_MANAGE: ("维护人事状态", "Maintain personnel status"),
    Permission.ROLE_MANAGE: ("管理角色", "Manage roles"),
    Permission.DEPARTMENT_MANAGE: ("管理部门", "Manage departments"),
    Permission.AUDIT_READ: ("查看审计日志", "Read the audit log"),
    Permission.SETTINGS_MANAGE: ("系统设置", "Manage settings"),
    Permission.BUDGET_MANAGE: ("管理预算编制与成本分摊", "Run budget rounds and cost allocation"),
}


#: Scope mapping of the models that live in this module's world; feature models
#: declare ``__scope__`` themselves.
_BUILTIN_SCOPES: dict[type, ScopeColumns] = {
    User: ScopeColumns(department="department_id"),
    Department: ScopeColumns(department="id"),
}


def scope_of(model: type) -> ScopeColumns:
    spec = getattr(model, "__scope__", None) or _BUILTIN_SCOPES.get(model)
    if spec is None:
        raise TypeError(f"{model.__name__} declares no access scope")
    return spec


def current_grants(user: User, now: datetime | None = None) -> list[RoleGrant]:
    """The grants that count right now; expired and revoked ones are left out in SQL."""
    now = now or utcnow()
    if user is None or not getattr(user, "id", None) or user.status == UserStatus.LEFT:
        return []
    stmt = (
        select(RoleGrant)
        .where(
            RoleGrant.user_id == user.id,
            RoleGrant.revoked_at.is_(None),
            RoleGrant.valid_from <= now,
            or_(RoleGrant.valid_until.is_(None), RoleGrant.valid_until > now),
        )
        .options(selectinload(RoleGrant.role), selectinload(RoleGrant.department))
    )
    return list(db.session.scalars(stmt))


def grants_for(user: User, permission: Permission) -> list[RoleGrant]:
    return [g for g in current_grants(user) if permission.value in (g.role.permissions or [])]


def permissions_of(user: User) -> set[Permission]:
    """Every permission the user holds anywhere (for menus; objects still need :func:`can`)."""
    held: set[Permission] = set()
    for grant in current_grants(user):
        for value in grant.role.permissions or []:
            try:
                held.add(Permission(value))
            except ValueError:
                continue
    return held


def _grant_predicate(grant: RoleGrant, model: type, spec: ScopeColumns) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if grant.department_id is not None:
        if spec.department is None:
            return false()
        column = getattr(model, spec.department)
        if grant.include_subtree and grant.department is not None:
            subtree = select(Department.id).where(
                Department.path.startswith(grant.department.path, autoescape=True)
            )
            parts.append(column.in_(subtree))
        else:
            parts.append(column == grant.department_id)
    if grant.projects is not None:
        if spec.project is None:
            return false()
        parts.append(getattr(model, spec.project).in_(list(grant.projects)))
    if grant.period_from is not None or grant.period_until is not None:
        if spec.period is None:
            return false()
        column = getattr(model, spec.period)
        if grant.period_from is not None:
            parts.append(column >= grant.period_from)
        if grant.period_until is not None:
            parts.append(column <= _end_of_month(grant.period_until))
    return and_(true(), *parts)


def _end_of_month(day: Any) -> Any:
    import calendar

    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=last)


def scope_filter(
    user: User, permission: Permission, model: type, *, include_own: bool = True
) -> ColumnElement[bool]:
    """A WHERE clause limiting ``model`` rows to those ``user`` may ``permission``.

    Combine it with any query: ``select(Submission).where(scope_filter(u, READ, Submission))``.
    With no grant and no ownership the clause is FALSE, never "everything".
    """
    spec = scope_of(model)
    clauses = [_grant_predicate(g, model, spec) for g in grants_for(user, permission)]
    if include_own and spec.owner is not None and user is not None and user.id:
        clauses.append(getattr(model, spec.owner) == user.id)
    if not clauses:
        return false()
    return or_(*clauses)


def can(user: User | None, permission: Permission, obj: Any = None) -> bool:
    """May ``user`` exercise ``permission`` (on ``obj``, if given) right now?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if obj is None:
        return bool(grants_for(user, permission))
    model = type(obj)
    predicate = scope_filter(user, permission, model)
    stmt = select(exists().where(model.id == obj.id, predicate))
    return bool(db.session.scalar(stmt))


def authorize(
    user: User | None,
    permission: Permission,
    obj: Any = None,
    *,
    visible_with: Iterable[Permission] = (),
) -> None:
    """Raise unless allowed: 404 when the object is outside every scope the user has for
    ``visible_with`` (so its existence does not leak), 403 when it is visible but the
    action is not allowed."""
    if can(user, permission, obj):
        return
    if obj is not None and not any(can(user, p, obj) for p in visible_with):
        raise NotFound()
    raise Forbidden()


def roles_in(user: User | None, department: Department) -> set[str]:
    """Role keys the user holds for rows of ``department`` (templates grant access by role)."""
    if user is None or not getattr(user, "id", None) or user.status == UserStatus.LEFT:
        return set()
    spec = scope_of(Department)
    roles: set[str] = set()
    for grant in current_grants(user):
        if grant.role.key in roles:
            continue
        if grant.department_id is None:
            roles.add(grant.role.key)
            continue
        predicate = _grant_predicate(grant, Department, spec)
        if db.session.scalar(select(exists().where(Department.id == department.id, predicate))):
            roles.add(grant.role.key)
    return roles


def field_access(
    user: User | None,
    template: Any,
    *,
    department: Department,
    submitter_id: int | None,
    step: str | None,
    is_approver: bool = False,
) -> dict[str, str]:
    """Access level (hidden/read/edit/masked) of every field of ``template`` for ``user``.

    ``step`` is ``draft`` while the form is with its submitter, the open step's key in
    review, and None once decided. The meaning of a template's permissions lives in
    :func:`quire.designer.permissions.resolve_access`; this adds who the user is.
    A table column a permission names on its own (``lines.category``) gets an entry of its
    own, so a step may let its approvers correct one column of existing lines.
    ``is_approver`` says the user holds an open task of the current step (or decides for
    someone who does).
    """
    from quire.designer.permissions import named_columns, resolve_access

    roles = roles_in(user, department)
    if user is not None and submitter_id is not None and user.id == submitter_id:
        roles.add("submitter")
    if is_approver:
        roles.add("approver")
    keys = [f.key for f in template.fields] + named_columns(template)
    access = {key: resolve_access(template, key, roles, step) for key in keys}
    if not may_edit_at(roles, step):
        access = {k: ("read" if v == "edit" else v) for k, v in access.items()}
    return access


def may_edit_at(roles: set[str], step: str | None) -> bool:
    """Edits happen where the form is: with its submitter while it is a draft (or returned),
    and with the approvers of the step it waits at, for the fields their step grants ``edit``.
    Nobody edits a decided form."""
    if step == "draft":
        return "submitter" in roles
    return step is not None and "approver" in roles


# --- approvals -------------------------------------------------------------------------------
# Who may act on an approval task, withdraw or comment, and who must not decide at all
# (separation of duties). The approval engine asks these at the moment of every action.


def delegation_active(user: User, on: Any) -> bool:
    """Does ``user`` currently hand their approvals to a delegate?

    Either they are on leave with a delegate named, or today falls inside the delegation
    window they set (planned leave); an open-ended window counts from its start.
    """
    if user.delegate_id is None or user.status == UserStatus.LEFT:
        return False
    start, end = user.delegate_from, user.delegate_until
    if start is None and end is None:
        return user.status == UserStatus.ON_LEAVE
    return (start is None or start <= on) and (end is None or on <= end)


def acts_for(user: User, on: Any) -> list[int]:
    """Ids of the people whose approval tasks ``user`` may decide today: themself, plus
    everyone who has delegated to them."""
    if user is None or not getattr(user, "id", None) or not user.is_active:
        return []
    ids = [user.id]
    for other in db.session.scalars(select(User).where(User.delegate_id == user.id)):
        if delegation_active(other, on):
            ids.append(other.id)
    return ids


def may_act_on_task(user: User | None, task: Any, on: Any) -> bool:
    """May ``user`` decide, return or hand on this (open) task right now?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return task.assignee_id in acts_for(user, on)


def separation_of_duties(user: User, submission: Any) -> str | None:
    """Why ``user`` must not approve ``submission``, or None: nobody decides on a form
    they submitted or changed themselves."""
    from .models import AuditEvent

    if submission.submitter_id == user.id:
        return "submitted it"
    edited = db.session.scalar(
        select(
            exists().where(
                AuditEvent.object_type == "submission",
                AuditEvent.object_id == str(submission.id),
                AuditEvent.actor_id == user.id,
                AuditEvent.action.in_(("submission.create", "submission.update")),
            )
        )
    )
    return "edited it" if edited else None


def may_withdraw(user: User | None, submission: Any) -> bool:
    """Only the submitter takes their own form back."""
    return user is not None and getattr(user, "id", None) == submission.submitter_id


def may_comment(user: User | None, submission: Any) -> bool:
    """The submitter, anyone who holds or held a task on it, and readers with approval
    rights over its department may add a comment."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if submission.submitter_id == user.id:
        return True
    from .models import ApprovalTask

    held = db.session.scalar(
        select(
            exists().where(
                ApprovalTask.submission_id == submission.id,
                or_(ApprovalTask.assignee_id == user.id, ApprovalTask.on_behalf_of_id == user.id),
            )
        )
    )
    return bool(held) or can(user, Permission.SUBMISSION_APPROVE, submission)


def may_see_budget(user: User | None, department: Department) -> bool:
    """Budget figures of a department: its own staff (while filling a claim), and anyone
    who may file or read forms for it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return (
        user.department_id == department.id
        or can(user, Permission.SUBMISSION_CREATE, department)
        or can(user, Permission.SUBMISSION_READ, department)
    )


# --- data sources ---------------------------------------------------------------------------


def may_manage_source(user: User | None, key: str, *, hr_feed: str) -> bool:
    """Data sources are the finance administrators'; the HR feed (the source the HR sync
    reads, `hr_feed`) creates users, moves people and hands out roles, so only a system
    administrator may configure it."""
    if key == hr_feed:
        return can(user, Permission.SETTINGS_MANAGE)
    return can(user, Permission.DATASOURCE_MANAGE)


def may_manage_some_source(user: User | None) -> bool:
    """Whether the data sources pages open at all (finance admins, and system administrators
    for the HR feed)."""
    return can(user, Permission.DATASOURCE_MANAGE) or can(user, Permission.SETTINGS_MANAGE)


def authorize_source(user: User | None, key: str, *, hr_feed: str) -> None:
    if not may_manage_source(user, key, hr_feed=hr_feed):
        raise Forbidden()


# --- operations ------------------------------------------------------------------------------


def may_scrape_metrics(remote_addr: str | None, authorization: str, config: Any) -> bool:
    """``/metrics`` answers a scraper on this machine, or one that sends the configured
    ``QUIRE_METRICS_TOKEN`` as a bearer token; nobody else learns it exists."""
    import hmac
    import ipaddress

    token = config.get("METRICS_TOKEN")
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        return ipaddress.ip_address(remote_addr or "").is_loopback
    except ValueError:
        return False


# --- budget rounds and cost allocation -------------------------------------------------------
# Finance runs budget rounds and cost allocation (``budget.manage``); departments fill their
# part of a round; report readers follow rounds and allocations within their scope.


def may_manage_budgets(user: User | None, obj: Any = None) -> bool:
    """Open, return within and close budget rounds; keep allocation rules and run them."""
    return can(user, Permission.BUDGET_MANAGE, obj)


def round_entries_filter(user: User | None) -> ColumnElement[bool]:
    """The departments' parts of budget rounds a user follows: those in the scope they manage
    budgets or read reports for, and those they were asked to fill in."""
    from .models import BudgetRoundEntry

    if user is None or not getattr(user, "id", None) or not user.is_active:
        return false()
    return or_(
        scope_filter(user, Permission.BUDGET_MANAGE, BudgetRoundEntry),
        scope_filter(user, Permission.REPORT_READ, BudgetRoundEntry),
        BudgetRoundEntry.assignee_id == user.id,
        BudgetRoundEntry.escalated_to_id == user.id,
    )


def may_see_round_entry(user: User | None, entry: Any) -> bool:
    from .models import BudgetRoundEntry

    predicate = round_entries_filter(user)
    stmt = select(exists().where(BudgetRoundEntry.id == entry.id, predicate))
    return bool(db.session.scalar(stmt))


def may_fill_round_entry(user: User | None, entry: Any) -> bool:
    """The person asked (or the one it was escalated to), or anyone who files forms for the
    department, starts the department's budget; its submitter then fills and submits it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.id in (entry.assignee_id, entry.escalated_to_id):
        return True
    return user.department_id == entry.department_id or can(
        user, Permission.SUBMISSION_CREATE, entry.department
    )
