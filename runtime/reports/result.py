"""A resolved report: typed rows with formula columns, flags, drill-down links, subtotals and
the grand total, and how it reads as the API's JSON and as a renderer's document."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from quire.designer.model import ReportColumn, Template
from quire.designer.report import COMPANION_SUFFIX, StepContext, decimal_sum, evaluator
from quire.widgets.base import Bilingual, localized

from ..render.document import (
    FLAGS_KEY,
    MEMBERS_KEY,
    NUMERIC_TYPES,
    STYLE_KEY,
    ChartSpec,
    Column,
    ReportDocument,
    Thresholds,
)
from .parameters import Parameters, ReportDefinition, refer

LINKS_KEY = "_links"
#: ``=row.account`` in a link's parameters: the row's value only (left out where the row has
#: none, as on a subtotal; empty text is passed as :data:`ROW_EMPTY`), never the report
#: parameter of that name.
ROW_PREFIX = "row."
#: What ``=row.project`` passes for a row whose value is empty text (claims of no project), so
#: the drill-down lists those rather than everything.
ROW_EMPTY = "-"
SUBTOTAL = {"zh": "小计", "en": "Subtotal"}
#: Places of the decimal strings the API sends: money 2, percent (a fraction) 4.
JSON_PLACES = {"money": 2, "percent": 4, "number": 2}


@dataclass(frozen=True)
class ResultColumn:
    spec: ReportColumn
    #: Code → label in the reader's language (see :func:`with_labels`).
    labels: Mapping[str, str] | None = None
    #: A code column whose label column is shown beside it: CSV and the API only.
    codes_only: bool = False

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
            self.key,
            label,
            self.spec.type,
            width=self.spec.width,
            thresholds=self.thresholds,
            labels=self.labels,
            codes_only=self.codes_only,
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
    #: Sentences under the title saying how the numbers are counted, in the reader's language
    #: (where budget actuals come from; which statuses a total adds up).
    basis: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.report.key

    @property
    def people_columns(self) -> list[ResultColumn]:
        """The columns a person reads (the web table): code-only columns left out."""
        return [c for c in self.columns if not c.codes_only]

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
            "basis": list(self.basis),
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
            paper=layout.paper,
            sheet_name=layout.sheet_name,
            subtitle={"zh": " ".join(self.basis), "en": " ".join(self.basis)}
            if self.basis
            else None,
        )


#: Code columns that stay as they are for people: department codes are the organisation's
#: own short names (``RD``, ``SALES-E``), not words of a language.
KEPT_CODES = frozenset(("department",))


def with_labels(
    columns: list[ResultColumn], rows: list[dict[str, Any]], locale: str
) -> list[ResultColumn]:
    """Give code columns their labels in ``locale``: a ``status`` column its status words, a
    column ``x`` whose rows carry ``x_name`` (a category, a step, an account) the names the
    rows carry. A code column whose ``x_name`` is also a column is left to CSV and the API."""
    from ..words import STATUS_WORDS, in_locale

    keys = {c.key for c in columns}
    out = []
    for column in columns:
        if column.type != "text" or column.key in KEPT_CODES:
            out.append(column)
            continue
        companion = f"{column.key}{COMPANION_SUFFIX}"
        labels: dict[str, str] = {}
        for row in rows:
            code, name = row.get(column.key), row.get(companion)
            if code not in (None, "") and name not in (None, "") and not row.get(STYLE_KEY):
                labels.setdefault(str(code), str(name))
        if column.key == "status":
            words = {code: in_locale(locale, STATUS_WORDS, code) for code in STATUS_WORDS}
            labels = {**words, **labels}
        out.append(
            replace(column, labels=labels or None, codes_only=bool(labels) and companion in keys)
        )
    return out


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


class Derive:
    """Formula columns, flags and links for detail, subtotal and total rows alike."""

    def __init__(self, columns: list[ResultColumn], params: Parameters, ctx: StepContext):
        self.columns = columns
        self.params = params
        self.formulas = [(c, evaluator(c.spec.formula, ctx)) for c in columns if c.spec.formula]
        self.flagged = [(c.key, c.thresholds) for c in columns if c.thresholds is not None]
        self.linked = [c for c in columns if c.spec.link is not None]

    def finish(self, row: dict[str, Any], *, links: bool = True) -> dict[str, Any]:
        for column, formula in self.formulas:
            value = formula(row)
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
            if name.startswith(ROW_PREFIX):
                # The row's own value, never a parameter; a subtotal row has only the value it
                # groups by (its other text cells are labels such as "Subtotal").
                key = name.removeprefix(ROW_PREFIX)
                if row.get(STYLE_KEY) and key not in (row.get(MEMBERS_KEY) or {}):
                    return None
                found = row.get(key)
                return ROW_EMPTY if found == "" else found
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


def subtotal_column(template: Template, params: Parameters, keys: set[str]) -> str | None:
    name = refer(template.report.subtotals, params) if template.report.subtotals else None
    return str(name) if name and name in keys else None


def summed(columns: list[ResultColumn], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {c.key: decimal_sum(r.get(c.key) for r in rows) for c in columns if c.summable}


def with_subtotals(
    rows: list[dict[str, Any]],
    by: str,
    columns: list[ResultColumn],
    derive: Derive,
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
        subtotal.update(summed(columns, group))
        if label_at and label_at not in subtotal:
            subtotal[label_at] = localized(Bilingual(**SUBTOTAL), locale)
        subtotal[STYLE_KEY] = "subtotal"
        subtotal[MEMBERS_KEY] = {by: [group[0].get(by)]}
        out.append(derive.finish(subtotal))

    for row in rows:
        if group and row.get(by) != group[0].get(by):
            close()
            group = []
        group.append(row)
    close()
    return out
