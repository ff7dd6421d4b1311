"""Home, profile (password, language, API tokens) and the health check."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from pydantic import BaseModel
from sqlalchemy import select, text
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .. import access, audit, jobs
from ..auth import service as auth_service
from ..auth import sessions
from ..errors import Invalid, NotFound
from ..extensions import db
from ..i18n import LOCALE_COOKIE, LOCALES, PICKED_BEFORE_SIGN_IN
from ..models import ApiToken, UserSession
from ..openapi import PUBLIC, answers, spec

bp = Blueprint("web", __name__)


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    days = IntegerField(
        _l("Valid for (days)"), default=90, validators=[Optional(), NumberRange(1, 730)]
    )


class LocaleForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[("zh_CN", "中文"), ("en", "English")])


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    from ..forms.views import fillable_forms

    return render_template("web/home.html", fillable_forms=fillable_forms)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():  # type: ignore[no-untyped-def]
    password_form = PasswordForm(prefix="pw")
    token_form = TokenForm(prefix="tok")
    locale_form = LocaleForm(prefix="loc", locale=current_user.locale or "zh_CN")
    new_token = None
    status = 200
    if request.method == "POST" and request.form.get("action") == "password":
        if password_form.validate_on_submit():
            try:
                auth_service.change_password(
                    current_user,
                    password_form.current_password.data,
                    password_form.new_password.data,
                    keep=sessions.current(),
                )
            except Invalid as exc:
                for detail in exc.details:
                    field = getattr(password_form, detail.path, None)
                    if field is not None:
                        field.errors = [*field.errors, _(detail.message)]
                status = 422
            else:
                db.session.commit()
                from flask_login import login_user

                login_user(current_user._get_current_object())  # keep this session only
                flash(_("Password changed. Other sessions have been signed out."), "ok")
                return redirect(url_for("web.profile"))
        else:
            status = 422
    elif request.method == "POST" and request.form.get("action") == "token":
        if token_form.validate_on_submit():
            _token, new_token = auth_service.create_token(
                current_user, token_form.name.data, days=token_form.days.data or None
            )
            db.session.commit()
        else:
            status = 422
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    return (
        render_template(
            "web/profile.html",
            password_form=password_form,
            token_form=token_form,
            locale_form=locale_form,
            tokens=tokens,
            new_token=new_token,
            open_sessions=sessions.open_sessions(current_user),
            this_session=sessions.current(),
            my_grants=access.current_grants(current_user),
            may_request_access=access.may_fill_forms(current_user),
        ),
        status,
    )


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        raise NotFound()
    auth_service.revoke_token(token, current_user)
    db.session.commit()
    flash(_("Token revoked."), "ok")
    return redirect(url_for("web.profile"))


@bp.post("/profile/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):  # type: ignore[no-untyped-def]
    """Sign out one of my sessions elsewhere (a shared computer, a lost phone)."""
    record = db.session.get(UserSession, session_id)
    if record is None or record.user_id != current_user.id:
        raise NotFound()
    sessions.end(record, "revoked")
    audit.record(current_user, "auth.session_end", object_type="user_session", object_id=record.id)
    db.session.commit()
    flash(_("Session signed out."), "ok")
    return redirect(url_for("web.profile"))


@bp.post("/locale")
def set_locale():  # type: ignore[no-untyped-def]
    choice = request.form.get("locale") or request.form.get("loc-locale")
    if choice not in LOCALES:
        choice = "zh_CN"
    if current_user.is_authenticated:
        before = current_user.locale
        current_user.locale = choice
        audit.record(
            current_user,
            "user.locale",
            object_type="user",
            object_id=current_user.username,
            changes={"locale": [before, choice]},
        )
        db.session.commit()
    else:
        session[PICKED_BEFORE_SIGN_IN] = choice
    response = redirect(request.referrer if _same_site(request.referrer) else url_for("web.home"))
    response.set_cookie(
        LOCALE_COOKIE,
        choice,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


def _same_site(url: str | None) -> bool:
    from urllib.parse import urlsplit

    if not url:
        return False
    parts = urlsplit(url)
    return parts.netloc == request.host and parts.scheme in {"http", "https"}


class Health(BaseModel):
    #: ok, or degraded when the database or the job queue is unreachable.
    status: str
    database: str
    jobs: str


@bp.get("/healthz")
@spec.validate(resp=answers(Health, also={503: Health}), tags=["meta"], security=PUBLIC)
def healthz():  # type: ignore[no-untyped-def]
    """Database and job-queue reachability (503 when either is down)."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is unreachable
        db.session.rollback()
        database = "unreachable"
    queue = "ok" if jobs.queue().reachable() else "unreachable"
    ok = database == "ok" and queue == "ok"
    return jsonify(status="ok" if ok else "degraded", database=database, jobs=queue), (
        200 if ok else 503
    )
