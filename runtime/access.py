"""Who may do what, and on which rows. The only place in Quire that decides.

Forms, reports, exports, the API and the designer ask :func:`can` for one object and
:func:`scope_filter` for lists; no view re-implements a check. A right comes from an
active :class:`~quire.runtime.models.RoleGrant` whose role carries the permission and
whose scope (department subtree, projects, fiscal periods) covers the row. ``can`` on an
object runs the same SQL predicate as ``scope_filter``, so the two can never disagree.

Each permission is either *global* (it is about the whole installation: designing
templates, data sources, roles, settings) and counts only from an unscoped grant, or
*scoped* (its objects belong to departments) and counts within the grant's scope; asked
without an object, a scoped permission means "somewhere" (menus, entry pages).
``tests/runtime/test_access_authority.py`` walks the code and fails on a decision made
anywhere else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    event,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, selectinload

from .errors import Forbidden, NotFound
from .extensions import affected_rows, db
from .models import AuditEvent, Department, RoleGrant, User, UserStatus, utcnow
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
    ACCESS_REVIEW = "access.review"


#: Permissions about the installation as a whole: only an unscoped grant gives them.
GLOBAL_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        Permission.TEMPLATE_DESIGN,
        Permission.DATASOURCE_MANAGE,
        Permission.ROLE_MANAGE,
        Permission.SETTINGS_MANAGE,
    }
)


def is_global(permission: Permission | str) -> bool:
    """Does ``permission`` concern the whole installation (never a department's rows)?"""
    return Permission(permission) in GLOBAL_PERMISSIONS


class _Organisation:
    """The whole organisation as an object: ``can(user, p, ORGANISATION)`` holds only with
    an unscoped grant of ``p`` (the audit events of no department, granting anywhere)."""

    def __repr__(self) -> str:
        return "ORGANISATION"


ORGANISATION = _Organisation()


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
    Permission.ACCESS_REVIEW: ("发起权限复核", "Run access reviews"),
}


#: Scope mapping of the models that live in this module's world; feature models
#: declare ``__scope__`` themselves.
_BUILTIN_SCOPES: dict[type, ScopeColumns] = {
    User: ScopeColumns(department="department_id"),
    Department: ScopeColumns(department="id"),
    #: An event belongs to the department of what it is about; None = the organisation.
    AuditEvent: ScopeColumns(department="department_id"),
}


def scope_of(model: type) -> ScopeColumns:
    spec = getattr(model, "__scope__", None) or _BUILTIN_SCOPES.get(model)
    if spec is None:
        raise TypeError(f"{model.__name__} declares no access scope")
    return spec


def grant_is_current(now: datetime | None = None) -> ColumnElement[bool]:
    """The SQL test of a grant that counts at ``now``: not revoked, inside its validity."""
    now = now or utcnow()
    return and_(
        RoleGrant.revoked_at.is_(None),
        RoleGrant.valid_from <= now,
        or_(RoleGrant.valid_until.is_(None), RoleGrant.valid_until > now),
    )


#: Session.info key of the grants already loaded in this unit of work (see `current_grants`).
_GRANTS_SEEN = "quire.access.current_grants"
#: How long loaded grants are reused within one unit of work, at most.
_GRANTS_FRESH_FOR = timedelta(seconds=30)


def current_grants(user: User, now: datetime | None = None) -> list[RoleGrant]:
    """The grants that count right now; expired and revoked ones are left out in SQL.

    A page asks many questions of the same person's grants; they are loaded once per request
    (or unit of work) and reused until anything is written (a flush), the transaction ends,
    the next request starts, or 30 seconds pass, so a change of grants is never missed."""
    if user is None or not getattr(user, "id", None) or user.status == UserStatus.LEFT:
        return []
    seen: dict[int, tuple[datetime, list[RoleGrant]]] | None = None
    if now is None:
        moment = utcnow()
        seen = db.session.info.setdefault(_GRANTS_SEEN, {})
        cached = seen.get(user.id)
        session = db.session()
        pending = session.new or session.dirty or session.deleted  # a query would flush them
        fresh = cached is not None and timedelta(0) <= moment - cached[0] < _GRANTS_FRESH_FOR
        if cached is not None and fresh and not pending:
            return list(cached[1])
    stmt = (
        select(RoleGrant)
        .where(RoleGrant.user_id == user.id, grant_is_current(now))
        .order_by(RoleGrant.id)
        .options(selectinload(RoleGrant.role), selectinload(RoleGrant.department))
    )
    grants = list(db.session.scalars(stmt))
    if seen is not None:
        seen[user.id] = (moment, grants)
    return list(grants)


def forget_loaded_grants(session: Session, *_: Any) -> None:
    """Drop the grants `current_grants` keeps for a unit of work (on every flush, commit,
    rollback, and at the start of each request)."""
    session.info.pop(_GRANTS_SEEN, None)


for _moment in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _moment, forget_loaded_grants)


def is_unscoped(grant: RoleGrant) -> bool:
    """Organisation-wide: no department, project or period limits."""
    return (
        grant.department_id is None
        and grant.projects is None
        and grant.period_from is None
        and grant.period_until is None
    )


def grants_for(user: User, permission: Permission) -> list[RoleGrant]:
    return [g for g in current_grants(user) if permission.value in (g.role.permissions or [])]


def permissions_of(user: User) -> set[Permission]:
    """Every permission the user may use somewhere (for menus; objects still need
    :func:`can`). A global permission counts only from an unscoped grant."""
    held: set[Permission] = set()
    for grant in current_grants(user):
        for value in grant.role.permissions or []:
            try:
                permission = Permission(value)
            except ValueError:
                continue
            if not is_global(permission) or is_unscoped(grant):
                held.add(permission)
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
    clauses = [
        _grant_predicate(g, model, spec)
        for g in grants_for(user, permission)
        if not is_global(permission) or is_unscoped(g)
    ]
    if include_own and spec.owner is not None and user is not None and user.id:
        clauses.append(getattr(model, spec.owner) == user.id)
    if not clauses:
        return false()
    return or_(*clauses)


