"""Where report rows come from: scoped queries that turn submissions and approval tasks into
flat rows (one dict per row) for the engine's pandas pipeline.

Every provider applies :func:`quire.runtime.access.scope_filter` in SQL, so a row the reader
may not see never reaches a total, a chart, a drill-down or an export. A provider is chosen
by the data source's ``connector``; its ``config`` says which form and which rows. Where
the report only needs sums, :func:`submission_line_totals` adds the lines up in the database
under the same WHERE clause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Numeric, Text, column, func, or_, select, true
from sqlalchemy.exc import DataError
from sqlalchemy.orm import aliased

from quire.designer.model import DataSource, Template
from quire.widgets.base import localized
from quire.widgets.registry import default_registry

from .. import access
from ..errors import Invalid
from ..extensions import db
from ..forms import templates as template_service
from ..forms.revisions import in_effect
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
from .result import ROW_EMPTY

log = logging.getLogger(__name__)


#: The project parameter of "no project" (a drill-down from the row of claims without one).
NO_PROJECT = ROW_EMPTY


@dataclass(frozen=True)
class Filters:
    """The resolved report parameters a provider understands (others are ignored)."""

    year: int | None = None
    month: int | None = None
    #: The chosen department (its subtree is included); None: every department in scope.
    department: Department | None = None
    #: The chosen department alone, without its subtree (a budget check, a report row).
    alone: bool = False
    #: A project code (submissions of that project only); :data:`NO_PROJECT`: those of none.
    project: str | None = None
    #: An account code (the ``actuals`` source's lines of that account only).
    account: str | None = None
    status: str | None = None
    #: An allocation rule's key (the ``allocation`` report).
    rule: str | None = None
    #: A period of days, both inclusive (the ``permission-changes`` report).
    since: date | None = None
    until: date | None = None


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


def readable_submissions(user: User | None) -> Any:
    """The WHERE clause of submissions a report reader may count (see
    :func:`quire.runtime.access.report_rows`); None is the organisation's own question (a
    claim's budget check), which counts every submission."""
    return access.report_rows(user) if user is not None else true()


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


@dataclass(frozen=True)
class _TableShape:
    """What the engine needs to know about a table field's columns."""

    #: Column key → {option value: label} for select columns.
    labels: dict[str, dict[str, str]]
    numeric: frozenset[str]
    dates: frozenset[str]
    #: Every column key.
    keys: frozenset[str] = frozenset()

    def typed(self, key: str, value: Any) -> Any:
        """A line value as the engine reads it: money as Decimal, dates as dates."""
        if key in self.numeric:
            return _decimal(value)
        if key in self.dates:
            return _date(value)
        return value

    def cells(self, key: str, value: Any) -> dict[str, Any]:
        """A line value as row cells: the typed value, and a select column's label."""
        value = self.typed(key, value)
        if key not in self.labels:
            return {key: value}
        return {key: value, f"{key}_name": self.labels[key].get(str(value), str(value or ""))}


def table_shape(template: Template, table: str, locale: str) -> _TableShape:
    field = template.field(table)
    labels: dict[str, dict[str, str]] = {}
    numeric, dates, keys = set(), set(), set()
    registry = default_registry()
    for spec in getattr(field, "columns", None) or []:
        keys.add(spec.key)
        options = getattr(spec, "options", None)
        if options:
            labels[spec.key] = {o.value: localized(o.label, locale) for o in options}
        # The column types the submissions connector uses, so both read lines alike.
        kind = registry.for_field(spec).connector_type
        if kind in ("money", "number"):
            numeric.add(spec.key)
        elif kind == "date":
            dates.add(spec.key)
    return _TableShape(labels, frozenset(numeric), frozenset(dates), frozenset(keys))


def submission_criteria(
    user: User | None, config: Mapping[str, Any], filters: Filters
) -> list[Any]:
    """The WHERE clauses of a ``submissions`` source: its form, the reader's scope, the
    statuses it counts and the report's period and department."""
    form = config.get("form")
    if not form:
        raise Invalid("The report is misconfigured.", [])
    template_id = select(FormTemplate.id).where(FormTemplate.key == form).scalar_subquery()
    # Only the latest approved revision of an amended submission counts (变更).
    criteria = [Submission.template_id == template_id, readable_submissions(user), in_effect()]
    criteria += _period_bounds(filters)
    if config.get("statuses"):
        statuses = [SubmissionStatus(s) for s in config["statuses"]]
        criteria.append(Submission.status.in_(statuses))
    if filters.status:
        criteria.append(Submission.status == SubmissionStatus(filters.status))
    if filters.department is not None and filters.alone:
        criteria.append(Submission.department_id == filters.department.id)
    elif filters.department is not None:
        criteria.append(_subtree(filters.department))
    if filters.project == NO_PROJECT:
        criteria.append(or_(Submission.project.is_(None), Submission.project == ""))
    elif filters.project:
        criteria.append(Submission.project == filters.project)
    return criteria


