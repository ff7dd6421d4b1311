"""Running a report: a report template and a reader's parameters in, a resolved report out.

Pure: it takes the actor, never the request, and knows nothing of HTTP. The life of a run:

1. the published template is loaded (404 for anything else) and the parameters checked
   (:mod:`.parameters`);
2. each dataset is read through a scoped provider (:mod:`.sources`): row-level scope is
   applied in SQL, *before* any aggregation, so totals, subtotals, charts, drill-downs and
   exports are all built from rows the reader may see; a dataset that only feeds sums is
   summed by the database under that same scope (:func:`.transforms.rollup`);
3. the datasets go through their steps, are stacked into one pandas frame, and go through
   the report's steps (:mod:`.transforms`);
4. formula columns, subtotals, the grand total, threshold flags and drill-down links are
   added (:mod:`.result`), and the charts drawn (:mod:`.charts`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from quire.designer.model import ReportColumn, Template
from quire.designer.report import (
    COMPANION_SUFFIX,
    GroupStep,
    PivotStep,
    frame_of,
    records,
)
from quire.widgets.base import Bilingual, localized

from ..models import User
from ..render.document import FLAGS_KEY, MEMBERS_KEY, STYLE_KEY
from . import sources, transforms
from .charts import chart
from .parameters import (
    Parameters,
    ReportDefinition,
    definition,
    local_now,
    refer,
    require_reader,
    resolve_parameters,
)
from .result import (
    Derive,
    ReportResult,
    ResultColumn,
    subtotal_column,
    summed,
    with_labels,
    with_subtotals,
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
    parameter (named in the details) or a step that cannot run, 404 a department outside
    the reader's scope.

    A dataset that only feeds sums is added up in the database; ``push_down=False`` reads
    every row instead (the same answer, for tests and benchmarks)."""
    report = definition(key)
    require_reader(user)
    return resolve(user, report, raw_params, locale=locale, today=today, push_down=push_down)


def resolve(
    user: User,
    report: ReportDefinition,
    raw_params: Mapping[str, Any] | None = None,
    *,
    locale: str = "zh_CN",
    today: dt.date | None = None,
    push_down: bool = True,
    limit: int | None = None,
) -> ReportResult:
    """Run ``report`` (published or a designer's draft) for ``user``, whose REPORT_READ
    scope bounds every row; ``limit`` keeps the first rows only (the designer's preview)."""
    now = local_now()
    today = today or now.date()
    params = resolve_parameters(user, report, raw_params or {}, locale=locale, today=today)
    template = report.template
    ctx = transforms.context(params, today)
    sources_by_key = {s.key: s for s in template.data_sources}

    frames: dict[str, pd.DataFrame] = {}
    stacked = []
    said = [sentence for sentence in status_basis(report, params, locale)]
    for index, dataset in enumerate(template.datasets):
        source = sources_by_key[dataset.source]
        if (sentence := sources.basis(source, locale)) and sentence not in said:
            said.append(sentence)
        resolved = {k: refer(v, params) for k, v in dataset.params.items()}
        filters = filters_of(resolved)
        plan = transforms.rollup(template, dataset.transforms, ctx) if push_down else None
        rows = sources.load(user, source, filters, locale, plan)
        ctx.datasets = frames
        frame = transforms.apply(
            frame_of(rows),
            dataset.transforms,
            ctx,
            template=report.key,
            path=f"datasets[{index}].transforms",
        )
        frame["dataset"] = dataset.key if not frame.empty else None
        frames[dataset.key] = frame
        if dataset.stack:
            stacked.append(frame)
    non_empty = [f for f in stacked if not f.empty]
    frame = pd.concat(non_empty, ignore_index=True, sort=False) if non_empty else pd.DataFrame()
    frame = transforms.apply(
        frame, template.transforms, ctx, template=report.key, path="transforms"
    )
    everything = records(frame)
    for row in everything:
        for meta in (STYLE_KEY, MEMBERS_KEY):
            if row.get(meta) is None:
                row.pop(meta, None)

    pivot = _last_pivot(template)
    present = set(frame.columns) if not frame.empty else _declared_outputs(template, params)
    columns = [
        ResultColumn(c) for c in template.columns if c.formula is not None or c.key in present
    ]
    pivot_columns: list[str] = []
    if pivot is not None:
        pivot_columns = _pivot_columns(pivot, frame, params)
        declared = {c.key for c in columns}
        columns += [
            ResultColumn(_pivot_column(pivot, name))
            for name in pivot_columns
            if name not in declared
        ]
        if pivot.total and pivot.total in present and pivot.total not in declared:
            columns.append(ResultColumn(_pivot_column(pivot, pivot.total, pivot.total_label)))
    derive = Derive(columns, params, ctx)
    everything = [derive.finish(dict(r)) for r in everything]
    detail = [r for r in everything if not r.get(STYLE_KEY)]
    subtotal_by = subtotal_column(template, params, present)
    grouped_by = _last_group_keys(template, params)
    if pivot is None and subtotal_by and grouped_by and len(grouped_by) > 1:
        rows = with_subtotals(detail, subtotal_by, columns, derive, locale)
    else:
        subtotal_by = "department" if len(detail) < len(everything) else None
        rows = everything
    columns = with_labels(columns, everything, locale)
    totals = None
    if template.report.totals:
        totals = derive.finish(summed(columns, detail), links=False)
        totals.pop(FLAGS_KEY, None)
    charts = [
        drawn
        for spec in template.charts
        if (drawn := chart(spec, columns, rows, subtotal_by, locale, pivot_columns)) is not None
    ]
    truncated = limit is not None and len(rows) > limit
    return ReportResult(
        report=report,
        parameters=params,
        columns=columns,
        rows=rows[:limit] if limit is not None else rows,
        totals=totals,
        charts=charts,
        locale=locale,
        generated_at=now,
        generated_by=user.display_name or user.username,
        detail_count=len(detail),
        notes=[f"first {limit} of {len(rows)} rows"] if truncated else [],
        basis=said,
    )


