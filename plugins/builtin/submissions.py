"""The `submissions` connector: approved data of another Quire form, as a data source.

A budget form can offer the accounts of the approved budget as select options; a report can
read approved cost allocations. Unlike the other connectors this one reads Quire's own
database, so it takes two runtime services as keyword-only constructor arguments: the
database `session` and the `actor` asking. Rows are limited in SQL by
`quire.runtime.access.scope_filter(actor, permission, Submission)`: what the asking user may
not read never leaves the database. Fields a template hides or masks for anyone are never
offered, whoever asks, since a data source has no per-viewer masking.

The query is `submissions` (one row per submission) or the key of one of the form's table
fields (one row per line). Parameters are equality filters: `department` (its subtree
included), `year`, `month` (`YYYY-MM`), `submitter`, or any column of the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from pydantic import Field

from ..base import (
    Capabilities,
    ColumnInfo,
    Connector,
    ConnectorConfig,
    QueryRejected,
    SourceUnavailable,
    check_limit,
)

__all__ = ["SubmissionsConfig", "SubmissionsConnector"]

_HEAD: list[ColumnInfo] = [
    ColumnInfo("id", "number"),
    ColumnInfo("number"),
    ColumnInfo("department"),
    ColumnInfo("period"),
    ColumnInfo("submitter"),
]
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class SubmissionsConfig(ConnectorConfig):
    form: str = Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64)
    """Key of the form whose approved submissions are read, e.g. department-budget."""
    latest_only: bool = False
    """Only the latest approved submission per department and period (revised budgets)."""


class SubmissionsConnector(Connector):
    """Approved submissions of one form, scoped by the asking user's grants."""

    type_name: ClassVar[str] = "submissions"
    display_name: ClassVar[Mapping[str, str]] = {
        "zh": "其他表单的已批准数据",
        "en": "Approved forms",
    }
    version: ClassVar[str] = "1.0"
    Config: ClassVar[type[ConnectorConfig]] = SubmissionsConfig
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "form": {
            "zh": "表单",
            "en": "Form",
            "help_zh": "读取哪个表单的已批准数据（表单键，如 department-budget）。",
        },
        "latest_only": {
            "zh": "只取最新",
            "en": "Latest only",
            "help_zh": "每个部门、每个期间只取最新一份已批准的提交（修订后的预算）。",
        },
    }
    capabilities: ClassVar[Capabilities] = Capabilities(filter_pushdown=True)

    config: SubmissionsConfig

    def __init__(
        self,
        config: ConnectorConfig | Mapping[str, Any],
        *,
        session: Any = None,
        actor: Any = None,
        permission: Any = None,
    ) -> None:
        super().__init__(config)
        self.session = session
        self.actor = actor
        self.permission = permission

    # --- the contract -------------------------------------------------------------------------

    def test_connection(self) -> None:
        self._template()

    def columns(self, query: str) -> list[ColumnInfo]:
        return self._columns(self._template(), query)

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        check_limit(limit)
        template = self._template()
        columns = self._columns(template, query)
        names = {c.name for c in columns}
        unknown = sorted(set(params) - names - {"year", "month"})
        if unknown:
            raise QueryRejected(
                f"{query} has no column {', '.join(unknown)} to filter on "
                f"(columns: {', '.join(c.name for c in columns)})."
            )
        if self.actor is None:
            raise QueryRejected("The submissions connector needs the asking user.")
        return self._rows(query, columns, dict(params), limit)

    # --- internals ----------------------------------------------------------------------------

    def _session(self) -> Any:
        if self.session is None:
            from quire.runtime.extensions import db

            return db.session
        return self.session

    def _template(self) -> Any:
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from quire.runtime.forms import templates
        from quire.runtime.models import FormTemplate, TemplateVersion

        try:
            record = self._session().scalar(
                select(FormTemplate).where(FormTemplate.key == self.config.form)
            )
            if record is None or not record.latest_version:
                raise SourceUnavailable(f"The form {self.config.form!r} is not published.")
            version = self._session().scalar(
                select(TemplateVersion).where(
                    TemplateVersion.template_id == record.id,
                    TemplateVersion.version == record.latest_version,
                )
            )
        except SQLAlchemyError as exc:
            raise SourceUnavailable("Quire's database cannot be read.") from exc
        return templates.parsed(version)

    def _columns(self, template: Any, query: str) -> list[ColumnInfo]:
        from quire.widgets.registry import default_registry

        registry = default_registry()
        restricted = {
            p.field for p in template.permissions if str(p.access) in {"hidden", "masked"}
        }
        if query == "submissions":
            fields = template.fields
        else:
            table = next(
                (f for f in template.fields if f.key == query and registry.for_field(f).repeats),
                None,
            )
            if table is None:
                raise QueryRejected(
                    f"Ask for 'submissions' or a table of {self.config.form}, not {query!r}."
                )
            if table.key in restricted:
                return list(_HEAD)
            fields = table.columns
        head = {c.name for c in _HEAD}
        kinds = {f.key: registry.for_field(f).connector_type for f in fields}
        return [*_HEAD] + [
            ColumnInfo(f.key, kinds[f.key])  # type: ignore[arg-type]
            for f in fields
            if kinds[f.key] is not None and f.key not in restricted and f.key not in head
        ]

    def _rows(
        self, query: str, columns: list[ColumnInfo], params: dict[str, Any], limit: int
    ) -> Iterator[dict[str, Any]]:
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from quire.runtime import access
        from quire.runtime.models import (
            Department,
            FormTemplate,
            Submission,
            SubmissionStatus,
            User,
        )

        permission = self.permission or access.Permission.SUBMISSION_READ
        stmt = (
            select(Submission, Department.code, User.username)
            .join(FormTemplate, FormTemplate.id == Submission.template_id)
            .join(Department, Department.id == Submission.department_id)
            .join(User, User.id == Submission.submitter_id)
            .where(
                FormTemplate.key == self.config.form,
                Submission.status == SubmissionStatus.APPROVED,
                access.scope_filter(self.actor, permission, Submission),
            )
            .order_by(Submission.period, Submission.id)
        )
        if "department" in params:
            codes = params.pop("department")
            codes = codes if isinstance(codes, list | tuple | set) else [codes]
            paths = select(Department.path).where(Department.code.in_([str(c) for c in codes]))
            subtree = [
                Department.path.startswith(path, autoescape=True)
                for path in self._session().scalars(paths)
            ]
            if not subtree:
                return
            from sqlalchemy import or_

            stmt = stmt.where(or_(*subtree))
        if "year" in params:
            year = _year(params.pop("year"))
            stmt = stmt.where(Submission.period.between(date(year, 1, 1), date(year, 12, 31)))
        if "month" in params:
            year, month = _month(params.pop("month"))
            stmt = stmt.where(Submission.period == date(year, month, 1))
        types = {c.name: c.type for c in columns}
        try:
            found = list(self._session().execute(stmt))
        except SQLAlchemyError as exc:
            raise SourceUnavailable("Quire's database cannot be read.") from exc
        if self.config.latest_only:
            found = _latest(found)
        count = 0
        for submission, department, submitter in found:
            head = {
                "id": submission.id,
                "number": submission.number,
                "department": department,
                "period": submission.period.strftime("%Y-%m"),
                "submitter": submitter,
            }
            data = submission.data or {}
            records = [data] if query == "submissions" else [r for r in data.get(query) or [] if r]
            for record in records:
                row = {
                    c.name: head[c.name] if c.name in head else _value(record.get(c.name), c.type)
                    for c in columns
                }
                if all(_same(row.get(k), v, types[k]) for k, v in params.items()):
                    yield row
                    count += 1
                    if count >= limit:
                        return


