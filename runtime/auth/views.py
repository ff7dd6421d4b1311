"""Sign-in and sign-out pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .. import audit
from ..errors import Invalid, TooManyRequests, Unauthorized
from ..extensions import db
from ..i18n import LOCALES, PICKED_BEFORE_SIGN_IN
from ..local_path import local_path
from . import service, sessions

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so the login page cannot bounce users elsewhere."""
    return local_path(target) or url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = service.sign_in(form.username.data, form.password.data, request.remote_addr)
        except TooManyRequests:
            flash(_("Too many failed sign-ins. Please wait a minute and try again."), "error")
            status = 429
        except Unauthorized:
            flash(_("Wrong username or password, or the account is disabled."), "error")
            status = 401
        else:
            picked = session.get(PICKED_BEFORE_SIGN_IN)
            sessions.start(
                user, user_agent=request.headers.get("User-Agent"), ip=request.remote_addr
            )
            if picked in LOCALES and picked != user.locale:
                # Picked on the sign-in page a moment ago: it is what they want from now on.
                audit.record(
                    user,
                    "user.locale",
                    object_type="user",
                    object_id=user.username,
                    changes={"locale": [user.locale, picked]},
                )
                user.locale = picked
            db.session.commit()
            if user.must_change_password:
                return redirect(url_for("auth.new_password"))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    record = sessions.current()
    if record is not None:
        sessions.end(record, "logout")
    audit.record(current_user, "auth.logout", object_type="user", object_id=current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


class NewPasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])


@bp.route("/password/new", methods=["GET", "POST"])
@login_required
def new_password():  # type: ignore[no-untyped-def]
    """After an administrator's reset: the person sets their own password before anything else."""
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep=sessions.current(),
            )
        except Invalid as exc:
            for detail in exc.details:
                field = getattr(form, detail.path, None)
                if field is not None:
                    field.errors = [*field.errors, _(detail.message)]
            status = 422
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the identity carries the version
            flash(_("Password changed. Other sessions have been signed out."), "ok")
            return redirect(url_for("web.home"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/new_password.html", form=form), status
