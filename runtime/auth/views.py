"""Sign-in and sign-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .. import audit
from ..errors import TooManyRequests, Unauthorized
from ..extensions import db
from . import service

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot bounce users elsewhere."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


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
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    audit.record(current_user, "auth.logout", object_type="user", object_id=current_user.id)
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))