def submission_lines(
    user: User | None, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """One row per line of a table field (``config.lines``) of the form ``config.form``, or one
    row per submission without ``lines``. Each row carries the submission's number, id,
    department (code and name), status, period (``month`` as ``YYYY-MM``), project and
    submitter, and the line's own values (money as Decimal, dates as dates; a select column
    ``x`` also gives ``x_name``). With ``config.latest_only`` only the latest decided
    submission per department and period counts (budgets)."""
    table = config.get("lines")
    stmt = (
        select(Submission, Department, User.username, TemplateVersion)
        .join(Department, Department.id == Submission.department_id)
        .join(User, User.id == Submission.submitter_id)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == Submission.template_id)
            & (TemplateVersion.version == Submission.template_version),
        )
        .where(*submission_criteria(user, config, filters))
        .order_by(Submission.period, Submission.number)
    )
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
            shapes[version.id] = table_shape(template_service.parsed(version), table, locale)
        shape = shapes[version.id]
        for index, line in enumerate(submission.data.get(table) or []):
            if not isinstance(line, Mapping):
                continue
            row = dict(head, line_no=index + 1)
            for key, value in line.items():
                row.update(shape.cells(key, value))
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Rollup:
    """A dataset whose rows only feed sums: the report groups them by ``keys`` and adds up
    ``sums`` (both in the provider's column names). Rows already summed by those keys give
    the same totals as the lines themselves, so a provider that can add up inside the
    database answers with those instead of one row per line."""

    keys: frozenset[str]
    sums: frozenset[str]


#: Head columns a rollup can group by, each with the submission column it groups on.
_ROLLUP_HEADS: dict[str, str] = {
    "department": "department_id",
    "department_name": "department_id",
    "period": "period",
    "year": "period",
    "month": "period",
    "project": "project",
    "status": "status",
    "submitter": "submitter_id",
}
#: Head columns that name a single submission or line: summing by them saves nothing.
_PER_LINE_HEADS = frozenset({"submission_id", "number", "submission_total", "line_no"})
_HEADS = frozenset(_ROLLUP_HEADS) | _PER_LINE_HEADS


