"""Where report rows come from: scoped queries that turn submissions and approval tasks into
flat rows (one dict per row) for the engine's pandas pipeline.

Every provider applies :func:`quire.runtime.access.scope_filter` in SQL, so a row the reader
may not see never reaches a total, a chart, a drill-down or an export. A provider is chosen
by the data source's ``connector``; its ``config`` says which form and which rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from quire.designer.model import DataSource, Template
from quire.widgets.base import localized

from .. import access
from ..access import Permission
from ..errors import Invalid
from ..extensions import db
from ..forms import templates as template_service
from ..models import (
    ApprovalTask,
    Department,
    FormTemplate,
    Submission,
    SubmissionStatus,
    TaskStatus,
    TemplateVersion,
    User,
    utcnow,
)


@dataclass(frozen=True)
class Filters:
    """The resolved report parameters a provider understands (others are ignored)."""

    year: int | None = None
    month: int | None = None
    #: The chosen department (its subtree is included); None: every department in scope.
    department: Department | None = None
    status: str | None = None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _subtree(department: Department) -> Any:
    return Submission.department_id.in_(
        select(Department.id).where(Department.path.startswith(department.path, autoescape=True))
    )


def _period_bounds(filters: Filters) -> list[Any]:
    clauses: list[Any] = []
    if filters.year is not None:
        if filters.month is not None:
            clauses.append(Submission.period == date(filters.year, filters.month, 1))
        else:
            clauses.append(Submission.period >= date(filters.year, 1, 1))
            clauses.append(Submission.period <= date(filters.year, 12, 31))
    return clauses


def readable_submissions(user: User) -> Any:
    """The WHERE clause of submissions a report reader may count: in their REPORT_READ scope
    (or their own), never someone else's draft."""
    return and_(
        access.scope_filter(user, Permission.REPORT_READ, Submission),
        or_(Submission.status != SubmissionStatus.DRAFT, Submission.submitter_id == user.id),
    )


def _latest_per_department_and_period(found: list[Any]) -> list[Any]:
    """Keep one submission per department and period: the latest decided (a revised budget
    replaces the one it revises), as the budget checks of the approval engine do."""
    floor = datetime.min.replace(tzinfo=utcnow().tzinfo)
    best: dict[tuple[int, date], Any] = {}
    for item in found:
        submission = item[0]
        slot = (submission.department_id, submission.period)
        current = best.get(slot)
        rank = (submission.decided_at or floor, submission.id)
        if current is None or rank > (current[0].decided_at or floor, current[0].id):
            best[slot] = item
    keep = {id(v) for v in best.values()}
    return [item for item in found if id(item) in keep]


NUMERIC_WIDGETS = frozenset(("money", "number", "percent", "formula"))


@dataclass(frozen=True)
class _TableShape:
    """What the engine needs to know about a table field's columns."""

    #: Column key → {option value: label} for select columns.
    labels: dict[str, dict[str, str]]
    numeric: frozenset[str]
    dates: frozenset[str]


def _table_shape(template: Template, table: str, locale: str) -> _TableShape:
    field = template.field(table)
    labels: dict[str, dict[str, str]] = {}
    numeric, dates = set(), set()
    for column in getattr(field, "columns", None) or []:
        options = getattr(column, "options", None)
        if options:
            labels[column.key] = {o.value: localized(o.label, locale) for o in options}
        if column.type in NUMERIC_WIDGETS:
            numeric.add(column.key)
        elif column.type == "date":
            dates.add(column.key)
    return _TableShape(labels, frozenset(numeric), frozenset(dates))


