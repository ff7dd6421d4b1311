"""The report engine: a report template and a reader's parameters in, a resolved report out.

Pure: it takes the actor, never the request, and knows nothing of HTTP. The life of a run:

1. :func:`definition` loads the published report template (404 for anything else);
2. :func:`resolve_parameters` checks each parameter (422 naming it; a department outside the
   reader's scope is 404, as if it did not exist);
3. each dataset is read through a scoped provider (:mod:`.sources`): row-level scope is
   applied in SQL, *before* any aggregation, so totals, subtotals, charts, drill-downs and
   exports are all built from rows the reader may see; a dataset that only feeds sums is
   summed by the database under that same scope (:func:`_rollup`);
4. the datasets go through their transforms, are stacked into one pandas frame, and go
   through the report's transforms (filter, compute, group with aggregates, sort);
5. formula columns, subtotals, the grand total, threshold flags and drill-down links are
   added, giving a :class:`ReportResult` that serialises to the API's
   ``{columns, rows, totals}`` and converts to a renderer's :class:`ReportDocument`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from flask import current_app, has_app_context
from sqlalchemy import select

from quire.designer.formula import FormulaError, parse
from quire.designer.model import (
    ReportChart,
    ReportColumn,
    ReportParameter,
    ReportTransform,
    Template,
)
from quire.widgets.base import Bilingual, localized

from .. import access
from ..access import Permission
from ..errors import Detail, Forbidden, Invalid, NotFound
from ..extensions import db
from ..forms import templates as template_service
from ..models import Department, FormTemplate, SubmissionStatus, User, utcnow
from ..render.document import (
    FLAGS_KEY,
    NUMERIC_TYPES,
    STYLE_KEY,
    ChartSpec,
    Column,
    ReportDocument,
    Thresholds,
)
from . import sources

LINKS_KEY = "_links"
#: Columns that travel with a grouping column (its display name).
COMPANION_SUFFIX = "_name"
ALL = {"zh": "全部", "en": "All"}
SUBTOTAL = {"zh": "小计", "en": "Subtotal"}
CENT = Decimal("0.01")
#: Places of the decimal strings the API sends: money 2, percent (a fraction) 4.
JSON_PLACES = {"money": 2, "percent": 4, "number": 2}
#: Largest number of points a chart plots.
MAX_CHART_POINTS = 200

_AGGREGATE = re.compile(r"^\s*([a-z_0-9]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)?\s*\)\s*$")


# --- definitions and parameters ---------------------------------------------------------------


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


def local_now() -> dt.datetime:
    zone = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "UTC"
    return utcnow().astimezone(ZoneInfo(zone))


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


def _refer(value: Any, params: Parameters) -> Any:
    """``=name`` → the parameter's value; anything else as written."""
    if isinstance(value, str) and value.startswith("="):
        return params.values.get(value[1:])
    return value


# --- the pipeline -------------------------------------------------------------------------------


def _evaluator(source: str) -> Callable[[Mapping[str, Any], dt.date], Any]:
    formula = parse(source)

    def run(values: Mapping[str, Any], today: dt.date) -> Any:
        try:
            return formula.evaluate(values, today=today)
        except (FormulaError, InvalidOperation, ZeroDivisionError):
            return None

    return run


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    clean = frame.astype(object).where(pd.notna(frame), None)
    return clean.to_dict("records")


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows)) if rows else pd.DataFrame()


def _numbers(values: Iterable[Any]) -> list[float]:
    return [
        float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]


def _as_decimal(value: float | None, places: int = 2) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _sum(values: Iterable[Any]) -> Decimal:
    total = Decimal(0)
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        total += v if isinstance(v, Decimal) else Decimal(str(v))
    return total


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(pd.Series(values).quantile(q))


