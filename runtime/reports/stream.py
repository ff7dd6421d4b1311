"""Line listings (the expense ledger) exported straight from the database, in bounded memory.

The engine reads every row into pandas, which is right for reports that group, pivot or
chart, and wrong for a ledger of a million lines that only lists them. A *line listing* is
a report of one ``submissions`` dataset with table lines, no steps but a sort by period,
number and line, and no formula columns, subtotals or charts: its export is the same rows
in the same order, so here they are read in chunks (``yield_per``: a server-side cursor on
PostgreSQL), expanded line by line and handed to the Excel or CSV writer as a generator,
with the totals added up as the rows pass. The WHERE clause is the engine's own
(:func:`.sources.submission_criteria`), scope included, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from quire.designer.model import DataSource
from quire.designer.report import SortStep

from ..extensions import db
from ..forms import templates as template_service
from ..models import Department, Submission, TemplateVersion, User
from ..render.document import ReportDocument
from . import sources
from .parameters import Parameters, ReportDefinition, local_now, refer, resolve_parameters
from .result import Derive, ReportResult, ResultColumn, summed, with_labels
from .run import filters_of, status_basis
from .transforms import context

#: Submissions read from the database at a time.
CHUNK = 1_000
#: The order a listing may be sorted in: the order the database reads the lines.
LISTING_ORDER = ("period", "number", "line_no")
#: Formats written row by row (a PDF is typeset in chunks from the engine's rows).
STREAMED_FORMATS = frozenset(("xlsx", "csv"))


def streamable(report: ReportDefinition) -> bool:
    """Whether ``report`` is a line listing whose export can stream (see the module)."""
    template = report.template
    if len(template.datasets) != 1 or template.charts or template.report.subtotals:
        return False
    dataset = template.datasets[0]
    source = next((s for s in template.data_sources if s.key == dataset.source), None)
    if source is None or source.connector != "submissions" or not source.config.get("lines"):
        return False
    if source.config.get("latest_only") or dataset.transforms:
        return False
    if any(c.formula is not None for c in template.columns):
        return False
    for step in template.transforms:
        if not isinstance(step, SortStep) or step.descending:
            return False
        by = [step.by] if isinstance(step.by, str) else [str(k) for k in step.by]
        if tuple(by) != LISTING_ORDER[: len(by)]:
            return False
    return True


@dataclass
class Listing:
    """A line listing resolved for one reader: its parameters, columns and WHERE clause."""

    user: User
    report: ReportDefinition
    parameters: Parameters
    source: DataSource
    filters: sources.Filters
    locale: str
    columns: list[ResultColumn]
    #: The totals, added up while :meth:`rows` runs (complete once it has finished).
    totals: dict[str, Any] = field(default_factory=dict)

    def criteria(self) -> list[Any]:
        return sources.submission_criteria(self.user, self.source.config, self.filters)

    def count(self) -> int:
        """How many lines the listing has, counted in the database."""
        table = str(self.source.config["lines"])
        dialect = db.session.get_bind().dialect.name
        if dialect == "sqlite":
            lines = func.json_array_length(Submission.data, f'$."{table}"')
        elif dialect == "postgresql":
            lines = func.json_array_length(Submission.data[table])
        else:
            lines = func.count(Submission.id)
            return int(db.session.scalar(select(lines).where(*self.criteria())) or 0)
        stmt = select(func.coalesce(func.sum(lines), 0)).where(*self.criteria())
        return int(db.session.scalar(stmt) or 0)

    def rows(self, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
        """Every line as the engine would give it, in the listing's order, read ``chunk``
        submissions at a time; the totals are added up as the lines pass."""
        table = str(self.source.config["lines"])
        stmt = (
            select(
                Submission.id,
                Submission.number,
                Submission.status,
                Submission.period,
                Submission.project,
                Submission.total,
                Submission.data,
                Submission.department_id,
                User.username,
                TemplateVersion.id,
            )
            .join(User, User.id == Submission.submitter_id)
            .join(
                TemplateVersion,
                (TemplateVersion.template_id == Submission.template_id)
                & (TemplateVersion.version == Submission.template_version),
            )
            .where(*self.criteria())
            .order_by(Submission.period, Submission.number)
            .execution_options(yield_per=chunk)
        )
        departments = {d.id: d for d in db.session.scalars(select(Department))}
        shapes: dict[int, Any] = {}
        derive = Derive(self.columns, self.parameters, context(self.parameters, local_now().date()))
        summable = [c for c in self.columns if c.summable]
        self.totals.clear()
        self.totals.update(summed(self.columns, []))
        totals = self.totals
        for found in db.session.execute(stmt):
            (sid, number, status, period, project, total, data, dept_id, username, version) = found
            department = departments[dept_id]
            head = {
                "submission_id": sid,
                "number": number,
                "department": department.code,
                "department_name": department.name(self.locale),
                "status": status.value,
                "period": period,
                "year": period.year,
                "month": period.strftime("%Y-%m"),
                "project": project or "",
                "submitter": username,
                "submission_total": total,
            }
            if version not in shapes:
                record = db.session.get(TemplateVersion, version)
                assert record is not None  # the line's submission names its version
                parsed = template_service.parsed(record)
                shapes[version] = sources.table_shape(parsed, table, self.locale)
            shape = shapes[version]
            for index, line in enumerate((data or {}).get(table) or []):
                if not isinstance(line, Mapping):
                    continue
                row = dict(head, line_no=index + 1)
                for key, value in line.items():
                    row.update(shape.cells(key, value))
                row = derive.finish(row, links=False)
                for column in summable:
                    value = row.get(column.key)
                    if value is not None:
                        totals[column.key] += (
                            value if isinstance(value, Decimal) else Decimal(str(value))
                        )
                yield row

    def document(self, *, company: str) -> ReportDocument:
        """The renderers' document, its rows the generator of :meth:`rows`."""
        result = ReportResult(
            report=self.report,
            parameters=self.parameters,
            columns=self.columns,
            rows=[],
            totals=self.totals if self.report.template.report.totals else None,
            charts=[],
            locale=self.locale,
            generated_at=local_now(),
            generated_by=self.user.display_name or self.user.username,
            basis=said_for(self.report, self.parameters, self.source, self.locale),
        )
        return replace(result.to_document(company=company), rows=self.rows())

    def filename_stamp(self) -> ReportResult:
        """A result shell for :func:`.export.filename_for` (key and time)."""
        return ReportResult(
            report=self.report,
            parameters=self.parameters,
            columns=self.columns,
            rows=[],
            totals=None,
            charts=[],
            locale=self.locale,
            generated_at=local_now(),
            generated_by="",
        )