def _signed_in(user: User | None) -> TypeGuard[User]:
    return (
        user is not None
        and bool(getattr(user, "is_authenticated", False))
        and bool(getattr(user, "id", None))
        and user.is_active
    )


def can(user: User | None, permission: Permission, obj: Any = None) -> bool:
    """May ``user`` exercise ``permission`` (on ``obj``, if given) right now?

    A global permission, or any permission asked for :data:`ORGANISATION`, needs an
    unscoped grant. A scoped permission without an object means "somewhere".
    """
    if not _signed_in(user):
        return False
    if obj is ORGANISATION or is_global(permission):
        unscoped = [g for g in grants_for(user, permission) if is_unscoped(g)]
        note_grant_use(unscoped[:1])
        return bool(unscoped)
    if obj is None:
        return bool(grants_for(user, permission))
    return _can_on(user, permission, obj)


def _can_on(user: User, permission: Permission, obj: Any) -> bool:
    """The object check: each of the user's grant predicates (those :func:`scope_filter`
    ORs together) and ownership, evaluated on the one row in one query, so that the
    grants that allowed it are known and marked used (:func:`note_grant_use`)."""
    model = type(obj)
    spec = scope_of(model)
    held = [g for g in grants_for(user, permission) if not is_global(permission) or is_unscoped(g)]
    tests: list[ColumnElement[bool]] = [_grant_predicate(g, model, spec) for g in held]
    if spec.owner is not None:
        tests.append(getattr(model, spec.owner) == user.id)
    if not tests:
        return False
    columns = [case((test, 1), else_=0) for test in tests]
    row = db.session.execute(select(*columns).where(model.id == obj.id)).first()
    if row is None:
        return False
    note_grant_use([g for g, hit in zip(held, row, strict=False) if hit])
    return any(row)


#: Where a session collects the grants that allowed a check, until the request ends.
GRANTS_USED = "quire.grants_used"


def _start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def note_grant_use(grants: Iterable[RoleGrant], now: datetime | None = None) -> None:
    """Remember that ``grants`` just allowed something: at most once a day per grant, and
    without a query (a grant already stamped today costs nothing; the others are stamped
    together in one UPDATE when the request ends, :func:`record_grant_use`)."""
    day = _start_of_day(now or utcnow())
    stale = {g.id for g in grants if g.last_used_at is None or g.last_used_at < day}
    if stale:
        db.session.info.setdefault(GRANTS_USED, set()).update(stale)


