"""Organisation changes: departments, people and grants. Every change is audited.

Services take the acting user and raise domain errors; views and the CLI call them.
Who may grant, revoke, edit a role or name a delegate is decided by
:mod:`quire.runtime.access` and enforced here, so every path (admin pages, role editor,
``quire users create --role``, the HR sync, approved access requests) obeys the same
rules. Leaving goes through :func:`deprovision`, whichever path marks it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from . import access, audit
from .auth.passwords import hash_password
from .auth.service import end_sign_ins, reset_password, set_password
from .errors import Conflict, Detail, Forbidden, Invalid, NotFound
from .extensions import db
from .models import Department, Role, RoleGrant, User, UserStatus, utcnow

DEPARTMENT_FIELDS = ("code", "name_zh", "name_en", "parent", "manager", "cost_center", "active")
USER_FIELDS = (
    "display_name",
    "email",
    "department",
    "manager",
    "status",
    "locale",
    "delegate",
    "delegate_from",
    "delegate_until",
)


def _department_state(d: Department) -> dict[str, Any]:
    return {
        "code": d.code,
        "name_zh": d.name_zh,
        "name_en": d.name_en,
        "parent": d.parent.code if d.parent else None,
        "manager": d.manager.username if d.manager else None,
        "cost_center": d.cost_center,
        "active": d.active,
    }


#: `save_user`'s "leave this as it is".
UNCHANGED: Any = object()


def _user_state(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "email": u.email,
        "department": u.department.code if u.department else None,
        "manager": u.manager.username if u.manager else None,
        "status": u.status.value if u.status else None,
        "locale": u.locale,
        "cost_center": u.cost_center,
        "delegate": u.delegate.username if u.delegate else None,
        "delegate_from": u.delegate_from,
        "delegate_until": u.delegate_until,
    }


def department_by_code(code: str) -> Department:
    dept = db.session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"Department {code!r} not found.")
    return dept


def user_by_username(username: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(f"User {username!r} not found.")
    return user


def role_by_key(key: str) -> Role:
    role = db.session.scalar(select(Role).where(Role.key == key))
    if role is None:
        raise NotFound(f"Role {key!r} not found.")
    return role


def _refresh_paths(dept: Department) -> None:
    """Recompute the materialised path of ``dept`` and its whole subtree."""
    old = dept.path
    dept.path = (dept.parent.path if dept.parent else "/") + dept.code + "/"
    if old and old != dept.path:
        for child in db.session.scalars(
            select(Department).where(
                Department.path.startswith(old, autoescape=True), Department.id != dept.id
            )
        ):
            child.path = dept.path + child.path[len(old) :]


def save_department(
    actor: User | None,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    parent: Department | None = None,
    manager: User | None = None,
    cost_center: str | None = None,
    active: bool = True,
    existing: Department | None = None,
) -> Department:
    code = code.strip().upper()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        raise Invalid("Please check the form.", [Detail("code", "letters, digits, - and _ only")])
    clash = db.session.scalar(select(Department).where(Department.code == code))
    if clash is not None and clash is not existing:
        raise Invalid("Please check the form.", [Detail("code", f"{code} is already used")])
    if existing is not None and parent is not None and parent.path.startswith(existing.path):
        raise Invalid(
            "Please check the form.", [Detail("parent", "a department cannot sit under itself")]
        )
    before = _department_state(existing) if existing else {}
    dept = existing or Department(path="")
    dept.code, dept.name_zh, dept.name_en = code, name_zh.strip(), name_en.strip()
    dept.parent, dept.manager, dept.cost_center, dept.active = (
        parent,
        manager,
        cost_center or None,
        active,
    )
    if existing is None:
        db.session.add(dept)
    _refresh_paths(dept)
    db.session.flush()
    audit.record(
        actor,
        "department.update" if existing else "department.create",
        object_type="department",
        object_id=dept.code,
        changes=audit.changes_between(before, _department_state(dept)),
    )
    return dept


def save_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    department: Department,
    email: str | None = None,
    manager: User | None = None,
    status: UserStatus = UserStatus.ACTIVE,
    locale: str | None = None,
    delegate: User | None = None,
    delegate_from: date | None = None,
    delegate_until: date | None = None,
    password: str | None = None,
    existing: User | None = None,
    cost_center: Any = UNCHANGED,
) -> User:
    """Create or change a person. ``cost_center`` (whose budget lines they fill in) is kept
    as it is unless given; an empty value clears it."""
    username = username.strip()
    if existing is None:
        if (
            not username
            or len(username) > 64
            or not all(c.isalnum() or c in "._-" for c in username)
        ):
            raise Invalid(
                "Please check the form.", [Detail("username", "letters, digits, . _ - only")]
            )
        if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
            raise Invalid(
                "Please check the form.", [Detail("username", f"{username} is already used")]
            )
    if manager is not None and existing is not None and manager.id == existing.id:
        raise Invalid(
            "Please check the form.", [Detail("manager", "a user cannot manage themselves")]
        )
    if delegate is not None and existing is not None and delegate.id == existing.id:
        raise Invalid(
            "Please check the form.", [Detail("delegate", "a user cannot be their own delegate")]
        )
    if existing is not None:
        _refuse(access.delegate_refusal(actor, existing, delegate))
    elif delegate is not None and actor is not None and delegate.id == actor.id:
        _refuse("names_self")
    if delegate_from and delegate_until and delegate_until < delegate_from:
        raise Invalid("Please check the form.", [Detail("delegate_until", "ends before it starts")])
    before = _user_state(existing) if existing else {}
    user = existing or User(username=username)
    user.display_name = display_name.strip() or username
    user.email = email or None
    user.department = department
    user.manager = manager
    user.locale = locale or None
    if cost_center is not UNCHANGED:
        user.cost_center = (cost_center or "").strip() or None
    user.delegate, user.delegate_from, user.delegate_until = delegate, delegate_from, delegate_until
    leaving = (
        existing is not None and status == UserStatus.LEFT and existing.status != UserStatus.LEFT
    )
    if not leaving:
        user.status = status
    if password and existing is None:
        user.password_hash = hash_password(password)
    if existing is None:
        db.session.add(user)
    db.session.flush()
    if password and existing is not None:
        if actor is not None and actor.id != existing.id:
            reset_password(actor, user, password)
        else:
            set_password(user, password, actor)
    if existing is not None and before.get("status") != user.status.value:
        reroute_open_tasks(user)
    if leaving:
        deprovision(actor, user)
        before["status"] = UserStatus.LEFT.value
    changes = audit.changes_between(before, _user_state(user))
    if existing is None or changes:  # a bare password reset is audited as such, above
        audit.record(
            actor,
            "user.update" if existing else "user.create",
            object_type="user",
            object_id=user.username,
            changes=changes,
        )
    return user


def reroute_open_tasks(person: User) -> None:
    """Move a person's open approval tasks now (to their manager if they left, to their
    delegate if away), instead of waiting for the next sweep."""
    from .approvals.engine import reroute
    from .models import ApprovalTask, TaskStatus

    open_ids = db.session.scalars(
        select(ApprovalTask.id).where(
            ApprovalTask.assignee_id == person.id, ApprovalTask.status == TaskStatus.OPEN
        )
    ).all()
    for task_id in open_ids:
        reroute(task_id, utcnow())


def set_status(actor: User | None, user: User, status: UserStatus) -> None:
    """Change a person's status; leaving is :func:`deprovision`. Their open tasks move."""
    if user.status == status:
        return
    if status == UserStatus.LEFT:
        deprovision(actor, user)
        return
    before = user.status.value
    user.status = status
    db.session.flush()
    reroute_open_tasks(user)
    audit.record(
        actor,
        "user.status",
        object_type="user",
        object_id=user.username,
        changes={"status": [before, status.value]},
    )