def said_for(
    report: ReportDefinition, params: Parameters, source: DataSource, locale: str
) -> list[str]:
    said = status_basis(report, params, locale)
    if (sentence := sources.basis(source, locale)) and sentence not in said:
        said.append(sentence)
    return said


def listing(
    user: User, report: ReportDefinition, raw_params: Mapping[str, Any], locale: str
) -> Listing:
    """Resolve a line listing's parameters for ``user`` (422 a bad one, 404 a department
    outside the reader's scope, as the engine answers)."""
    today = local_now().date()
    params = resolve_parameters(user, report, raw_params or {}, locale=locale, today=today)
    template = report.template
    dataset = template.datasets[0]
    source = next(s for s in template.data_sources if s.key == dataset.source)
    resolved = {k: refer(v, params) for k, v in dataset.params.items()}
    filters = filters_of(resolved)
    # Which label a code reads as comes from the statuses and the form's own options.
    shape_labels = _option_labels(source, locale)
    sample = [
        {key: code, f"{key}_name": label}
        for key, labels in shape_labels.items()
        for code, label in labels.items()
    ]
    columns = with_labels([ResultColumn(c) for c in template.columns], sample, locale)
    return Listing(user, report, params, source, filters, locale, columns)


def _option_labels(source: DataSource, locale: str) -> dict[str, dict[str, str]]:
    """The select options of the listed table's columns, in every published version."""
    from ..models import FormTemplate

    table = str(source.config["lines"])
    versions = db.session.scalars(
        select(TemplateVersion)
        .join(FormTemplate, FormTemplate.id == TemplateVersion.template_id)
        .where(FormTemplate.key == source.config.get("form"))
        .order_by(TemplateVersion.version)
    )
    labels: dict[str, dict[str, str]] = {}
    for version in versions:
        shape = sources.table_shape(template_service.parsed(version), table, locale)
        for key, options in shape.labels.items():
            labels.setdefault(key, {}).update(options)
    return labels