def submission_lines(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """One row per line of a table field (``config.lines``) of the form ``config.form``, or one
    row per submission without ``lines``. Each row carries the submission's number, id,
    department (code and name), status, period (``month`` as ``YYYY-MM``), project and
    submitter, and the line's own values (money as Decimal, dates as dates; a select column
    ``x`` also gives ``x_name``). With ``config.latest_only`` only the latest decided
    submission per department and period counts (budgets)."""
    form = config.get("form")
    if not form:
        raise Invalid("The report is misconfigured.", [])
    table = config.get("lines")
    statuses = config.get("statuses")
    stmt = (
        select(Submission, Department, User.username, TemplateVersion)
        .join(FormTemplate, FormTemplate.id == Submission.template_id)
        .join(Department, Department.id == Submission.department_id)
        .join(User, User.id == Submission.submitter_id)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == Submission.template_id)
            & (TemplateVersion.version == Submission.template_version),
        )
        .where(FormTemplate.key == form, readable_submissions(user), *_period_bounds(filters))
        .order_by(Submission.period, Submission.number)
    )
    if statuses:
        stmt = stmt.where(Submission.status.in_([SubmissionStatus(s) for s in statuses]))
    if filters.status:
        stmt = stmt.where(Submission.status == SubmissionStatus(filters.status))
    if filters.department is not None:
        stmt = stmt.where(_subtree(filters.department))
    found = list(db.session.execute(stmt))
    if config.get("latest_only"):
        found = _latest_per_department_and_period(found)
    rows: list[dict[str, Any]] = []
    shapes: dict[int, _TableShape] = {}
    for submission, department, username, version in found:
        head = {
            "submission_id": submission.id,
            "number": submission.number,
            "department": department.code,
            "department_name": department.name(locale),
            "status": submission.status.value,
            "period": submission.period,
            "year": submission.period.year,
            "month": submission.period.strftime("%Y-%m"),
            "project": submission.project or "",
            "submitter": username,
            "submission_total": submission.total,
        }
        if not table:
            rows.append(head)
            continue
        if version.id not in shapes:
            shapes[version.id] = _table_shape(template_service.parsed(version), table, locale)
        shape = shapes[version.id]
        for index, line in enumerate(submission.data.get(table) or []):
            if not isinstance(line, Mapping):
                continue
            row = dict(head, line_no=index + 1)
            for key, value in line.items():
                if key in shape.numeric:
                    value = _decimal(value)
                elif key in shape.dates:
                    value = _date(value)
                row[key] = value
                if key in shape.labels:
                    row[f"{key}_name"] = shape.labels[key].get(str(value), str(value or ""))
            rows.append(row)
    return rows


def _step_names(version: TemplateVersion, locale: str) -> dict[str, str]:
    template = template_service.parsed(version)
    steps = template.approval.steps if template.approval else []
    return {s.key: localized(s.name, locale) for s in steps}


def approval_tasks(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """One row per approval task (decided or still open) on submissions the reader may count:
    department, step, ``decided`` (bool), ``hours`` from assignment to decision, ``overdue``
    (decided after its due time, or open and past it)."""
    now = utcnow()
    form = aliased(FormTemplate)
    stmt = (
        select(ApprovalTask, Submission.number, Department, TemplateVersion, form.key)
        .join(Submission, Submission.id == ApprovalTask.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .join(form, form.id == Submission.template_id)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == Submission.template_id)
            & (TemplateVersion.version == Submission.template_version),
        )
        .where(readable_submissions(user), ApprovalTask.status != TaskStatus.CANCELLED)
        .order_by(ApprovalTask.created_at)
    )
    if config.get("form"):
        stmt = stmt.where(form.key == config["form"])
    if filters.year is not None:
        start = datetime(filters.year, 1, 1, tzinfo=now.tzinfo)
        end = datetime(filters.year + 1, 1, 1, tzinfo=now.tzinfo)
        stmt = stmt.where(ApprovalTask.created_at >= start, ApprovalTask.created_at < end)
    if filters.department is not None:
        stmt = stmt.where(_subtree(filters.department))
    names: dict[int, dict[str, str]] = {}
    rows: list[dict[str, Any]] = []
    for task, number, department, version, form_key in db.session.execute(stmt):
        if version.id not in names:
            names[version.id] = _step_names(version, locale)
        decided = task.status not in (TaskStatus.OPEN,) and task.decided_at is not None
        hours = None
        if decided:
            hours = (task.decided_at - task.created_at).total_seconds() / 3600
        due = task.due_at
        overdue = bool(due and ((task.decided_at or now) > due))
        rows.append(
            {
                "task_id": task.id,
                "submission_id": task.submission_id,
                "number": number,
                "form": form_key,
                "department": department.code,
                "department_name": department.name(locale),
                "step": task.step_key,
                "step_name": names[version.id].get(task.step_key, task.step_key),
                "status": task.status.value,
                "decided": decided,
                "open": task.status == TaskStatus.OPEN,
                "hours": hours,
                "overdue": overdue,
                "created_at": task.created_at,
                "month": task.created_at.strftime("%Y-%m"),
            }
        )
    return rows


Provider = Callable[[User, Mapping[str, Any], Filters, str], list[dict[str, Any]]]

#: Connector type → provider. Any other connector reads a configured data source, whose rows
#: are scoped by their department column (:mod:`quire.runtime.datasources.reports`).
PROVIDERS: dict[str, Provider] = {
    "submissions": submission_lines,
    "approvals": approval_tasks,
}


def load(user: User, source: DataSource, filters: Filters, locale: str) -> list[dict[str, Any]]:
    provider = PROVIDERS.get(source.connector)
    if provider is None:
        from ..datasources.reports import managed_rows

        return managed_rows(user, source, filters, locale)
    return provider(user, source.config, filters, locale)