def record_grant_use(now: datetime | None = None) -> int:
    """Stamp ``last_used_at`` on the grants noted in this session (one guarded UPDATE:
    a grant stamped today by another request is left alone). Returns how many."""
    ids = db.session.info.pop(GRANTS_USED, None)
    if not ids:
        return 0
    now = now or utcnow()
    stamped = db.session.execute(
        update(RoleGrant)
        .where(
            RoleGrant.id.in_(sorted(ids)),
            or_(RoleGrant.last_used_at.is_(None), RoleGrant.last_used_at < _start_of_day(now)),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    from sqlalchemy.orm.attributes import set_committed_value

    for held in list(db.session.identity_map.values()):
        if isinstance(held, RoleGrant) and held.id in ids:
            set_committed_value(held, "last_used_at", now)
    return affected_rows(stamped)


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
    access: dict[str, str] = {key: resolve_access(template, key, roles, step) for key in keys}
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


# --- filling in and changing forms -----------------------------------------------------------


def may_fill_forms(user: User | None) -> bool:
    """May ``user`` fill in forms at all (somewhere)? Menus, blank workbooks, new forms."""
    return can(user, Permission.SUBMISSION_CREATE)


def may_file_for(user: User | None, department: Department) -> bool:
    """May ``user`` file a form for ``department``: their own, or one their grants cover."""
    if not may_fill_forms(user):
        return False
    assert user is not None
    return user.department_id == department.id or can(
        user, Permission.SUBMISSION_CREATE, department
    )


def is_submitter(user: User | None, submission: Any) -> bool:
    """Is ``user`` the person who filed ``submission``?"""
    return user is not None and getattr(user, "id", None) == submission.submitter_id


def may_edit_submission(user: User | None, submission: Any) -> bool:
    """Only the submitter changes (and submits) a form, and only while it is with them:
    a draft, or returned to them."""
    return _signed_in(user) and is_submitter(user, submission) and submission.editable


def may_amend(user: User | None, submission: Any) -> bool:
    """May ``user`` amend (变更) ``submission``, opening a revision that is routed again?

    Only its submitter: a revision is a new claim in their name, routed and decided like any
    other, so nobody files one for someone else. Finance corrects a claim while it is in
    review (the fields their step may edit, a return); once approved, the claimant amends.
    Whether the submission is in a state to be amended is the engine's question (409)."""
    return _signed_in(user) and is_submitter(user, submission) and may_fill_forms(user)


def may_upload_attachment(user: User | None, submission: Any = None) -> bool:
    """Uploading changes a form: someone who may edit ``submission``, or, for a form not
    saved yet, someone who may fill forms in. Readers (auditors, admins) upload nothing."""
    if submission is not None:
        return may_edit_submission(user, submission)
    return may_fill_forms(user)


def may_use_attachment(attachment: Any, submission: Any) -> bool:
    """A file counts on a submission only if its submitter uploaded it, or it already
    belongs to that submission; anyone else's file id is plain text."""
    return attachment.owner_id == submission.submitter_id or (
        attachment.submission_id is not None and attachment.submission_id == submission.id
    )


def may_download_attachment(user: User | None, attachment: Any) -> bool:
    """The uploader, and anyone who may read the submission the file belongs to."""
    if not _signed_in(user):
        return False
    assert user is not None
    if attachment.owner_id == user.id:
        return True
    if attachment.submission_id is None:
        return False
    from .models import Submission

    submission = db.session.get(Submission, attachment.submission_id)
    # A revision keeps its original's invoice files: whoever may read a revision made from
    # the file's submission (its approvers) may open them too.
    if submission is None:
        return False
    family, frontier = {submission.id}, {submission.id}
    while frontier and len(family) < 1000:
        frontier = (
            set(
                db.session.scalars(
                    select(Submission.id).where(Submission.supersedes_id.in_(frontier))
                )
            )
            - family
        )
        family |= frontier
    return bool(
        db.session.scalar(
            select(exists().where(Submission.id.in_(family), submission_filter(user)))
        )
    )


def owns_export(user: User | None, job: Any) -> bool:
    """An export's file is its requester's alone (its existence does not leak)."""
    return _signed_in(user) and user is not None and job.owner_id == user.id


def owns_phrase(user: User | None, phrase: Any) -> bool:
    """A saved phrase (常用语) is its owner's alone: only they use or delete it."""
    return _signed_in(user) and user is not None and phrase.user_id == user.id


# --- reading submissions ------------------------------------------------------------------------


def _not_others_drafts(user: User) -> ColumnElement[bool]:
    """A draft is its author's alone until it is submitted."""
    from .models import Submission, SubmissionStatus

    return or_(Submission.status != SubmissionStatus.DRAFT, Submission.submitter_id == user.id)


def _task_desk(user: User, on: Any) -> ColumnElement[bool]:
    """Tasks on ``user``'s desk, now or before: theirs, held for them, or of someone who
    delegates to them today."""
    from .models import ApprovalTask

    return or_(
        ApprovalTask.assignee_id.in_(acts_for(user, on) or [user.id]),
        ApprovalTask.on_behalf_of_id == user.id,
    )


def submission_filter(user: User | None, on: Any = None) -> ColumnElement[bool]:
    """The WHERE clause of submissions ``user`` may read: their own; and, once submitted,
    those in their ``submission.read`` scope, on their approval desk (including through
    a delegation) or copied to them (抄送). :func:`may_read_submission` runs this same
    clause for one row."""
    from .models import ApprovalTask, Submission, SubmissionCopy

    if not _signed_in(user):
        return false()
    assert user is not None
    on = on or _today()
    desk = Submission.id.in_(select(ApprovalTask.submission_id).where(_task_desk(user, on)))
    copied = Submission.id.in_(
        select(SubmissionCopy.submission_id).where(SubmissionCopy.user_id == user.id)
    )
    return or_(
        Submission.submitter_id == user.id,
        and_(
            _not_others_drafts(user),
            or_(scope_filter(user, Permission.SUBMISSION_READ, Submission), desk, copied),
        ),
    )


def own_submissions(user: User) -> ColumnElement[bool]:
    """The WHERE clause of the submissions ``user`` filed ("my forms")."""
    from .models import Submission

    return Submission.submitter_id == user.id


def may_read_submission(user: User | None, submission: Any, on: Any = None) -> bool:
    """May ``user`` see this submission? The same predicate as the list filter."""
    from .models import Submission

    stmt = select(exists().where(Submission.id == submission.id, submission_filter(user, on)))
    return bool(db.session.scalar(stmt))


def holds_task(user: User | None, submission: Any, *, on: Any = None) -> bool:
    """Is an open task of ``submission`` waiting for ``user`` right now (the approver's view
    of its fields)? The same predicate as the inbox."""
    from .models import ApprovalTask, TaskStatus

    if not _signed_in(user):
        return False
    stmt = select(
        exists().where(
            ApprovalTask.submission_id == submission.id,
            ApprovalTask.status == TaskStatus.OPEN,
            offered_tasks(user, on or _today()),
        )
    )
    return bool(db.session.scalar(stmt))


def report_rows(user: User) -> ColumnElement[bool]:
    """Submissions a report reader may count: in their ``report.read`` scope (or their
    own), never someone else's draft."""
    from .models import Submission

    return and_(scope_filter(user, Permission.REPORT_READ, Submission), _not_others_drafts(user))


def audit_events(user: User) -> ColumnElement[bool]:
    """Audit events ``user`` may read: those of the departments their ``audit.read``
    grants cover; the organisation's own events (roles, templates, settings) only with an
    unscoped grant."""
    return scope_filter(user, Permission.AUDIT_READ, AuditEvent)


def _today() -> Any:
    from . import clock

    return clock.today()


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
    if not _signed_in(user):
        return []
    ids = [user.id]
    for other in db.session.scalars(select(User).where(User.delegate_id == user.id)):
        if delegation_active(other, on):
            ids.append(other.id)
    return ids


def actionable_tasks(user: User | None, on: Any) -> ColumnElement[bool]:
    """The WHERE clause of approval tasks ``user`` may decide on day ``on``.

    A task handed to a delegate because of a standing delegation stays its holder's: it
    may be decided by the holder, or by whoever the holder delegates to *today*, so a
    withdrawn delegation stops working at once, also for tasks already handed over. Any
    other task is decided by its assignee or the assignee's delegate of the day. The inbox
    lists with this clause and :func:`may_act_on_task` checks one task with it.
    """
    from .models import ApprovalTask

    ids = acts_for(user, on) if user is not None else []
    if not ids:
        return false()
    return or_(
        and_(ApprovalTask.through_delegation.is_(True), ApprovalTask.on_behalf_of_id.in_(ids)),
        and_(ApprovalTask.through_delegation.is_not(True), ApprovalTask.assignee_id.in_(ids)),
    )


def offered_tasks(user: User | None, on: Any) -> ColumnElement[bool]:
    """The WHERE clause of the approval tasks offered to ``user`` on day ``on`` (the inbox,
    its count, "waiting for you" notifications, an approver's view of the fields): those they
    may decide (:func:`actionable_tasks`), except on forms they submitted themselves. Such a
    task reaches them through a delegation, and separation of duties refuses the decision,
    so it is never shown as theirs to decide."""
    from sqlalchemy.orm import aliased

    from .models import ApprovalTask, Submission

    if not _signed_in(user):
        return false()
    assert user is not None
    own = aliased(Submission)
    return and_(
        actionable_tasks(user, on),
        ~exists().where(own.id == ApprovalTask.submission_id, own.submitter_id == user.id),
    )


def may_act_on_task(user: User | None, task: Any, on: Any) -> bool:
    """May ``user`` decide, return or hand on this (open) task right now?"""
    from .models import ApprovalTask

    if not _signed_in(user) or task.id is None:
        return False
    stmt = select(exists().where(ApprovalTask.id == task.id, actionable_tasks(user, on)))
    return bool(db.session.scalar(stmt))


def was_sent_task(user: User | None, task: Any) -> bool:
    """Was ``task`` sent to ``user`` (they held it, or it was meant for them)? Only then may
    they be told where it went after it left them."""
    if not _signed_in(user):
        return False
    return user.id in (task.assignee_id, task.on_behalf_of_id)


def is_task_holder(user: User | None, task: Any) -> bool:
    """Is ``task`` in ``user``'s own hands (not one they were meant for that someone else
    holds)?"""
    return _signed_in(user) and user is not None and task.assignee_id == user.id


def acting_for(user: User, task: Any) -> User | None:
    """Whom ``user`` acts for when deciding ``task`` (None: it is their own task)."""
    if task.through_delegation and task.on_behalf_of is not None:
        return None if task.on_behalf_of_id == user.id else task.on_behalf_of
    return None if task.assignee_id == user.id else task.assignee


def own_tasks_first(user: User, tasks: list[Any]) -> list[Any]:
    """Of the tasks ``user`` may decide, those that are their own come first."""
    return sorted(tasks, key=lambda t: acting_for(user, t) is not None)


#: The four-eyes reason of :func:`separation_of_duties` (the engine names it in history).
DECIDED_ANOTHER_STEP = "decided another step of it"


def separation_of_duties(
    user: User, submission: Any, step: str | None = None, *, across_steps: bool = True
) -> str | None:
    """Why ``user`` must not decide ``step`` of ``submission`` (default: its current step),
    or None.

    Nobody decides on a form they submitted or changed themselves, on a change to their
    own rights, or on a second step of the same form in the same round (four eyes across
    steps: the earlier step's decision is someone else's to check).
    """
    from .models import ApprovalEvent, AuditEvent, Submission

    if submission.submitter_id == user.id:
        return "submitted it"
    if _rights_subject(submission) == user.username.lower() or _holds_changed_role(
        user, submission
    ):
        return "would get these rights"
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
    if edited:
        return "edited it"
    if not across_steps:
        return None
    round_ = db.session.scalar(
        select(func.count())
        .select_from(ApprovalEvent)
        .where(ApprovalEvent.submission_id == submission.id, ApprovalEvent.action == "submit")
    )
    step = step or (submission.current_step if isinstance(submission, Submission) else None)
    decided = db.session.scalar(
        select(
            exists().where(
                ApprovalEvent.submission_id == submission.id,
                ApprovalEvent.round == int(round_ or 0),
                ApprovalEvent.action.in_(("approve", "reject")),
                or_(ApprovalEvent.actor_id == user.id, ApprovalEvent.on_behalf_of_id == user.id),
                *([ApprovalEvent.step_key != step] if step else []),
            )
        )
    )
    return DECIDED_ANOTHER_STEP if decided else None


def hand_on_refusal(
    person: User, submission: Any, step: str, *, actor: User, holders: Iterable[int]
) -> str | None:
    """Why ``actor`` may not hand their task at ``step`` of ``submission`` to ``person``
    (转交 or 委托), or None. The hand-on action and the people picker both ask this, so the
    picker never offers someone the action would refuse."""
    if person.status == UserStatus.LEFT:
        return "has left"
    if person.id == actor.id:
        return "the task is already yours"
    if person.id in set(holders):
        return "already holds this step"
    conflict = separation_of_duties(person, submission, step)
    return f"{conflict} and cannot decide on it" if conflict else None


#: Forms whose approval changes someone's rights, and the field naming that person.
RIGHTS_FORMS = {"access-request": "for"}
#: Forms whose approval changes what a role can do, and the field naming the role: nobody
#: who holds that role decides on it.
ROLE_FORMS = {"role-change": "role"}


def _rights_subject(submission: Any) -> str | None:
    """The username whose rights ``submission`` would change (lower case), if any."""
    template = getattr(submission, "template", None)
    field = RIGHTS_FORMS.get(getattr(template, "key", None) or "")
    if field is None:
        return None
    named = (submission.data or {}).get(field)
    if isinstance(named, str) and named.strip():
        return named.strip().lower()
    submitter = getattr(submission, "submitter", None)
    return submitter.username.lower() if submitter is not None else None


def _holds_changed_role(user: User, submission: Any) -> bool:
    """Does ``user`` hold the role ``submission`` would change?"""
    template = getattr(submission, "template", None)
    field = ROLE_FORMS.get(getattr(template, "key", None) or "")
    key = (submission.data or {}).get(field) if field else None
    return bool(key) and any(g.role.key == key for g in current_grants(user))


def may_withdraw(user: User | None, submission: Any) -> bool:
    """Only the submitter takes their own form back."""
    return _signed_in(user) and is_submitter(user, submission)


def may_comment(user: User | None, submission: Any) -> bool:
    """The submitter, anyone who holds or held a task on it, and readers with approval
    rights over its department may add a comment."""
    if not _signed_in(user):
        return False
    assert user is not None
    if is_submitter(user, submission):
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


def may_add_signers(user: User | None, task: Any, on: Any) -> bool:
    """May ``user`` add signers (加签) to ``task``? Its holder may, while it is open; a signer
    who was added decides but does not add more."""
    from .models import TaskStatus

    return (
        task.status == TaskStatus.OPEN
        and task.added_to_id is None
        and may_act_on_task(user, task, on)
    )


def may_copy(user: User | None, submission: Any, on: Any = None) -> bool:
    """May ``user`` copy (抄送) a submission to others, who may then read it? Its submitter
    and whoever holds an open task on it, once it is submitted."""
    from .models import SubmissionStatus

    if not _signed_in(user) or submission.status == SubmissionStatus.DRAFT:
        return False
    return is_submitter(user, submission) or holds_task(user, submission, on=on)


def may_see_budget(user: User | None, department: Department) -> bool:
    """Budget figures of a department: its own staff (while filling a claim), and anyone
    who may file or read forms for it."""
    if not _signed_in(user):
        return False
    assert user is not None
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
    budgets or read reports for, those they were asked to fill in, and their own department's
    when they fill in their cost centre's lines of it (:func:`budget_line_refusal`)."""
    from .models import BudgetRoundEntry

    if user is None or not getattr(user, "id", None) or not user.is_active:
        return false()
    own_lines = (
        BudgetRoundEntry.department_id == user.department_id
        if (getattr(user, "cost_center", None) or "").strip()
        else false()
    )
    return or_(
        scope_filter(user, Permission.BUDGET_MANAGE, BudgetRoundEntry),
        scope_filter(user, Permission.REPORT_READ, BudgetRoundEntry),
        round_entries_asked_of(user),
        own_lines,
    )


def round_entries_asked_of(user: User) -> ColumnElement[bool]:
    """The departments' budgets ``user`` was asked to fill in (or that were escalated to them)."""
    from .models import BudgetRoundEntry

    return or_(BudgetRoundEntry.assignee_id == user.id, BudgetRoundEntry.escalated_to_id == user.id)


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


def budget_line_refusal(user: User | None, entry: Any, line: Any) -> str | None:
    """Why ``user`` may not change ``line`` of the department's budget in round ``entry``,
    or None when they may.

    Several people fill one department's budget: its submitter (the manager, who sees every
    line and submits) changes any line; the department's other people change the lines of
    their own cost centre (``User.cost_center``, their profile) and add lines for it. A line
    with no cost centre is the department's own, the submitter's. Nobody changes a budget
    that is not with its department (in review, decided) or whose round is closed.
    ``line`` is a mapping with the line's ``cost_center`` (None for a new line, which is
    the user's own cost centre's)."""
    if not _signed_in(user):
        return "Please sign in."
    assert user is not None
    submission = entry.submission
    if not entry.round.is_open:
        return "This budget round is closed."
    if submission is None or not submission.editable:
        return "This budget is not with its department: it can no longer be changed."
    if is_submitter(user, submission):
        return None
    if user.department_id != entry.department_id:
        return "Only the people of the department fill in its budget."
    own = (user.cost_center or "").strip()
    if not own:
        return "You have no cost centre of your own: the department's manager fills in its lines."
    centre = "" if line is None else str(line.get("cost_center") or "").strip()
    if line is not None and centre != own:
        return "You may change only the lines of your own cost centre."
    return None


def may_edit_budget_line(user: User | None, entry: Any, line: Any) -> bool:
    """May ``user`` change ``line`` (None: add a line) of the budget in ``entry``? See
    :func:`budget_line_refusal`."""
    return budget_line_refusal(user, entry, line) is None


# --- the organisation: grants, roles, delegates ---------------------------------------------------
# The organisation service (``runtime/org.py``) asks these before every change, so the
# admin pages, the role editor, the CLI, the HR sync and access requests obey one set of
# rules. ``actor`` None is the system itself (the command line on the server, the HR
# sync's schedule, an approved access request), which only the departed-user rule binds.


def grant_refusal(
    actor: User | None,
    grantee: User,
    role: Any,
    *,
    department: Department | None = None,
    include_subtree: bool = True,
    projects: list[str] | None = None,
    period_from: Any = None,
    period_until: Any = None,
) -> str | None:
    """Why ``actor`` may not give ``role`` to ``grantee`` in this scope, or None.

    - nobody gets rights after leaving;
    - nobody grants rights to themselves;
    - the grantor must manage the grantee (``user.manage`` over their department);
    - with ``user.manage`` for the whole organisation the grantor may grant any role in
      any scope (the administrator's power, itself separated by the rules above);
      otherwise they must hold every permission of the role themselves, with grants that
      cover the whole scope given (department subtree, projects, periods), and a global
      permission only from an unscoped grant.
    """
    if grantee.status == UserStatus.LEFT:
        return "left"
    if actor is None:
        return None
    if actor.id == grantee.id:
        return "self"
    if not can(actor, Permission.USER_MANAGE, grantee):
        return "not_manager"
    if can(actor, Permission.USER_MANAGE, ORGANISATION):
        return None
    wanted = _Scope(department, include_subtree, projects, period_from, period_until)
    for value in role.permissions or []:
        permission = Permission(value)
        held = grants_for(actor, permission)
        if is_global(permission):
            held = [g for g in held if is_unscoped(g)]
        if not any(_covers(g, wanted) for g in held):
            return "not_held"
    return None


def needs_organisation_scope(role: Any) -> bool:
    """A role with a global permission is useless in a department scope."""
    return any(is_global(p) for p in role.permissions or [] if p in Permission._value2member_map_)


def revoke_refusal(actor: User | None, grant: RoleGrant) -> str | None:
    """Why ``actor`` may not revoke ``grant``, or None: not their own, and only over
    people they manage."""
    if actor is None:
        return None
    if actor.id == grant.user_id:
        return "self"
    if not can(actor, Permission.USER_MANAGE, grant.user):
        return "not_manager"
    return None


def role_edit_refusal(actor: User | None, role: Any) -> str | None:
    """Why ``actor`` may not change what ``role`` can do, or None: role management is a
    global power, and nobody edits a role they hold (they would be giving themselves
    whatever they add)."""
    if actor is None:
        return None
    if not can(actor, Permission.ROLE_MANAGE):
        return "not_allowed"
    if role is not None and getattr(role, "id", None) is not None:
        if any(g.role_id == role.id for g in current_grants(actor)):
            return "holds_it"
    return None


def delegate_refusal(actor: User | None, user: User, delegate: User | None) -> str | None:
    """Why ``actor`` may not name ``delegate`` as ``user``'s delegate, or None: nobody
    names themselves anyone's delegate (it would hand them that person's desk)."""
    if delegate is None or actor is None:
        return None
    if delegate.id == user.id:
        return "self_delegate"
    if delegate.id == actor.id and user.delegate_id != actor.id:
        return "names_self"
    return None


def may_view_roles(user: User | None) -> bool:
    """The role list describes the whole organisation: role managers, and auditors whose
    grant is unscoped."""
    return can(user, Permission.ROLE_MANAGE) or can(user, Permission.AUDIT_READ, ORGANISATION)


def may_manage_grants_of(actor: User | None, user: User) -> bool:
    """Whether the grant controls show for ``user`` (never for one's own grants)."""
    return (
        _signed_in(actor)
        and actor is not None
        and actor.id != user.id
        and can(actor, Permission.USER_MANAGE, user)
    )


def may_end_sign_ins_of(actor: User | None, user: User) -> bool:
    """Whether ``actor`` may see and end ``user``'s sessions and tokens: a user manager whose
    grant reaches the person, and never for oneself (one's own are ended from the profile,
    where ending them cannot lock anyone else out or skip a check)."""
    return may_manage_grants_of(actor, user)


class _Scope:
    """The scope of a grant being made, to compare with the grantor's own grants."""

    def __init__(
        self,
        department: Department | None,
        include_subtree: bool,
        projects: list[str] | None,
        period_from: Any,
        period_until: Any,
    ) -> None:
        self.department = department
        self.include_subtree = include_subtree
        self.projects = projects or None
        self.period_from = period_from
        self.period_until = period_until


def _covers(grant: RoleGrant, wanted: _Scope) -> bool:
    """Does the grantor's ``grant`` reach everywhere the ``wanted`` scope does?"""
    if grant.department is not None:
        target = wanted.department
        if target is None or not target.path.startswith(grant.department.path):
            return False
        if not grant.include_subtree and (
            target.id != grant.department_id or wanted.include_subtree
        ):
            return False
    if grant.projects is not None:
        if wanted.projects is None or not set(wanted.projects) <= set(grant.projects):
            return False
    if grant.period_from is not None and (
        wanted.period_from is None or wanted.period_from < grant.period_from
    ):
        return False
    if grant.period_until is not None and (
        wanted.period_until is None or wanted.period_until > grant.period_until
    ):
        return False
    return True


# --- separation of duties rules and access requests -----------------------------------------------
# Declarative rules (``sod_rules``) say which permissions must not meet in one person; every
# grant (``org.grant_role``: admin pages, API, CLI, HR sync, approved requests) and every
# role change asks :func:`sod_conflicts` first. A current CFO-approved ``SodException`` for the
# person and rule lets that one rule through.


def scopes_meet(
    a: Department | None, a_subtree: bool, b: Department | None, b_subtree: bool
) -> bool:
    """Do two department scopes meet somewhere? No department is the whole organisation."""
    if a is None or b is None:
        return True
    if a.id == b.id:
        return True
    return (a_subtree and b.path.startswith(a.path)) or (b_subtree and a.path.startswith(b.path))


def sod_conflicts(
    user: User,
    permissions: Iterable[str],
    *,
    department: Department | None = None,
    include_subtree: bool = True,
    ignoring_role_id: int | None = None,
    now: datetime | None = None,
) -> list[Any]:
    """The enabled SoD rules that ``user`` would break by also holding ``permissions`` in
    this department scope (a new grant, or a role they hold gaining permissions), less the
    rules a current exception covers for them.

    A rule breaks when one side comes from the new permissions and the other from them or
    from the user's current grants; with ``same_department`` only grants whose scope meets
    the new one count (``ignoring_role_id``: grants of the role being changed are the new
    permissions themselves).
    """
    from .models import SodException, SodRule

    wanted = set(permissions)
    rules = list(db.session.scalars(select(SodRule).where(SodRule.enabled).order_by(SodRule.id)))
    if not rules or user is None or not getattr(user, "id", None):
        return []
    held: list[tuple[set[str], Department | None, bool]] = [
        (set(g.role.permissions or []), g.department, g.include_subtree)
        for g in current_grants(user, now)
        if ignoring_role_id is None or g.role_id != ignoring_role_id
    ]
    now = now or utcnow()
    excused = set(
        db.session.scalars(
            select(SodException.rule_id).where(
                SodException.user_id == user.id, current_sod_exceptions(now)
            )
        )
    )
    broken = []
    for rule in rules:
        if rule.id in excused:
            continue
        left, right = set(rule.left_permissions or []), set(rule.right_permissions or [])
        if wanted & left and wanted & right:
            broken.append(rule)
            continue
        other = right if wanted & left else left if wanted & right else None
        if other is None:
            continue
        if any(
            perms & other
            and (
                not rule.same_department or scopes_meet(department, include_subtree, dept, subtree)
            )
            for perms, dept, subtree in held
        ):
            broken.append(rule)
    return broken


def sod_conflicts_of_role_change(role: Any, permissions: Iterable[str]) -> dict[str, list[Any]]:
    """For a role about to carry ``permissions``: the SoD rules each current holder would
    break, by username (only holders with a conflict are listed)."""
    found: dict[str, list[Any]] = {}
    grants = db.session.scalars(
        select(RoleGrant)
        .where(RoleGrant.role_id == role.id, grant_is_current())
        .options(selectinload(RoleGrant.user), selectinload(RoleGrant.department))
    )
    for grant in grants:
        broken = sod_conflicts(
            grant.user,
            permissions,
            department=grant.department,
            include_subtree=grant.include_subtree,
            ignoring_role_id=role.id,
        )
        if broken:
            found.setdefault(grant.user.username, []).extend(broken)
    return found


def may_request_access_for(actor: User | None, subject: User) -> bool:
    """A person asks for rights for themself; a manager for their own people (their line
    reports, or the staff of departments they head); and someone who manages the person's
    rights for them. Nobody asks for someone who has left."""
    if not _signed_in(actor) or subject.status == UserStatus.LEFT:
        return False
    assert actor is not None
    if actor.id == subject.id or subject.manager_id == actor.id:
        return True
    department: Department | None = subject.department
    while department is not None:
        if department.manager_id == actor.id:
            return True
        department = department.parent
    return can(actor, Permission.USER_MANAGE, subject)


def may_read_grants_of(actor: User | None, subject: User) -> bool:
    """Whose grants one may list (``GET /api/v1/users/{username}/grants``): one's own, one's
    people's (as for requests), and anyone's within one's ``user.manage`` or ``audit.read``
    scope (administrators, auditors)."""
    if not _signed_in(actor):
        return False
    return (
        may_request_access_for(actor, subject)
        or can(actor, Permission.USER_MANAGE, subject)
        or can(actor, Permission.AUDIT_READ, subject)
    )


def may_manage_sod_rules(user: User | None) -> bool:
    """SoD rules concern the whole organisation: finance administrators (who design the
    finance controls) and system administrators."""
    return can(user, Permission.TEMPLATE_DESIGN) or can(user, Permission.ROLE_MANAGE)


def may_view_sod(user: User | None) -> bool:
    """The rules and the list of existing conflicts: their managers, and auditors with an
    unscoped grant (they export the conflicts as evidence)."""
    return may_manage_sod_rules(user) or can(user, Permission.AUDIT_READ, ORGANISATION)


def grants_ending_within(now: datetime, days: int) -> ColumnElement[bool]:
    """The WHERE clause of current grants with an end date in the next ``days`` days."""
    from datetime import timedelta

    return and_(
        grant_is_current(now),
        RoleGrant.valid_until.is_not(None),
        RoleGrant.valid_until <= now + timedelta(days=days),
    )


def current_sod_exceptions(now: datetime | None = None) -> ColumnElement[bool]:
    """The WHERE clause of SoD exceptions that still count."""
    from .models import SodException

    now = now or utcnow()
    return or_(SodException.valid_until.is_(None), SodException.valid_until > now)


# --- access reviews --------------------------------------------------------------------------
# Finance administrators and auditors (``access.review``) run review campaigns over the
# departments their grant covers; each grant is reviewed by someone other than its holder,
# normally the holder's manager. See :mod:`quire.runtime.reviews.service`.

#: Rights over finance data: a role carrying any of them is a *finance role*, whose grants
#: an "all finance roles" campaign reviews.
FINANCE_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        Permission.SUBMISSION_READ,
        Permission.SUBMISSION_APPROVE,
        Permission.REPORT_READ,
        Permission.REPORT_EXPORT,
        Permission.BUDGET_MANAGE,
        Permission.TEMPLATE_DESIGN,
        Permission.DATASOURCE_MANAGE,
        Permission.AUDIT_READ,
        Permission.ACCESS_REVIEW,
    }
)


