"""The separation-of-duties page: the rules (view, add, disable) and who breaks them now.

Each handler: authorize (access) → validate → service → audit (in the service).
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length, Optional

from .. import access
from ..access import PERMISSION_LABELS
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import SodRule
from . import rules as rules_service

bp = Blueprint("sod", __name__, url_prefix="/admin/sod")


class RuleForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64)])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    left = SelectMultipleField(
        _l("Permissions on one side"),
        choices=[],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    right = SelectMultipleField(
        _l("Permissions on the other side"),
        choices=[],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    same_department = BooleanField(_l("Only when both sides reach the same department"))


class ToggleForm(FlaskForm):
    pass


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _permission_choices() -> list[tuple[str, str]]:
    english = _locale().startswith("en")
    return [(p.value, names[1] if english else names[0]) for p, names in PERMISSION_LABELS.items()]


def _page(form: RuleForm, status: int = 200):  # type: ignore[no-untyped-def]
    rules = db.session.scalars(select(SodRule).order_by(SodRule.id)).all()
    return render_template(
        "access_requests/sod.html",
        rules=rules,
        conflicts=rules_service.existing_conflicts(),
        form=form,
        toggle=ToggleForm(),
        can_manage=access.may_manage_sod_rules(current_user),
        labels=dict(_permission_choices()),
    ), status


@bp.get("")
@login_required
def rules():  # type: ignore[no-untyped-def]
    if not access.may_view_sod(current_user):
        raise Forbidden()
    form = RuleForm()
    form.left.choices = form.right.choices = _permission_choices()
    return _page(form)


@bp.post("")
@login_required
def add_rule():  # type: ignore[no-untyped-def]
    if not access.may_manage_sod_rules(current_user):
        raise Forbidden()
    form = RuleForm()
    form.left.choices = form.right.choices = _permission_choices()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        rule = rules_service.add_rule(
            current_user,
            key=form.key.data,
            name_zh=form.name_zh.data,
            name_en=form.name_en.data,
            left=list(form.left.data or []),
            right=list(form.right.data or []),
            same_department=bool(form.same_department.data),
            description=form.description.data,
        )
    except Invalid as exc:
        db.session.rollback()
        for detail in exc.details:
            field = getattr(form, detail.path, None)
            if field is not None:
                field.errors = [*field.errors, _(detail.message)]
        return _page(form, 422)
    db.session.commit()
    flash(_("Rule “%(name)s” added.", name=rule.name(_locale())), "success")
    return redirect(url_for("sod.rules"))


@bp.post("/<int:rule_id>/enabled")
@login_required
def set_enabled(rule_id: int):  # type: ignore[no-untyped-def]
    rule = db.session.get(SodRule, rule_id)
    if rule is None:
        raise NotFound()
    if not access.may_manage_sod_rules(current_user):
        raise Forbidden()
    if not ToggleForm().validate_on_submit():
        raise Invalid(_("The form expired; please try again."))
    rules_service.set_enabled(current_user, rule, request.form.get("enabled") == "1")
    db.session.commit()
    return redirect(url_for("sod.rules"))


@bp.get("/conflicts.csv")
@login_required
def conflicts_csv():  # type: ignore[no-untyped-def]
    """The current conflicts as CSV (UTF-8 with BOM, so Excel reads the Chinese names)."""
    if not access.may_view_sod(current_user):
        raise Forbidden()
    locale = _locale()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [_("User"), _("Department"), _("Rule"), _("One side"), _("Other side"), _("Exception")]
    )
    for c in rules_service.existing_conflicts():
        exception = ""
        if c.exception is not None:
            by = c.exception.approved_by.username if c.exception.approved_by else ""
            exception = f"{by} {c.exception.approved_at:%Y-%m-%d}: {c.exception.reason}"
        row = [
            c.user.username,
            c.user.department.code,
            c.rule.name(locale),
            "; ".join(c.left),
            "; ".join(c.right),
            exception,
        ]
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        writer.writerow(["'" + v if v[:1] in "=+-@" else v for v in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=sod-conflicts.csv"},
    )