def deprovision(actor: User | None, person: User, reason: str = "left the company") -> None:
    """Someone has left: at once, sign-in stops (every session), every grant and API token
    is revoked (each revocation audited), delegations to them end, and their open
    approval tasks go to their manager. The HR sync, the admin pages and
    ``quire users disable`` all come here."""
    if person.status != UserStatus.LEFT:
        before = person.status.value
        person.status = UserStatus.LEFT
        audit.record(
            actor,
            "user.status",
            object_type="user",
            object_id=person.username,
            changes={"status": [before, UserStatus.LEFT.value]},
        )
    for grant in db.session.scalars(
        select(RoleGrant).where(RoleGrant.user_id == person.id, RoleGrant.revoked_at.is_(None))
    ):
        _revoke(actor, grant, reason)
    end_sign_ins(person, actor, "left")
    for principal in db.session.scalars(select(User).where(User.delegate_id == person.id)):
        principal.delegate = None
        audit.record(
            actor,
            "user.update",
            object_type="user",
            object_id=principal.username,
            changes={"delegate": [person.username, None], "reason": reason},
        )
    db.session.flush()
    reroute_open_tasks(person)


#: What a refusal from :mod:`quire.runtime.access` means to the person who tried.
REFUSALS: dict[str, str] = {
    "self": "Nobody can grant rights to themselves; ask another administrator.",
    "revoke_self": "Ask another administrator to change your own rights.",
    "not_manager": "You cannot manage this person's rights.",
    "not_reviewer": "Only the reviewer asked about this grant can decide it.",
    "not_held": "You can only grant a role whose rights you hold yourself, within your own scope.",
    "left": "This person has left; no rights can be granted to them.",
    "holds_it": "Nobody can change a role they hold; ask another administrator.",
    "not_allowed": "You are not allowed to manage roles.",
    "names_self": "Nobody can name themselves someone's delegate.",
    "self_delegate": "A user cannot be their own delegate.",
}