def is_finance_role(role: Any) -> bool:
    """Does ``role`` give rights over finance data?"""
    return any(p in FINANCE_PERMISSIONS for p in role.permissions or [])


def finance_role_ids() -> list[int]:
    """The ids of every finance role (for the campaign's grant query)."""
    from .models import Role

    return [r.id for r in db.session.scalars(select(Role)) if is_finance_role(r)]


def may_run_reviews(user: User | None, department: Department | None = None) -> bool:
    """Start a campaign: over ``department``'s subtree (a department campaign), over the
    whole organisation when None (all finance roles). Without a department and asked for
    menus, use :func:`may_run_some_review`."""
    return can(user, Permission.ACCESS_REVIEW, department if department else ORGANISATION)


def may_run_some_review(user: User | None) -> bool:
    """Whether the campaign list offers "start a campaign" at all."""
    return can(user, Permission.ACCESS_REVIEW)


def may_manage_campaign(user: User | None, campaign: Any) -> bool:
    """Follow every item of a campaign, close it, export its evidence: ``access.review`` over
    the department it reviews (the organisation for finance-role campaigns)."""
    return can(user, Permission.ACCESS_REVIEW, campaign)


def review_items_of(user: User | None) -> ColumnElement[bool]:
    """The review items ``user`` is asked to decide: as the reviewer or the person it was
    escalated to, and never about their own grant."""
    from .models import AccessReviewItem

    if not _signed_in(user):
        return false()
    assert user is not None
    return and_(
        or_(AccessReviewItem.reviewer_id == user.id, AccessReviewItem.escalated_to_id == user.id),
        AccessReviewItem.grantee_id != user.id,
    )