def filters_of(resolved: Mapping[str, Any]) -> sources.Filters:
    """A dataset's resolved parameters as the filters its provider understands."""
    only = resolved.get("only_department")
    return sources.Filters(
        year=resolved.get("year"),
        month=_month_number(resolved.get("month")),
        department=only or resolved.get("department"),
        alone=only is not None,
        status=resolved.get("status"),
        rule=resolved.get("rule"),
        since=resolved.get("since"),
        until=resolved.get("until"),
        project=resolved.get("project") or None,
        account=resolved.get("account") or None,
    )


def status_basis(report: ReportDefinition, params: Parameters, locale: str) -> list[str]:
    """What a status parameter means for the totals, said under the title: they add up one
    status (the default one, if the reader chose none), or every status together."""
    from ..words import STATUS_WORDS, in_locale

    said = []
    for parameter in report.template.parameters:
        if parameter.type != "status":
            continue
        value = params.values.get(parameter.key)
        if value is None:
            said.append(
                localized(
                    Bilingual(
                        zh="包含所有状态：合计把各状态的金额加在一起。",
                        en="Every status: the total adds up claims of all statuses together.",
                    ),
                    locale,
                )
            )
            continue
        word = in_locale(locale, STATUS_WORDS, value)
        default = parameter.default is not None and str(parameter.default) == value
        if locale.startswith("zh"):
            text = f"仅含状态为“{word}”的单据，合计只计这些"
            text += "（默认；可选择其他状态查看）。" if default else "。"
        else:
            text = f"Only {word.lower()} claims: the total counts these alone"
            text += " (the default; choose another status to see others)." if default else "."
        said.append(text)
    return said


def _month_number(value: Any) -> int | None:
    """A month parameter as a number: ``3``, or the month of a period ``2026-03`` (a
    drill-down from a row of one month); a whole year (``2026``) is no month."""
    if isinstance(value, int):
        return value
    text = str(value or "")
    if len(text) == 7 and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return int(text[5:])
    return None


def _last_pivot(template: Template) -> PivotStep | None:
    return next((s for s in reversed(template.transforms) if isinstance(s, PivotStep)), None)


def _pivot_columns(pivot: PivotStep, frame: pd.DataFrame, params: Parameters) -> list[str]:
    """The columns a cross-tab made from its data (months, quarters), in order."""
    rows = [str(refer(r, params)) for r in pivot.rows]
    fixed = {*rows, *(f"{r}{COMPANION_SUFFIX}" for r in rows), pivot.total, "dataset"}
    fixed |= {STYLE_KEY, MEMBERS_KEY}
    return [str(c) for c in frame.columns if c not in fixed]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def period_heading(key: str) -> Bilingual:
    """A cross-tab column's heading: months and quarters read as periods in each language
    (``2026-03`` → 2026年3月 / Mar 2026, ``2026-Q1`` → 2026年第1季度 / Q1 2026); any other
    value is its own heading."""
    year, _, rest = key.partition("-")
    if len(year) == 4 and year.isdigit() and year.isascii():
        if len(rest) == 2 and rest.isdigit() and rest.isascii() and 1 <= int(rest) <= 12:
            month = int(rest)
            return Bilingual(zh=f"{year}年{month}月", en=f"{_MONTHS[month - 1]} {year}")
        if len(rest) == 2 and rest[0] in "Qq" and rest[1] in "1234":
            return Bilingual(zh=f"{year}年第{rest[1]}季度", en=f"Q{rest[1]} {year}")
    return Bilingual(zh=key, en=key)


def _pivot_column(pivot: PivotStep, key: str, label: Bilingual | None = None) -> ReportColumn:
    return ReportColumn(
        key=key,
        label=label or period_heading(key),
        type=pivot.type,
        thresholds=pivot.thresholds,
    )


def _last_group_keys(template: Template, params: Parameters) -> list[str]:
    for step in reversed(template.transforms):
        if isinstance(step, GroupStep):
            return [str(v) for v in (refer(k, params) for k in step.keys_raw()) if v]
    return []


def _declared_outputs(template: Template, params: Parameters) -> set[str]:
    """Columns an empty report still shows: the last grouping's keys and aggregates."""
    for step in reversed(template.transforms):
        if isinstance(step, GroupStep | PivotStep):
            raw = step.keys_raw() if isinstance(step, GroupStep) else step.rows
            by = [str(v) for v in (refer(k, params) for k in raw) if v]
            names = set(by) | {f"{b}{COMPANION_SUFFIX}" for b in by}
            if isinstance(step, GroupStep):
                return names | set(step.aggregates)
            return names | ({step.total} if step.total else set())
    return {c.key for c in template.columns}