AGGREGATES: dict[str, Callable[[list[Any]], Any]] = {
    "sum": _sum,
    "count": lambda vs: sum(1 for v in vs if v is not None),
    "count_true": lambda vs: sum(1 for v in vs if v is True or v == 1),
    "median": lambda vs: _as_decimal(_percentile(_numbers(vs), 0.5)),
    "p90": lambda vs: _as_decimal(_percentile(_numbers(vs), 0.9)),
    "mean": lambda vs: _as_decimal(sum(ns) / len(ns)) if (ns := _numbers(vs)) else None,
    "min": lambda vs: min((v for v in vs if v is not None), default=None),
    "max": lambda vs: max((v for v in vs if v is not None), default=None),
    "first": lambda vs: next((v for v in vs if v is not None), None),
}


def _by(step: ReportTransform, params: Parameters) -> list[str]:
    raw = getattr(step, "by", None) or []
    names = [raw] if isinstance(raw, str) else list(raw)
    resolved: list[str] = []
    for name in names:
        value = _refer(name, params)
        if value and value not in resolved:
            resolved.append(str(value))
    return resolved


def _group(frame: pd.DataFrame, step: ReportTransform, params: Parameters) -> pd.DataFrame:
    by = [c for c in _by(step, params) if c in frame.columns]
    aggregates: Mapping[str, str] = getattr(step, "aggregates", None) or {}
    plans: list[tuple[str, Callable[[list[Any]], Any], str | None]] = []
    for target, expression in aggregates.items():
        match = _AGGREGATE.match(str(expression))
        if match is None or match.group(1) not in AGGREGATES:
            raise Invalid(
                "The report is misconfigured.", [Detail(f"aggregates.{target}", "unknown")]
            )
        plans.append((target, AGGREGATES[match.group(1)], match.group(2)))
    companions = [f"{c}{COMPANION_SUFFIX}" for c in by if f"{c}{COMPANION_SUFFIX}" in frame.columns]
    if frame.empty:
        return pd.DataFrame(columns=[*by, *companions, *(p[0] for p in plans)])
    keyed = frame.copy()
    for column in by:
        keyed[column] = keyed[column].astype(object).where(pd.notna(keyed[column]), "")
    out: list[dict[str, Any]] = []
    groups = keyed.groupby(by, sort=True, dropna=False) if by else [((), keyed)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        for companion in companions:
            row[companion] = AGGREGATES["first"](part[companion].tolist())
        for target, function, column in plans:
            values = (
                part[column].tolist()
                if column and column in part.columns
                else ([None] * len(part) if column else [1] * len(part))
            )
            row[target] = function(values)
        out.append(row)
    return _frame(out)


def _phase_quarters(frame: pd.DataFrame, step: ReportTransform) -> pd.DataFrame:
    """Spread quarterly amounts evenly over the quarter's months (remainder in its last month)."""
    quarters = list(getattr(step, "columns", None) or ["q1", "q2", "q3", "q4"])
    into = str(getattr(step, "into", "amount"))
    out: list[dict[str, Any]] = []
    for row in _records(frame):
        year = row.get("year")
        base = {k: v for k, v in row.items() if k not in quarters}
        for q, column in enumerate(quarters):
            amount = row.get(column)
            amount = Decimal(str(amount)) if amount is not None else Decimal(0)
            share = (amount / 3).quantize(CENT, rounding=ROUND_HALF_UP)
            for m in range(3):
                month = q * 3 + m + 1
                value = share if m < 2 else amount - 2 * share
                out.append({**base, "month": f"{year}-{month:02d}", into: value})
    return _frame(out)


def _apply(
    frame: pd.DataFrame, steps: Sequence[ReportTransform], params: Parameters, today: dt.date
) -> pd.DataFrame:
    for step in steps:
        if step.op == "filter":
            where = _evaluator(str(getattr(step, "where", "TRUE")))
            if frame.empty:
                continue
            keep = [bool(where({**params.values, **r}, today)) for r in _records(frame)]
            frame = frame[keep].reset_index(drop=True)
        elif step.op == "compute":
            formula = _evaluator(str(getattr(step, "formula", "")))
            column = str(getattr(step, "column", ""))
            if not frame.empty:
                frame[column] = [formula({**params.values, **r}, today) for r in _records(frame)]
        elif step.op == "rename":
            mapping: dict[str, str] = dict(getattr(step, "columns", None) or {})
            for old, new in list(mapping.items()):
                mapping[f"{old}{COMPANION_SUFFIX}"] = f"{new}{COMPANION_SUFFIX}"
            frame = frame.rename(columns=mapping)
        elif step.op == "phase_quarters":
            frame = _phase_quarters(frame, step)
        elif step.op == "group":
            frame = _group(frame, step, params)
        elif step.op == "sort":
            by = [c for c in _by(step, params) if c in frame.columns]
            if by and not frame.empty:
                frame = frame.sort_values(
                    by=by,
                    ascending=not bool(getattr(step, "descending", False)),
                    key=lambda s: s.map(lambda v: "" if v is None else v),
                    kind="stable",
                ).reset_index(drop=True)
    return frame


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultColumn:
    spec: ReportColumn

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def type(self) -> str:
        return self.spec.type

    @property
    def thresholds(self) -> Thresholds | None:
        t = self.spec.thresholds
        return Thresholds(Decimal(t.amber), Decimal(t.red), t.above) if t else None

    @property
    def summable(self) -> bool:
        return (
            self.spec.type in NUMERIC_TYPES
            and self.spec.formula is None
            and self.spec.total != "none"
            and self.spec.type != "percent"
        )

    def label(self, locale: str) -> str:
        return localized(self.spec.label, locale)

    def as_render_column(self) -> Column:
        label = {"zh": self.spec.label.zh, "en": self.spec.label.en}
        return Column(
            self.key, label, self.spec.type, width=self.spec.width, thresholds=self.thresholds
        )


@dataclass
class ReportResult:
    """A resolved report: typed rows (Decimal money, Decimal fractions for percent, dates)."""

    report: ReportDefinition
    parameters: Parameters
    columns: list[ResultColumn]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None
    charts: list[ChartSpec]
    locale: str
    generated_at: dt.datetime
    generated_by: str
    detail_count: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.report.key

    def title(self) -> str:
        return self.report.title(self.locale)

    def to_json(
        self, link: Callable[[Mapping[str, Any]], str | None] | None = None
    ) -> dict[str, Any]:
        """The API's ``{columns, rows, totals}``: money and rates as decimal strings."""
        columns = [
            {"key": c.key, "label": c.label(self.locale), "type": c.type} for c in self.columns
        ]
        rows = []
        for row in self.rows:
            out = {c.key: json_value(row.get(c.key), c.type) for c in self.columns}
            if row.get(STYLE_KEY):
                out[STYLE_KEY] = row[STYLE_KEY]
            if row.get(FLAGS_KEY):
                out[FLAGS_KEY] = dict(row[FLAGS_KEY])
            if link is not None and row.get(LINKS_KEY):
                urls = {k: link(v) for k, v in row[LINKS_KEY].items()}
                out[LINKS_KEY] = {k: u for k, u in urls.items() if u}
            rows.append(out)
        totals = None
        if self.totals is not None:
            totals = {
                c.key: json_value(self.totals.get(c.key), c.type)
                for c in self.columns
                if c.key in self.totals
            }
        return {
            "report": self.key,
            "version": self.report.version,
            "title": self.title(),
            "parameters": self.parameters.query(),
            "columns": columns,
            "rows": rows,
            "totals": totals,
        }

    def to_document(self, *, company: str, orientation: str | None = None) -> ReportDocument:
        """The renderers' document (Excel, CSV, PDF), with the first chart."""
        title = {"zh": self.report.template.title.zh, "en": self.report.template.title.en}
        layout = self.report.template.report
        return ReportDocument(
            title=title,
            company=company,
            columns=tuple(c.as_render_column() for c in self.columns),
            rows=self.rows,
            generated_at=self.generated_at,
            generated_by=self.generated_by,
            template_key=self.key,
            template_version=self.report.version,
            locale="en" if self.locale.startswith("en") else "zh_CN",
            orientation=orientation or layout.orientation,  # type: ignore[arg-type]
            parameters=self.parameters.display,
            totals=self.totals,
            chart=self.charts[0] if self.charts else None,
        )


def json_value(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None if kind != "text" else ("" if value == "" else None)
    if kind == "text":
        return str(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    if kind == "integer":
        return int(number.to_integral_value(rounding=ROUND_HALF_UP))
    places = JSON_PLACES.get(kind, 2)
    return str(number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _typed(value: Any, kind: str) -> Any:
    """A pipeline value in the column's Python type (Decimal, int, date or str)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind in ("money", "number", "percent"):
        if value == "":
            return None
        try:
            return value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            return None
    if kind == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if kind == "date":
        return value if isinstance(value, dt.date) else None
    return value if isinstance(value, str) else str(value)


class _Derive:
    """Formula columns, flags and links for detail, subtotal and total rows alike."""

    def __init__(self, columns: list[ResultColumn], params: Parameters, today: dt.date):
        self.columns = columns
        self.params = params
        self.today = today
        self.formulas = [(c, _evaluator(c.spec.formula)) for c in columns if c.spec.formula]
        self.flagged = [(c.key, c.thresholds) for c in columns if c.thresholds is not None]
        self.linked = [c for c in columns if c.spec.link is not None]

    def finish(self, row: dict[str, Any], *, links: bool = True) -> dict[str, Any]:
        for column, formula in self.formulas:
            value = formula({**self.params.values, **row}, self.today)
            row[column.key] = _typed(value, column.type)
        for column in self.columns:
            if column.key in row:
                row[column.key] = _typed(row[column.key], column.type)
        flags = {}
        for key, thresholds in self.flagged:
            flag = thresholds.flag_for(row.get(key)) if thresholds else None
            if flag:
                flags[key] = flag
        if flags:
            row[FLAGS_KEY] = flags
        if links:
            found = {}
            for column in self.linked:
                target = self._link(column, row)
                if target:
                    found[column.key] = target
            if found:
                row[LINKS_KEY] = found
        return row

    def _link(self, column: ResultColumn, row: Mapping[str, Any]) -> dict[str, Any] | None:
        spec = column.spec.link
        assert spec is not None

        def value_of(text: str) -> Any:
            if not text.startswith("="):
                return text
            name = text[1:]
            if name in row:
                return row[name]
            return self.params.raw.get(name)

        if spec.submission:
            found = value_of(spec.submission)
            return {"submission": int(found)} if found not in (None, "") else None
        if spec.report:
            params = {}
            for key, text in spec.params.items():
                found = value_of(text)
                if found in (None, ""):
                    if text.startswith("=") and text[1:] in row:
                        return None  # the row lacks what the link needs (a total row)
                    continue
                params[key] = str(found)
            return {"report": spec.report, "params": params}
        return None


def _subtotal_column(template: Template, params: Parameters, keys: set[str]) -> str | None:
    name = _refer(template.report.subtotals, params) if template.report.subtotals else None
    return str(name) if name and name in keys else None


def _summed(columns: list[ResultColumn], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {c.key: _sum(r.get(c.key) for r in rows) for c in columns if c.summable}


def _with_subtotals(
    rows: list[dict[str, Any]],
    by: str,
    columns: list[ResultColumn],
    derive: _Derive,
    locale: str,
) -> list[dict[str, Any]]:
    text_columns = [c.key for c in columns if c.type == "text"]
    label_at = next(
        (k for k in text_columns if k not in (by, f"{by}{COMPANION_SUFFIX}")),
        text_columns[0] if text_columns else None,
    )
    out: list[dict[str, Any]] = []
    group: list[dict[str, Any]] = []

    def close() -> None:
        if not group:
            return
        out.extend(group)
        subtotal: dict[str, Any] = {by: group[0].get(by)}
        companion = f"{by}{COMPANION_SUFFIX}"
        if companion in group[0]:
            subtotal[companion] = group[0][companion]
        subtotal.update(_summed(columns, group))
        if label_at and label_at not in subtotal:
            subtotal[label_at] = localized(Bilingual(**SUBTOTAL), locale)
        subtotal[STYLE_KEY] = "subtotal"
        out.append(derive.finish(subtotal))

    for row in rows:
        if group and row.get(by) != group[0].get(by):
            close()
            group = []
        group.append(row)
    close()
    return out


def _chart(
    spec: ReportChart,
    result_columns: list[ResultColumn],
    rows: list[dict[str, Any]],
    subtotal_by: str | None,
    locale: str,
) -> ChartSpec | None:
    use_subtotals = spec.rows == "subtotals" and subtotal_by is not None
    chosen = [r for r in rows if (r.get(STYLE_KEY) == "subtotal") == use_subtotals]
    chosen = chosen[:MAX_CHART_POINTS]
    if not chosen:
        return None
    by_key = {c.key: c for c in result_columns}
    values = [v for v in spec.values if v in by_key]
    if not values:
        return None
    category = spec.category
    if category not in chosen[0]:
        fallbacks = [f"{subtotal_by}{COMPANION_SUFFIX}", subtotal_by] if subtotal_by else []
        fallbacks += [c.key for c in result_columns if c.type == "text"]
        category = next((c for c in fallbacks if c and c in chosen[0]), None)
        if category is None:
            return None
    data = []
    for row in chosen:
        point: dict[str, Any] = {category: str(row.get(category) or "")}
        for v in values:
            number = row.get(v)
            point[v] = float(number) if number is not None else None
        flag = (row.get(FLAGS_KEY) or {}).get(values[0])
        point["flag"] = flag or "ok"
        data.append(point)
    first = by_key[values[0]]
    axis: dict[str, Any] = {"format": ".0%"} if first.type == "percent" else {"format": ",.0f"}
    category_title = by_key[category].label(locale) if category in by_key else category
    encoding: dict[str, Any] = {
        "x": {
            "field": category,
            "type": "nominal",
            "title": category_title,
            "sort": None,
            "axis": {"labelAngle": -30},
        },
    }
    vega: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": data},
        "width": 520,
        "height": 240,
    }
    if len(values) == 1:
        encoding["y"] = {
            "field": values[0],
            "type": "quantitative",
            "title": first.label(locale),
            "axis": axis,
        }
        if first.thresholds is not None:
            encoding["color"] = {
                "field": "flag",
                "type": "nominal",
                "legend": None,
                "scale": {
                    "domain": ["ok", "amber", "red"],
                    "range": ["#4C78A8", "#E8A33D", "#D6404E"],
                },
            }
        vega["mark"] = {"type": spec.kind if spec.kind != "pie" else "arc", "tooltip": True}
        if spec.kind == "pie":
            vega["mark"] = {"type": "arc", "tooltip": True}
            encoding = {
                "theta": {"field": values[0], "type": "quantitative"},
                "color": {"field": category, "type": "nominal", "title": category_title},
            }
    else:
        labels = {v: by_key[v].label(locale) for v in values}
        vega["transform"] = [
            {"fold": values, "as": ["series_key", "value"]},
            {
                "calculate": " : ".join(
                    f"datum.series_key === '{k}' ? '{lab}'" for k, lab in labels.items()
                )
                + " : datum.series_key",
                "as": "series",
            },
        ]
        encoding["y"] = {"field": "value", "type": "quantitative", "title": None, "axis": axis}
        encoding["color"] = {"field": "series", "type": "nominal", "title": None}
        encoding["xOffset"] = {"field": "series"}
        vega["mark"] = {"type": spec.kind, "tooltip": True}
    vega["encoding"] = encoding
    title = spec.title or Bilingual(**{"zh": "图表", "en": "Chart"})
    if spec.title:
        vega["title"] = localized(spec.title, locale)
    return ChartSpec(
        vega_lite=vega,
        kind=spec.kind,
        category=category,
        values=tuple(values),
        title={"zh": title.zh, "en": title.en},
    )


def run(
    user: User,
    key: str,
    raw_params: Mapping[str, Any] | None = None,
    *,
    locale: str = "zh_CN",
    today: dt.date | None = None,
    push_down: bool = True,
) -> ReportResult:
    """Run report ``key`` for ``user``: 404 unknown report, 403 no REPORT_READ, 422 a bad
    parameter (named in the details), 404 a department outside the reader's scope.

    A dataset that only feeds sums is added up in the database (:func:`_rollup`);
    ``push_down=False`` reads every row instead (the same answer, for tests and benchmarks)."""
    report = definition(key)
    require_reader(user)
    now = local_now()
    today = today or now.date()
    params = resolve_parameters(user, report, raw_params or {}, locale=locale, today=today)
    template = report.template
    sources_by_key = {s.key: s for s in template.data_sources}

    frames = []
    for dataset in template.datasets:
        source = sources_by_key[dataset.source]
        resolved = {k: _refer(v, params) for k, v in dataset.params.items()}
        filters = sources.Filters(
            year=resolved.get("year"),
            month=resolved.get("month"),
            department=resolved.get("department"),
            status=resolved.get("status"),
        )
        rollup = _rollup(template, dataset.transforms, params) if push_down else None
        rows = sources.load(user, source, filters, locale, rollup)
        frame = _apply(_frame(rows), dataset.transforms, params, today)
        frame["dataset"] = dataset.key if not frame.empty else None
        frames.append(frame)
    non_empty = [f for f in frames if not f.empty]
    frame = pd.concat(non_empty, ignore_index=True, sort=False) if non_empty else pd.DataFrame()
    frame = _apply(frame, template.transforms, params, today)
    detail = _records(frame)

    present = set(frame.columns) if not frame.empty else _declared_outputs(template, params)
    columns = [
        ResultColumn(c) for c in template.columns if c.formula is not None or c.key in present
    ]
    derive = _Derive(columns, params, today)
    detail = [derive.finish(dict(r)) for r in detail]
    subtotal_by = _subtotal_column(template, params, present)
    grouped_by = _last_group_keys(template, params)
    if subtotal_by and grouped_by and len(grouped_by) > 1:
        rows = _with_subtotals(detail, subtotal_by, columns, derive, locale)
    else:
        subtotal_by = None
        rows = detail
    totals = None
    if template.report.totals:
        totals = derive.finish(_summed(columns, detail), links=False)
        totals.pop(FLAGS_KEY, None)
    charts = [
        chart
        for spec in template.charts
        if (chart := _chart(spec, columns, rows, subtotal_by, locale)) is not None
    ]
    return ReportResult(
        report=report,
        parameters=params,
        columns=columns,
        rows=rows,
        totals=totals,
        charts=charts,
        locale=locale,
        generated_at=now,
        generated_by=user.display_name or user.username,
        detail_count=len(detail),
    )


def _rollup(
    template: Template, steps: Sequence[ReportTransform], params: Parameters
) -> sources.Rollup | None:
    """What a dataset's rows are needed for, when that is only sums: its own transforms only
    rename columns, and the report's first transform groups with ``sum`` aggregates. Rows
    summed by the grouping keys (in the source's column names) then give the same report as
    the rows themselves, so the source may add them up where they are stored. None when the
    rows themselves are needed."""
    if not template.transforms or template.transforms[0].op != "group":
        return None
    if any(step.op != "rename" for step in steps):
        return None
    group = template.transforms[0]
    keys = set(_by(group, params))
    sums: set[str] = set()
    for expression in (getattr(group, "aggregates", None) or {}).values():
        match = _AGGREGATE.match(str(expression))
        if match is None or match.group(1) != "sum" or not match.group(2):
            return None
        sums.add(match.group(2))
    for step in reversed(steps):
        renamed = {new: old for old, new in (getattr(step, "columns", None) or {}).items()}
        keys = {renamed.get(k, k) for k in keys}
        sums = {renamed.get(k, k) for k in sums}
    return sources.Rollup(frozenset(keys), frozenset(sums))


def _last_group_keys(template: Template, params: Parameters) -> list[str]:
    for step in reversed(template.transforms):
        if step.op == "group":
            return _by(step, params)
    return []


def _declared_outputs(template: Template, params: Parameters) -> set[str]:
    """Columns an empty report still shows: the last grouping's keys and aggregates."""
    for step in reversed(template.transforms):
        if step.op == "group":
            by = _by(step, params)
            names = set(by) | {f"{b}{COMPANION_SUFFIX}" for b in by}
            return names | set((getattr(step, "aggregates", None) or {}).keys())
    return {c.key for c in template.columns}