def _refuse(code: str | None) -> None:
    if code is None:
        return
    if code == "left":
        raise Conflict(REFUSALS[code])
    raise Forbidden(REFUSALS[code])


class SodRefused(Invalid):
    """A grant (or role change) would break separation-of-duties rules; the sentence names
    them in the asking person's language, and ``rules`` keeps them for callers."""

    def __init__(self, rules: list[Any], path: str = "role", locale: str | None = None) -> None:
        from .i18n import current_locale

        locale = locale or current_locale()
        self.rules = rules
        names = "、".join(f"“{r.name(locale)}”" for r in rules)
        if locale.startswith("en"):
            names = ", ".join(f"“{r.name(locale)}”" for r in rules)
            sentence = (
                f"This would break the separation-of-duties rule {names}; it needs an "
                "exception approved by the CFO."
            )
        else:
            sentence = f"这会违反职责分离规则 {names}，需经财务总监批准例外。"
        super().__init__(sentence, [Detail(path, sentence)])


def refuse_sod_conflicts(
    user: User,
    permissions: list[str],
    *,
    department: Department | None = None,
    include_subtree: bool = True,
    path: str = "role",
) -> None:
    """Raise :class:`SodRefused` when ``user`` holding ``permissions`` there breaks a rule."""
    broken = access.sod_conflicts(
        user, permissions, department=department, include_subtree=include_subtree
    )
    if broken:
        raise SodRefused(broken, path)


def grant_role(
    actor: User | None,
    user: User,
    role: Role,
    *,
    department: Department | None = None,
    include_subtree: bool = True,
    projects: list[str] | None = None,
    period_from: date | None = None,
    period_until: date | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    note: str | None = None,
    request: Any = None,
) -> RoleGrant:
    """Give ``role`` to ``user`` in a scope and validity window, if ``actor`` may
    (:func:`quire.runtime.access.grant_refusal`) and no separation-of-duties rule forbids it
    (:func:`quire.runtime.access.sod_conflicts`). ``request`` is the approved access request
    the grant comes from; without one the audit says "granted without request"."""
    if period_from and period_until and period_until < period_from:
        raise Invalid("Please check the form.", [Detail("period_until", "ends before it starts")])
    if valid_from and valid_until and valid_until <= valid_from:
        raise Invalid("Please check the form.", [Detail("valid_until", "ends before it starts")])
    _refuse(
        access.grant_refusal(
            actor,
            user,
            role,
            department=department,
            include_subtree=include_subtree,
            projects=projects or None,
            period_from=period_from,
            period_until=period_until,
        )
    )
    refuse_sod_conflicts(
        user, list(role.permissions or []), department=department, include_subtree=include_subtree
    )
    grant = RoleGrant(
        user=user,
        role=role,
        department=department,
        include_subtree=include_subtree,
        projects=projects or None,
        period_from=period_from,
        period_until=period_until,
        valid_from=valid_from or utcnow(),
        valid_until=valid_until,
        granted_by_id=actor.id if actor else None,
        note=note,
        request_submission_id=request.id if request is not None else None,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        actor,
        "grant.create",
        object_type="role_grant",
        object_id=grant.id,
        changes={
            "user": user.username,
            "role": role.key,
            **grant.scope_summary(),
            "valid_from": grant.valid_from,
            "valid_until": grant.valid_until,
            **({"request": request.number} if request is not None else {"without_request": True}),
        },
    )
    return grant


def revoke_grant(
    actor: User | None, grant: RoleGrant, reason: str | None = None, *, review: Any = None
) -> None:
    """Take a grant back, if ``actor`` may (:func:`quire.runtime.access.revoke_refusal`),
    or, deciding an access review item (``review``), if they are its reviewer
    (:func:`quire.runtime.access.review_change_refusal`)."""
    if grant.revoked_at is not None:
        raise Conflict("This grant is already revoked.")
    if review is not None:
        _refuse(access.review_change_refusal(actor, grant, review))
    else:
        refusal = access.revoke_refusal(actor, grant)
        _refuse("revoke_self" if refusal == "self" else refusal)
    _revoke(actor, grant, reason, review=review)


