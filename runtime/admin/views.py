"""Administration pages. Each handler: load (404) → authorize → validate → service → audit.

What a user sees here is limited by :mod:`quire.runtime.access`: a department manager
sees the people of their subtree, an administrator everyone, an auditor everything
read-only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import access, clock, org
from ..access import Permission as P
from ..auth import service as auth_service
from ..auth import sessions
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import Department, Role, RoleGrant, User, UserStatus
from ..pagination import paginate, parse_page_args
from .forms import DepartmentForm, GrantForm, RevokeForm, RoleForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _apply_errors(form, exc: Invalid) -> None:  # type: ignore[no-untyped-def]
    for detail in exc.details:
        field = getattr(form, detail.path, None)
        if field is not None:
            field.errors = [*field.errors, detail.message]
        else:
            flash(f"{detail.path}: {detail.message}", "error")


def _visible_departments():  # type: ignore[no-untyped-def]
    where = or_(
        access.scope_filter(current_user, P.USER_READ, Department),
        access.scope_filter(current_user, P.DEPARTMENT_MANAGE, Department),
    )
    return db.session.scalars(select(Department).where(where).order_by(Department.path)).all()


def _department_choices(blank: str | None = None) -> list[tuple[str, str]]:
    depts = db.session.scalars(
        select(Department).where(Department.active).order_by(Department.path)
    ).all()
    choices = [("", blank)] if blank is not None else []
    from flask_babel import get_locale

    locale = str(get_locale())
    return choices + [(d.code, "\u3000" * d.depth + f"{d.code} {d.name(locale)}") for d in depts]


def _user_choices(blank: str) -> list[tuple[str, str]]:
    users = db.session.scalars(
        select(User).where(User.status != UserStatus.LEFT).order_by(User.username)
    ).all()
    return [("", blank)] + [(u.username, f"{u.username} · {u.display_name}") for u in users]


def _user_or_none(username: str | None) -> User | None:
    return org.user_by_username(username) if username else None


# --- departments ----------------------------------------------------------------------
@bp.get("/departments")
@login_required
def departments():  # type: ignore[no-untyped-def]
    visible = _visible_departments()
    if not visible:
        raise Forbidden()
    return render_template(
        "admin/departments.html",
        departments=visible,
        can_manage=access.can(current_user, P.DEPARTMENT_MANAGE),
    )


@bp.route("/departments/new", methods=["GET", "POST"])
@bp.route("/departments/<code>", methods=["GET", "POST"])
@login_required
def department_edit(code: str | None = None):  # type: ignore[no-untyped-def]
    dept = org.department_by_code(code) if code else None
    if dept is not None:
        access.authorize(current_user, P.DEPARTMENT_MANAGE, dept, visible_with=[P.USER_READ])
    else:
        access.authorize(current_user, P.DEPARTMENT_MANAGE)
    form = DepartmentForm(obj=None)
    form.parent.choices = _department_choices(_("(none: top level)"))
    form.manager.choices = _user_choices(_("(none)"))
    if request.method == "GET" and dept is not None:
        form.code.data, form.name_zh.data, form.name_en.data = dept.code, dept.name_zh, dept.name_en
        form.parent.data = dept.parent.code if dept.parent else ""
        form.manager.data = dept.manager.username if dept.manager else ""
        form.cost_center.data, form.active.data = dept.cost_center, dept.active
    status = 200
    if form.validate_on_submit():
        try:
            saved = org.save_department(
                current_user,
                code=form.code.data,
                name_zh=form.name_zh.data,
                name_en=form.name_en.data,
                parent=org.department_by_code(form.parent.data) if form.parent.data else None,
                manager=_user_or_none(form.manager.data),
                cost_center=form.cost_center.data,
                active=form.active.data,
                existing=dept,
            )
        except Invalid as exc:
            _apply_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("Department %(code)s saved.", code=saved.code), "ok")
            return redirect(url_for("admin.departments"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/department_edit.html", form=form, department=dept), status


# --- users ------------------------------------------------------------------------------
@bp.get("/users")
@login_required
def users():  # type: ignore[no-untyped-def]
    where = or_(
        access.scope_filter(current_user, P.USER_READ, User),
        access.scope_filter(current_user, P.USER_MANAGE, User),
    )
    if not access.can(current_user, P.USER_READ) and not access.can(current_user, P.USER_MANAGE):
        raise Forbidden()
    stmt = select(User).where(where).options(selectinload(User.department))
    if request.args.get("department"):
        dept = org.department_by_code(request.args["department"])
        stmt = stmt.where(
            User.department_id.in_(
                select(Department.id).where(Department.path.startswith(dept.path, autoescape=True))
            )
        )
    if request.args.get("status") in {s.value for s in UserStatus}:
        stmt = stmt.where(User.status == UserStatus(request.args["status"]))
    if request.args.get("q"):
        needle = f"%{request.args['q'].lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.username).like(needle), func.lower(User.display_name).like(needle))
        )
    page, per_page = parse_page_args(request.args)
    result = paginate(stmt.order_by(User.username), page, per_page)
    return render_template(
        "admin/users.html",
        page=result,
        departments=_visible_departments(),
        can_manage=access.can(current_user, P.USER_MANAGE),
        statuses=list(UserStatus),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<username>/edit", methods=["GET", "POST"])
@login_required
def user_edit(username: str | None = None):  # type: ignore[no-untyped-def]
    user = org.user_by_username(username) if username else None
    if user is not None:
        access.authorize(current_user, P.USER_MANAGE, user, visible_with=[P.USER_READ])
    else:
        access.authorize(current_user, P.USER_MANAGE)
    form = UserForm()
    form.department.choices = _department_choices()
    form.manager.choices = _user_choices(_("(none)"))
    form.delegate.choices = _user_choices(_("(none)"))
    if user is not None:
        form.username.data = user.username
        if request.method == "GET":
            form.display_name.data, form.email.data = user.display_name, user.email
            form.department.data = user.department.code
            form.manager.data = user.manager.username if user.manager else ""
            form.status.data = user.status.value
            form.locale.data = user.locale or ""
            form.cost_center.data = user.cost_center or ""
            form.delegate.data = user.delegate.username if user.delegate else ""
            form.delegate_from.data, form.delegate_until.data = (
                user.delegate_from,
                user.delegate_until,
            )
    status = 200
    if form.validate_on_submit():
        if user is None and not form.password.data:
            form.password.errors = [_("An initial password is required.")]
            status = 422
        else:
            department = org.department_by_code(form.department.data)
            if not access.can(current_user, P.USER_MANAGE, department):
                form.department.errors = [_("You cannot place people in this department.")]
                status = 422
            else:
                try:
                    saved = org.save_user(
                        current_user,
                        username=form.username.data,
                        display_name=form.display_name.data,
                        department=department,
                        email=form.email.data,
                        manager=_user_or_none(form.manager.data),
                        status=UserStatus(form.status.data),
                        locale=form.locale.data or None,
                        cost_center=form.cost_center.data or None,
                        delegate=_user_or_none(form.delegate.data),
                        delegate_from=form.delegate_from.data,
                        delegate_until=form.delegate_until.data,
                        password=form.password.data or None,
                        existing=user,
                    )
                except Invalid as exc:
                    _apply_errors(form, exc)
                    status = 422
                else:
                    db.session.commit()
                    flash(_("User %(name)s saved.", name=saved.username), "ok")
                    return redirect(url_for("admin.user_detail", username=saved.username))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_edit.html", form=form, user=user), status


@bp.get("/users/<username>")
@login_required
def user_detail(username: str):  # type: ignore[no-untyped-def]
    user = org.user_by_username(username)
    access.authorize(current_user, P.USER_READ, user, visible_with=[P.USER_MANAGE])
    grant_form = _grant_form()
    return _render_user(user, grant_form)


def _grant_form() -> GrantForm:
    form = GrantForm(prefix="g")
    roles = db.session.scalars(select(Role).order_by(Role.key)).all()
    from flask_babel import get_locale

    form.role.choices = [(r.key, f"{r.key} · {r.name(str(get_locale()))}") for r in roles]
    form.department.choices = _department_choices(_("Whole organisation"))
    return form


def _render_user(user: User, grant_form: GrantForm, status: int = 200):  # type: ignore[no-untyped-def]
    grants = db.session.scalars(
        select(RoleGrant).where(RoleGrant.user_id == user.id).order_by(RoleGrant.id.desc())
    ).all()
    can_manage = access.can(current_user, P.USER_MANAGE, user)
    return (
        render_template(
            "admin/user_detail.html",
            user=user,
            grants=grants,
            grant_form=grant_form,
            revoke_form=RevokeForm(prefix="r"),
            can_manage=access.may_manage_grants_of(current_user, user),
            can_edit=can_manage,
            now=clock.now(),
            sign_ins=_sign_ins(user),
        ),
        status,
    )


@bp.post("/users/<username>/grants")
@login_required
def grant_create(username: str):  # type: ignore[no-untyped-def]
    user = org.user_by_username(username)
    access.authorize(current_user, P.USER_MANAGE, user, visible_with=[P.USER_READ])
    form = _grant_form()
    if not form.validate_on_submit():
        return _render_user(user, form, 422)
    department = org.department_by_code(form.department.data) if form.department.data else None
    try:
        org.grant_role(
            current_user,
            user,
            org.role_by_key(form.role.data),
            department=department,
            include_subtree=form.include_subtree.data,
            projects=[p.strip() for p in (form.projects.data or "").split(",") if p.strip()]
            or None,
            period_from=_month(form.period_from.data),
            period_until=_month(form.period_until.data),
            # Through the end of that day where the company is, not in UTC.
            valid_until=clock.end_of_day(form.valid_until.data) if form.valid_until.data else None,
            note=form.note.data or None,
        )
    except Invalid as exc:
        _apply_errors(form, exc)
        return _render_user(user, form, 422)
    db.session.commit()
    flash(_("Role granted."), "ok")
    return redirect(url_for("admin.user_detail", username=user.username))


def _month(value: str | None) -> date | None:
    if not value:
        return None
    year, month = value.split("-")
    return date(int(year), int(month), 1)


@bp.post("/grants/<int:grant_id>/revoke")
@login_required
def grant_revoke(grant_id: int):  # type: ignore[no-untyped-def]
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound()
    access.authorize(current_user, P.USER_MANAGE, grant.user, visible_with=[P.USER_READ])
    form = RevokeForm(prefix="r")
    form.validate_on_submit()
    org.revoke_grant(current_user, grant, form.reason.data or None)
    db.session.commit()
    flash(_("Grant revoked."), "ok")
    return redirect(url_for("admin.user_detail", username=grant.user.username))


# --- someone's sessions and tokens --------------------------------------------------------
def _sign_ins(user: User) -> dict[str, Any] | None:
    """Open sessions and working tokens, when the viewer may end them."""
    if not access.may_end_sign_ins_of(current_user, user):
        return None
    return {"sessions": sessions.open_sessions(user), "tokens": auth_service.open_tokens(user)}


def _sign_ins_of(username: str) -> User:
    user = org.user_by_username(username)
    access.authorize(current_user, P.USER_MANAGE, user, visible_with=[P.USER_READ])
    if not access.may_end_sign_ins_of(current_user, user):
        raise Forbidden(_("End your own sessions and tokens from your profile."))
    return user


@bp.post("/users/<username>/sign-ins/end")
@login_required
def user_sign_ins_end(username: str):  # type: ignore[no-untyped-def]
    user = _sign_ins_of(username)
    ended, revoked = auth_service.end_sign_ins_by_admin(current_user, user)
    db.session.commit()
    flash(
        _(
            "%(name)s is signed out: %(sessions)d sessions ended, %(tokens)d tokens revoked.",
            name=user.username,
            sessions=ended,
            tokens=revoked,
        ),
        "ok",
    )
    return redirect(url_for("admin.user_detail", username=user.username))


@bp.post("/users/<username>/sessions/<int:session_id>/end")
@login_required
def user_session_end(username: str, session_id: int):  # type: ignore[no-untyped-def]
    user = _sign_ins_of(username)
    record = next((s for s in sessions.open_sessions(user) if s.id == session_id), None)
    if record is None:
        raise NotFound()
    auth_service.end_session_by_admin(current_user, record)
    db.session.commit()
    flash(_("Session ended."), "ok")
    return redirect(url_for("admin.user_detail", username=user.username))


@bp.post("/users/<username>/tokens/<int:token_id>/revoke")
@login_required
def user_token_revoke(username: str, token_id: int):  # type: ignore[no-untyped-def]
    user = _sign_ins_of(username)
    token = next((t for t in auth_service.open_tokens(user) if t.id == token_id), None)
    if token is None:
        raise NotFound()
    auth_service.revoke_token(token, current_user, reason="revoked_by_admin")
    db.session.commit()
    flash(_("Token revoked."), "ok")
    return redirect(url_for("admin.user_detail", username=user.username))


# --- roles ------------------------------------------------------------------------------
@bp.get("/roles")
@login_required
def roles():  # type: ignore[no-untyped-def]
    if not access.may_view_roles(current_user):
        raise Forbidden()
    all_roles = db.session.scalars(select(Role).order_by(Role.key)).all()
    counts = dict(
        db.session.execute(
            select(RoleGrant.role_id, func.count())
            .where(RoleGrant.revoked_at.is_(None))
            .group_by(RoleGrant.role_id)
        ).all()
    )
    return render_template(
        "admin/roles.html",
        roles=all_roles,
        counts=counts,
        labels=access.PERMISSION_LABELS,
        can_manage=access.can(current_user, P.ROLE_MANAGE),
    )


@bp.route("/roles/new", methods=["GET", "POST"])
@bp.route("/roles/<key>", methods=["GET", "POST"])
@login_required
def role_edit(key: str | None = None):  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.ROLE_MANAGE)
    role = org.role_by_key(key) if key else None
    form = RoleForm()
    from flask_babel import get_locale

    zh = not str(get_locale()).startswith("en")
    form.permissions.choices = [
        (p.value, f"{access.PERMISSION_LABELS[p][0 if zh else 1]} ({p.value})") for p in P
    ]
    if role is not None:
        form.key.data = role.key
        if request.method == "GET":
            form.name_zh.data, form.name_en.data = role.name_zh, role.name_en
            form.description.data, form.permissions.data = role.description, list(role.permissions)
    status = 200
    if form.validate_on_submit():
        try:
            org.save_role(
                current_user,
                key=form.key.data,
                name_zh=form.name_zh.data,
                name_en=form.name_en.data,
                permissions=form.permissions.data or [],
                description=form.description.data,
                existing=role,
            )
        except Invalid as exc:
            _apply_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("Role saved."), "ok")
            return redirect(url_for("admin.roles"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/role_edit.html", form=form, role=role), status