def submission_line_totals(
    user: User | None, config: Mapping[str, Any], filters: Filters, locale: str, rollup: Rollup
) -> list[dict[str, Any]] | None:
    """:func:`submission_lines` summed in the database: one row per combination of
    ``rollup.keys`` with the ``rollup.sums`` added up, under the same scope and filters.

    PostgreSQL expands the lines with ``json_to_recordset`` and sums there (exact
    ``numeric``); SQLite expands them with ``json_each`` and the sums are made here in
    ``Decimal`` (its own SUM is floating point). None when this source cannot be summed
    this way (latest-only budgets, a key that names one submission, another database, or
    lines PostgreSQL will not read as numbers), and the engine then reads every line."""
    table = config.get("lines")
    dialect = db.session.get_bind().dialect.name
    if not table or config.get("latest_only") or dialect not in ("postgresql", "sqlite"):
        return None
    if rollup.keys & _PER_LINE_HEADS:
        return None
    shapes = _line_shapes(config, table, locale)
    known = frozenset().union(*(shape.keys for shape in shapes.values()))
    if known & _HEADS:
        return None  # a line value would replace a head value, as submission_lines does
    grouped = sorted({_ROLLUP_HEADS[h] for h in rollup.keys & set(_ROLLUP_HEADS)})
    line_keys = sorted(rollup.keys - set(_ROLLUP_HEADS) - rollup.sums)
    sums = sorted(rollup.sums & known)
    if rollup.sums & _HEADS or any(
        key in shape.keys and key not in shape.numeric for key in sums for shape in shapes.values()
    ):
        return None
    if not line_keys and not sums:
        return None
    first = next(iter(shapes.values()), None)
    by_version = any(shape != first for shape in shapes.values())
    groups = [getattr(Submission, name) for name in grouped]
    if by_version:
        groups.append(Submission.template_version)
    criteria = submission_criteria(user, config, filters)

    totals: dict[tuple[Any, ...], list[Decimal | None]]
    if dialect == "postgresql":
        lines = (
            func.json_to_recordset(Submission.data[table])
            .table_valued(
                *(column(k, Text) for k in line_keys), *(column(k, Numeric) for k in sums)
            )
            .render_derived(name="line", with_types=True)
        )
        keys = [*groups, *(lines.c[k] for k in line_keys)]
        stmt = (
            select(*keys, *(func.sum(lines.c[k]) for k in sums))
            .select_from(Submission)
            .join(lines, true())
            .where(*criteria)
            .group_by(*keys)
        )
        try:
            with db.session.begin_nested():
                found = db.session.execute(stmt).all()
        except DataError as error:
            # Lines that are not an array of objects, or an amount that is not a number:
            # the engine reads every line and treats them as submission_lines does.
            log.warning("summing %s lines in SQL failed, reading them one by one: %s", table, error)
            return None
        width = len(keys)
        totals = {tuple(r[:width]): list(r[width:]) for r in found}
    else:
        path = f'$."{table}"'
        each = func.json_each(Submission.data, path).table_valued("value", "type").alias("line")
        keys = [*groups, *(func.json_extract(each.c.value, f'$."{k}"') for k in line_keys)]
        stmt = (
            select(*keys, *(func.json_extract(each.c.value, f'$."{k}"') for k in sums))
            .select_from(Submission)
            .join(each, true())
            .where(*criteria, func.json_type(Submission.data, path) == "array")
            .where(each.c.type == "object")
        )
        width = len(keys)
        totals = {}
        for found in db.session.execute(stmt):
            slot = totals.setdefault(tuple(found[:width]), [None] * len(sums))
            for index, value in enumerate(found[width:]):
                if (amount := _decimal(value)) is not None:
                    held = slot[index]
                    slot[index] = amount if held is None else held + amount
    return _rollup_rows(totals, grouped, line_keys, sums, shapes, by_version, locale)


def _line_shapes(config: Mapping[str, Any], table: str, locale: str) -> dict[int, _TableShape]:
    """The table's shape in every published version of the source's form."""
    stmt = (
        select(TemplateVersion)
        .join(FormTemplate, FormTemplate.id == TemplateVersion.template_id)
        .where(FormTemplate.key == config["form"])
    )
    return {
        version.version: table_shape(template_service.parsed(version), table, locale)
        for version in db.session.scalars(stmt)
    }


def _rollup_rows(
    totals: Mapping[tuple[Any, ...], list[Decimal | None]],
    grouped: list[str],
    line_keys: list[str],
    sums: list[str],
    shapes: Mapping[int, _TableShape],
    by_version: bool,
    locale: str,
) -> list[dict[str, Any]]:
    """The summed groups as rows with the columns :func:`submission_lines` gives them; each
    key is the ``grouped`` submission columns, the form version if ``by_version``, then the
    line values."""
    departments: dict[int, Department] = {}
    usernames: dict[int, str] = {}
    if "department_id" in grouped:
        ids = {key[grouped.index("department_id")] for key in totals}
        found = db.session.scalars(select(Department).where(Department.id.in_(ids)))
        departments = {d.id: d for d in found}
    if "submitter_id" in grouped:
        ids = {key[grouped.index("submitter_id")] for key in totals}
        found = db.session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        usernames = dict(found.tuples())
    default = next(iter(shapes.values()), _TableShape({}, frozenset(), frozenset()))
    rows: list[dict[str, Any]] = []
    for key, amounts in totals.items():
        values = dict(zip(grouped, key, strict=False))
        row: dict[str, Any] = {}
        if "department_id" in values:
            department = departments[values["department_id"]]
            row["department"] = department.code
            row["department_name"] = department.name(locale)
        if "period" in values:
            period = values["period"]
            row.update(period=period, year=period.year, month=period.strftime("%Y-%m"))
        if "project" in values:
            row["project"] = values["project"] or ""
        if "status" in values:
            row["status"] = SubmissionStatus(values["status"]).value
        if "submitter_id" in values:
            row["submitter"] = usernames.get(values["submitter_id"], "")
        shape = shapes.get(key[len(grouped)], default) if by_version else default
        offset = len(grouped) + (1 if by_version else 0)
        for name, value in zip(line_keys, key[offset:], strict=True):
            if value is not None or name in shape.keys:
                row.update(shape.cells(name, value))
        row.update(zip(sums, amounts, strict=True))
        rows.append(row)
    return rows