def _year(value: Any) -> int:
    try:
        year = int(str(value))
    except ValueError:
        raise QueryRejected(f"{value!r} is not a year.") from None
    if not 1900 <= year <= 2999:
        raise QueryRejected(f"{value!r} is not a year.")
    return year


def _month(value: Any) -> tuple[int, int]:
    match = _MONTH.match(str(value))
    if match is None:
        raise QueryRejected(f"{value!r} is not a month (YYYY-MM).")
    return int(match.group(1)), int(match.group(2))


def _latest(found: list[Any]) -> list[Any]:
    """One submission per department and period: the latest decided (a revision wins)."""

    def rank(submission: Any) -> tuple[float, int]:
        decided = submission.decided_at
        return (decided.timestamp() if decided else 0.0, submission.id)

    best: dict[tuple[int, date], Any] = {}
    for item in found:
        slot = (item[0].department_id, item[0].period)
        if slot not in best or rank(item[0]) > rank(best[slot][0]):
            best[slot] = item
    keep = {id(v) for v in best.values()}
    return [item for item in found if id(item) in keep]


def _value(value: Any, kind: str) -> Any:
    if value in (None, ""):
        return None
    if kind in {"money", "number"}:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if kind == "date":
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None
    if kind == "boolean":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def _same(found: Any, wanted: Any, kind: str) -> bool:
    """Equality after bringing the parameter to the column's type ("1200" equals 1200.00)."""
    return found is not None and found == _value(wanted, kind)