def campaigns_visible_to(user: User | None) -> ColumnElement[bool]:
    """Campaigns ``user`` follows: those they may manage, and those with items for them."""
    from .models import AccessReviewCampaign, AccessReviewItem

    if not _signed_in(user):
        return false()
    assert user is not None
    asked = select(AccessReviewItem.campaign_id).where(review_items_of(user))
    return or_(
        scope_filter(user, Permission.ACCESS_REVIEW, AccessReviewCampaign),
        AccessReviewCampaign.id.in_(asked),
    )


def may_see_campaign(user: User | None, campaign: Any) -> bool:
    from .models import AccessReviewCampaign

    if not _signed_in(user):
        return False
    stmt = select(
        exists().where(AccessReviewCampaign.id == campaign.id, campaigns_visible_to(user))
    )
    return bool(db.session.scalar(stmt))


def may_decide_review_item(user: User | None, item: Any) -> bool:
    """The reviewer (or the person it was escalated to) decides an open item of an open
    campaign; nobody reviews their own grant."""
    from .models import AccessReviewItem

    if not _signed_in(user) or item.decision is not None or not item.campaign.is_open:
        return False
    stmt = select(exists().where(AccessReviewItem.id == item.id, review_items_of(user)))
    return bool(db.session.scalar(stmt))


