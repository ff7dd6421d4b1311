"""WTForms for the administration pages; choices are filled per request by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp


class DepartmentForm(FlaskForm):
    code = StringField(
        _l("Code"), validators=[DataRequired(), Length(max=32), Regexp(r"^[A-Za-z0-9_-]+$")]
    )
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=200)])
    parent = SelectField(_l("Parent department"), choices=[], validate_choice=True)
    manager = SelectField(_l("Manager"), choices=[], validate_choice=True)
    cost_center = StringField(_l("Cost centre"), validators=[Optional(), Length(max=32)])
    active = BooleanField(_l("Active"), default=True)


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"), validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9._-]+$")]
    )
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=200)])
    email = StringField(
        _l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=320)]
    )
    department = SelectField(_l("Department"), choices=[], validate_choice=True)
    manager = SelectField(_l("Manager"), choices=[], validate_choice=True)
    status = SelectField(
        _l("Status"),
        choices=[("active", _l("Active")), ("on_leave", _l("On leave")), ("left", _l("Left"))],
    )
    locale = SelectField(
        _l("Language"), choices=[("", _l("Browser default")), ("zh_CN", "中文"), ("en", "English")]
    )
    cost_center = StringField(
        _l("Cost centre"),
        validators=[Optional(), Length(max=32), Regexp(r"^[A-Za-z0-9._-]+$")],
        description=_l("The budget lines this person fills in, e.g. CC-201."),
    )
    delegate = SelectField(_l("Delegate while on leave"), choices=[], validate_choice=True)
    delegate_from = DateField(_l("Delegate from"), validators=[Optional()])
    delegate_until = DateField(_l("Delegate until"), validators=[Optional()])
    password = PasswordField(
        _l("Initial password"), validators=[Optional(), Length(min=10, max=1024)]
    )


_PERIOD = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


class GrantForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[], validate_choice=True)
    department = SelectField(_l("Department scope"), choices=[], validate_choice=True)
    include_subtree = BooleanField(_l("Include sub-departments"), default=True)
    projects = StringField(
        _l("Projects (comma-separated; empty = all)"), validators=[Optional(), Length(max=500)]
    )
    period_from = StringField(_l("From period (YYYY-MM)"), validators=[Optional(), Regexp(_PERIOD)])
    period_until = StringField(
        _l("Until period (YYYY-MM)"), validators=[Optional(), Regexp(_PERIOD)]
    )
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    note = TextAreaField(_l("Reason / ticket"), validators=[Optional(), Length(max=1000)])


class RoleForm(FlaskForm):
    key = StringField(
        _l("Key"), validators=[DataRequired(), Length(max=64), Regexp(r"^[a-z0-9_]+$")]
    )
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    permissions = SelectMultipleField(
        _l("Permissions"),
        choices=[],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )


class RevokeForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
