"""Which report, who may read it, and the reader's parameters: checked, typed, shown.

A parameter that does not parse is a 422 naming it; a department outside the reader's scope is
a 404, exactly as if it did not exist, so a report never reveals department codes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from quire.designer.formula import parse
from quire.designer.model import ReportParameter, Template
from quire.widgets.base import Bilingual, localized

from .. import access, clock
from ..access import Permission
from ..errors import Detail, Forbidden, Invalid, NotFound
from ..extensions import db
from ..forms import templates as template_service
from ..models import Department, FormTemplate, SubmissionStatus, User

ALL = {"zh": "全部", "en": "All"}


@dataclass(frozen=True)
class ReportDefinition:
    key: str
    version: int
    template: Template

    def title(self, locale: str) -> str:
        return localized(self.template.title, locale)


def report_templates() -> list[FormTemplate]:
    """Every published report template, by key."""
    stmt = (
        select(FormTemplate)
        .where(FormTemplate.kind == "report", FormTemplate.latest_version > 0)
        .order_by(FormTemplate.key)
    )
    return list(db.session.scalars(stmt))


def definition(key: str) -> ReportDefinition:
    """The latest published version of report ``key``; 404 when there is no such report."""
    record = db.session.scalar(select(FormTemplate).where(FormTemplate.key == key))
    if record is None or record.kind != "report" or not record.latest_version:
        raise NotFound(f"No report {key!r}.")
    version, template = template_service.published(key)
    return ReportDefinition(key, version.version, template)


def require_reader(user: User | None, permission: Permission = Permission.REPORT_READ) -> None:
    if not access.can(user, permission):
        raise Forbidden(
            "You are not allowed to read reports."
            if permission == Permission.REPORT_READ
            else "You are not allowed to export reports."
        )


local_now = clock.local_now


def departments_in_scope(user: User) -> list[Department]:
    """Departments a reader may pick: those their REPORT_READ grants cover."""
    predicate = access.scope_filter(user, Permission.REPORT_READ, Department, include_own=False)
    stmt = (
        select(Department).where(predicate, Department.active.is_(True)).order_by(Department.path)
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class Parameters:
    """Resolved parameter values (typed) plus how each reads in a report's header."""

    values: dict[str, Any]
    #: The raw strings, for links and the query string of an export.
    raw: dict[str, str]
    display: tuple[tuple[str, str], ...]

    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.raw.items() if v != ""}


def _default(parameter: ReportParameter, today: dt.date) -> str:
    default = parameter.default
    if default is None:
        return ""
    if isinstance(default, str) and default.startswith("="):
        value = parse(default[1:]).evaluate({}, today=today)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return str(int(value))
        return str(value)
    return str(default)


def _parse_parameter(
    user: User, parameter: ReportParameter, text: str, locale: str
) -> tuple[Any, str]:
    """(typed value, display text) of one non-empty parameter; raises Invalid or NotFound."""
    key = parameter.key

    def bad(message: str) -> Invalid:
        return Invalid(f"Invalid report parameter {key!r}.", [Detail(key, message)])

    kind = parameter.type
    if kind == "year":
        if not re.fullmatch(r"\d{4}", text) or not 1900 <= int(text) <= 2999:
            raise bad("must be a year such as 2026")
        return int(text), text
    if kind == "month":
        if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= 12:
            raise bad("must be a month number from 1 to 12")
        return int(text), text
    if kind == "department":
        dept = db.session.scalar(select(Department).where(Department.code == text))
        # Unknown and out of scope answer alike, so a report does not reveal department codes.
        if dept is None or not access.can(user, Permission.REPORT_READ, dept):
            raise NotFound(
                "No such department, or it is outside your scope.",
                [Detail(key, f"unknown department {text}")],
            )
        return dept, f"{dept.code} {dept.name(locale)}"
    if kind == "status":
        if text == "all":  # a status parameter with a default: "all" lifts it
            return None, localized(Bilingual(**ALL), locale)
        try:
            return SubmissionStatus(text).value, text
        except ValueError:
            allowed = ", ".join(s.value for s in SubmissionStatus)
            raise bad(f"must be one of {allowed}") from None
    if kind in ("select", "dimension"):
        options = {o.value: o for o in parameter.options}
        if text not in options:
            raise bad("must be one of " + ", ".join(options))
        return text, localized(options[text].label, locale)
    if kind == "number":
        try:
            return Decimal(text), text
        except InvalidOperation:
            raise bad("must be a number") from None
    if kind == "date":
        try:
            return dt.date.fromisoformat(text), text
        except ValueError:
            raise bad("must be a date YYYY-MM-DD") from None
    if kind == "fiscal_period":
        if not re.fullmatch(r"\d{4}(-\d{2})?", text):
            raise bad("must be a year or a month YYYY-MM")
        return text, text
    if len(text) > 200:
        raise bad("is too long")
    return text, text


def resolve_parameters(
    user: User,
    report: ReportDefinition,
    raw: Mapping[str, Any],
    *,
    locale: str = "zh_CN",
    today: dt.date | None = None,
) -> Parameters:
    """Check every declared parameter; unknown query keys (``format``, ``page``) are ignored."""
    today = today or local_now().date()
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    display: list[tuple[str, str]] = []
    for parameter in report.template.parameters:
        given = raw.get(parameter.key)
        text = str(given).strip() if given is not None else ""
        if not text:
            text = _default(parameter, today)
        label = f"{parameter.label.zh} {parameter.label.en}"
        if not text:
            if parameter.required:
                raise Invalid(
                    f"Report parameter {parameter.key!r} is required.",
                    [Detail(parameter.key, "is required")],
                )
            values[parameter.key] = None
            texts[parameter.key] = ""
            display.append((label, localized(Bilingual(**ALL), locale)))
            continue
        value, shown = _parse_parameter(user, parameter, text, locale)
        values[parameter.key] = value
        texts[parameter.key] = text
        display.append((label, shown))
    return Parameters(values, texts, tuple(display))


def refer(value: Any, params: Parameters) -> Any:
    """``=name`` → the parameter's value; anything else as written."""
    if isinstance(value, str) and value.startswith("="):
        return params.values.get(value[1:])
    return value