def _review_mark(review: Any) -> dict[str, Any]:
    """What an audited grant change says about the access review it came from."""
    if review is None:
        return {}
    return {"campaign": review.campaign_id, "review_item": review.id}


def _revoke(actor: User | None, grant: RoleGrant, reason: str | None, review: Any = None) -> None:
    grant.revoked_at = utcnow()
    grant.revoked_by_id = actor.id if actor else None
    audit.record(
        actor,
        "grant.revoke",
        object_type="role_grant",
        object_id=grant.id,
        # The whole grant as it was, so the log and the permission-changes report say what
        # was taken away (role, scope, validity), not only that something was.
        changes={
            "user": grant.user.username,
            "role": grant.role.key,
            **grant.scope_summary(),
            "valid_until": grant.valid_until,
            "reason": reason,
            **_review_mark(review),
        },
    )


def narrow_grant(
    actor: User | None,
    grant: RoleGrant,
    *,
    department: Department | None = None,
    include_subtree: bool | None = None,
    valid_until: datetime | None = None,
    reason: str | None = None,
    review: Any = None,
) -> RoleGrant:
    """Shrink a grant where it stands: a department inside its current scope (or the same
    department without its subtree), and/or an earlier end. Never wider: the checks are
    :func:`quire.runtime.access.narrowing_problems`. Audited as ``grant.narrow`` (old →
    new), with the access review item it came from."""
    if grant.revoked_at is not None:
        raise Conflict("This grant is already revoked.")
    if review is not None:
        _refuse(access.review_change_refusal(actor, grant, review))
    else:
        refusal = access.revoke_refusal(actor, grant)
        _refuse("revoke_self" if refusal == "self" else refusal)
    subtree = grant.include_subtree if include_subtree is None else include_subtree
    problems = access.narrowing_problems(
        grant, department=department, include_subtree=subtree, valid_until=valid_until
    )
    if problems:
        raise Invalid("Please check the form.", [Detail(path, text) for path, text in problems])
    before = {**grant.scope_summary(), "valid_until": grant.valid_until}
    if department is not None:
        grant.department = department
    grant.include_subtree = subtree
    if valid_until is not None:
        grant.valid_until = valid_until
    db.session.flush()
    after = {**grant.scope_summary(), "valid_until": grant.valid_until}
    audit.record(
        actor,
        "grant.narrow",
        object_type="role_grant",
        object_id=grant.id,
        changes={
            "user": grant.user.username,
            "role": grant.role.key,
            **audit.changes_between(before, after),
            "reason": reason,
            **_review_mark(review),
        },
    )
    return grant


def save_role(
    actor: User | None,
    *,
    key: str,
    name_zh: str,
    name_en: str,
    permissions: list[str],
    description: str | None = None,
    existing: Role | None = None,
    request: Any = None,
) -> Role:
    """Create a role or change what it can do. Added permissions are checked against the
    separation-of-duties rules for every current holder. ``request`` is the approved
    ``role-change`` request it comes from; a change that adds permissions without one is
    audited as made without request (``without_request``), like a direct grant."""
    from .access import Permission

    _refuse(access.role_edit_refusal(actor, existing))
    unknown = [p for p in permissions if p not in {x.value for x in Permission}]
    if unknown:
        raise Invalid(
            "Please check the form.", [Detail("permissions", f"unknown permission {unknown[0]}")]
        )
    if existing is None and db.session.scalar(select(Role).where(Role.key == key)):
        raise Invalid("Please check the form.", [Detail("key", f"{key} is already used")])
    before = (
        {
            "name_zh": existing.name_zh,
            "name_en": existing.name_en,
            "permissions": sorted(existing.permissions),
        }
        if existing
        else {}
    )
    added = sorted(set(permissions) - set(existing.permissions or [])) if existing else []
    if added and existing is not None:
        conflicts = access.sod_conflicts_of_role_change(existing, sorted(set(permissions)))
        if conflicts:
            raise SodRefused(
                sorted({r for rules in conflicts.values() for r in rules}, key=lambda r: r.id),
                "permissions",
            )
    role = existing or Role(key=key)
    role.name_zh, role.name_en, role.description = name_zh, name_en, description
    role.permissions = sorted(set(permissions))
    if existing is None:
        db.session.add(role)
    db.session.flush()
    audit.record(
        actor,
        "role.update" if existing else "role.create",
        object_type="role",
        object_id=role.key,
        changes={
            **audit.changes_between(
                before,
                {"name_zh": role.name_zh, "name_en": role.name_en, "permissions": role.permissions},
            ),
            **({"request": request.number} if request is not None else {}),
            **({"without_request": True} if added and request is None else {}),
        },
    )
    return role