def may_review_grant_of(reviewer: User | None, grantee: User) -> bool:
    """May ``reviewer`` be asked about ``grantee``'s grants? Someone else, still here."""
    return reviewer is not None and reviewer.status != UserStatus.LEFT and reviewer.id != grantee.id


def grants_readable_by(user: User | None) -> ColumnElement[bool]:
    """Grants (``role_grants`` rows) ``user`` may list in the access-review report and the
    hygiene page: those held by people in the departments where they may see people
    (``user.read``) or run access reviews."""
    if not _signed_in(user):
        return false()
    assert user is not None
    people = select(User.id).where(
        or_(
            scope_filter(user, Permission.USER_READ, User, include_own=False),
            scope_filter(user, Permission.ACCESS_REVIEW, User, include_own=False),
        )
    )
    return RoleGrant.user_id.in_(people)


def may_see_grant_hygiene(user: User | None) -> bool:
    """The dormant-accounts and unused-grants page: reviewers of access, somewhere."""
    return can(user, Permission.ACCESS_REVIEW)


def review_change_refusal(actor: User | None, grant: RoleGrant, item: Any) -> str | None:
    """Why ``actor`` may not revoke or narrow ``grant`` as the decision of review ``item``,
    or None: only the item's reviewer (or whom it was escalated to), only for the grant
    the item is about, never their own."""
    if actor is None:
        return None
    if item.grant_id != grant.id:
        return "not_reviewer"
    if actor.id == grant.user_id:
        return "revoke_self"
    if not may_decide_review_item(actor, item):
        return "not_reviewer"
    return None