def _step_names(version: TemplateVersion, locale: str) -> dict[str, str]:
    template = template_service.parsed(version)
    steps = template.approval.all_steps() if template.approval else []
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
        if decided and task.decided_at is not None:
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


def budget_round_rows(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """Departments of a budget round (:mod:`quire.runtime.budgeting.reports`)."""
    from ..budgeting.reports import round_rows

    return round_rows(user, config, filters, locale)


def _actuals_question(user: User, filters: Filters) -> Any:
    from ..budgeting.actuals import Question

    if filters.year is None:
        raise Invalid("The report is misconfigured: actuals need a year.", [])
    return Question(
        year=filters.year,
        reader=user,
        department=filters.department,
        alone=filters.alone,
        month=filters.month,
        account=filters.account,
        project=filters.project,
    )


def actual_rows(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """Every line of a budget's actual: approved claims, ERP ledger postings and allocations,
    as finance declared per account (:func:`quire.runtime.budgeting.actuals.actual_lines`)."""
    from ..budgeting.actuals import actual_lines

    return actual_lines(_actuals_question(user, filters), locale)


def actual_totals(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str, rollup: Rollup
) -> list[dict[str, Any]] | None:
    """:func:`actual_rows` with the claims summed in the database; ledger postings and
    allocation lines come as they are (the report adds them up with the claims)."""
    from ..budgeting.actuals import actual_lines, basis, claim_totals

    if "actual" not in rollup.sums or rollup.keys & (_PER_LINE_HEADS | {"kind", "date"}):
        return None
    question = _actuals_question(user, filters)
    rule = basis()
    claims = claim_totals(question, rollup.keys, locale, rule=rule)
    if claims is None:
        return None
    return claims + actual_lines(question, locale, claims=False, rule=rule)


def allocation_rows(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """Cost allocation lines (:mod:`quire.runtime.allocation.reports`)."""
    from ..allocation.reports import allocation_rows as rows

    return rows(user, config, filters, locale)


def permission_change_rows(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """Grants, revocations, role changes and delegations
    (:mod:`quire.runtime.oversight.changes`)."""
    from ..oversight.changes import permission_change_rows as rows

    return rows(user, config, filters, locale)


def access_grant_rows(
    user: User, config: Mapping[str, Any], filters: Filters, locale: str
) -> list[dict[str, Any]]:
    """Current grants in the reader's scope (:mod:`quire.runtime.reviews.reports`)."""
    from ..reviews.reports import grant_rows

    return grant_rows(user, config, filters, locale)


Provider = Callable[[User, Mapping[str, Any], Filters, str], list[dict[str, Any]]]
RollupProvider = Callable[
    [User, Mapping[str, Any], Filters, str, Rollup], list[dict[str, Any]] | None
]

#: Connector type → provider. Any other connector reads a configured data source, whose rows
#: are scoped by their department column (:mod:`quire.runtime.datasources.reports`).
PROVIDERS: dict[str, Provider] = {
    "submissions": submission_lines,
    "actuals": actual_rows,
    "approvals": approval_tasks,
    "budget_rounds": budget_round_rows,
    "allocations": allocation_rows,
    "permission_changes": permission_change_rows,
    "access_grants": access_grant_rows,
}
#: Connector type → provider of summed rows (:class:`Rollup`), where one exists.
ROLLUP_PROVIDERS: dict[str, RollupProvider] = {
    "submissions": submission_line_totals,
    "actuals": actual_totals,
}


def basis(source: DataSource, locale: str) -> str | None:
    """The sentence a source puts under the report's title: how its numbers are counted."""
    if source.connector == "actuals":
        from ..budgeting.actuals import describe

        return describe(locale)
    return None


def load(
    user: User,
    source: DataSource,
    filters: Filters,
    locale: str,
    rollup: Rollup | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``source`` the reader may count; with ``rollup``, rows already summed by
    its keys where the source can add up in the database (else every row)."""
    summing = ROLLUP_PROVIDERS.get(source.connector) if rollup is not None else None
    if summing is not None and rollup is not None:
        summed = summing(user, source.config, filters, locale, rollup)
        if summed is not None:
            return summed
    provider = PROVIDERS.get(source.connector)
    if provider is None:
        from ..datasources.reports import managed_rows

        return managed_rows(user, source, filters, locale)
    return provider(user, source.config, filters, locale)