def narrowing_problems(
    grant: RoleGrant,
    *,
    department: Department | None,
    include_subtree: bool,
    valid_until: datetime | None,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """``(field, sentence)`` for every way the new scope is not narrower than ``grant``'s:
    a department outside the current scope, a subtree added back, an end that is later
    than the current one or already past; and nothing narrower at all."""
    problems: list[tuple[str, str]] = []
    now = now or utcnow()
    narrower = False
    if department is not None and department.id != grant.department_id:
        current = grant.department
        inside = current is None or (
            grant.include_subtree and department.path.startswith(current.path)
        )
        if not inside:
            problems.append(("department", "must lie inside the grant's current scope"))
        narrower = True
    if include_subtree and not grant.include_subtree:
        problems.append(("include_subtree", "cannot add the subtree back"))
    elif not include_subtree and grant.include_subtree:
        narrower = True
    if valid_until is not None:
        if valid_until <= now:
            problems.append(("valid_until", "must be in the future (or revoke instead)"))
        elif grant.valid_until is not None and valid_until >= grant.valid_until:
            problems.append(("valid_until", "must be earlier than the current end"))
        narrower = True
    if not narrower and not problems:
        problems.append(("department", "choose a narrower department or an earlier end"))
    return problems


# --- oversight: who can see what ---------------------------------------------------------------
# The auditor's "who can see what" pages and the permission-changes report ask these. They
# enumerate with the same functions every decision uses (`current_grants`, `can`,
# `delegation_active`), so what the pages say is what access does.


def may_inspect_access(user: User | None) -> bool:
    """Who may open the who-can-see-what pages: auditors and those who manage people's
    rights (somewhere; what they see is limited by :func:`may_inspect`)."""
    return can(user, Permission.AUDIT_READ) or can(user, Permission.USER_MANAGE)


def may_inspect(viewer: User | None, obj: Any) -> bool:
    """May ``viewer`` see who holds what about ``obj`` (a person, or a department's forms
    and reports)? Within their ``audit.read`` or ``user.manage`` scope."""
    return can(viewer, Permission.AUDIT_READ, obj) or can(viewer, Permission.USER_MANAGE, obj)


def inspectable_people(viewer: User) -> ColumnElement[bool]:
    """The WHERE clause of the people whose rights ``viewer`` may inspect."""
    return or_(
        scope_filter(viewer, Permission.AUDIT_READ, User),
        scope_filter(viewer, Permission.USER_MANAGE, User),
    )


def inspectable_departments(viewer: User) -> ColumnElement[bool]:
    """The WHERE clause of the departments whose forms' and reports' audience ``viewer``
    may inspect."""
    return or_(
        scope_filter(viewer, Permission.AUDIT_READ, Department),
        scope_filter(viewer, Permission.USER_MANAGE, Department),
    )


def permission_change_events(user: User) -> ColumnElement[bool]:
    """Audit events a reader may list as permission changes: those of their ``audit.read``
    scope, and those about people whose rights they manage."""
    return or_(audit_events(user), scope_filter(user, Permission.USER_MANAGE, AuditEvent))


class HeldPermission:
    """One permission a person holds right now, and where it comes from: a grant (with its
    role, scope and validity), or a delegation (deciding ``acting_for``'s approval tasks)."""

    def __init__(
        self,
        permission: Permission,
        *,
        grant: RoleGrant | None = None,
        acting_for: User | None = None,
        counts: bool = True,
        valid_until: Any = None,
    ) -> None:
        self.permission = permission
        self.grant = grant
        self.acting_for = acting_for
        #: False: a global permission from a scoped grant, which gives nothing.
        self.counts = counts
        self.valid_until = valid_until

    @property
    def request_submission_id(self) -> int | None:
        """The access request the grant came from; None: granted without request."""
        return getattr(self.grant, "request_submission_id", None) if self.grant else None

    def __repr__(self) -> str:
        source = f"grant {self.grant.id}" if self.grant else f"for {self.acting_for}"
        return f"<HeldPermission {self.permission.value} from {source}>"


def delegating_to(user: User, on: Any) -> list[User]:
    """The people whose approval tasks ``user`` may decide on day ``on`` as their delegate."""
    found = db.session.scalars(select(User).where(User.delegate_id == user.id).order_by(User.id))
    return [other for other in found if delegation_active(other, on)]


def effective_permissions(user: User, on: Any = None) -> list[HeldPermission]:
    """Every permission ``user`` holds right now, one entry per grant that gives it (in grant
    order) and one per delegation they act under. Expired, revoked and departed people's
    grants count for nothing, as in :func:`can`."""
    held: list[HeldPermission] = []
    for grant in current_grants(user):
        for value in grant.role.permissions or []:
            try:
                permission = Permission(value)
            except ValueError:
                continue
            held.append(
                HeldPermission(
                    permission,
                    grant=grant,
                    counts=not is_global(permission) or is_unscoped(grant),
                    valid_until=grant.valid_until,
                )
            )
    if user.status != UserStatus.LEFT:
        for principal in delegating_to(user, on or _today()):
            held.append(
                HeldPermission(
                    Permission.SUBMISSION_APPROVE,
                    acting_for=principal,
                    valid_until=principal.delegate_until,
                )
            )
    return held


def people_who_can(permission: Permission, obj: Any = None) -> list[User]:
    """Everyone who may ``permission`` (on ``obj``) right now, by username: each holder of a
    current grant, asked :func:`can` exactly as their own request would be."""
    holders = db.session.scalars(
        select(User)
        .where(
            User.status != UserStatus.LEFT,
            User.id.in_(select(RoleGrant.user_id).where(grant_is_current())),
        )
        .order_by(User.username)
    )
    return [person for person in holders if can(person, permission, obj)]
