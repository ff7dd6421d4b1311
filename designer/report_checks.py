"""A report template checked before it ever runs: every step against the columns it will see.

The columns of each dataset are followed through its steps (a rename, a group, a pivot change
them), so a filter on a column that is not there, a formula that adds text to money or a
chart of a column no step gives is refused when the template is saved, with its JSON path,
rather than found by a reader as a wrong number or an error page.

What a data source gives is the runtime's knowledge (a form's fields live in the database):
it hands in ``source_shape``; a source it cannot describe (a SQL query, a plugin) is "open"
and its columns are taken on trust.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .issues import Issue, did_you_mean, join_path
from .model import DataSource, Template
from .report import CheckContext, PivotStep, Shape, at, check_formula

__all__ = ["SourceShape", "check_report", "report_shape"]

#: The columns a data source gives, or None when it cannot say.
SourceShape = Callable[[DataSource], Shape | None]

_NUMERIC = frozenset(("number", "money", "percent", "integer", "any"))


def _context(template: Template, datasets: dict[str, Shape] | None = None) -> CheckContext:
    return CheckContext(
        parameters={p.key: p.formula_kind for p in template.parameters},
        choices={
            p.key: [o.value for o in p.options]
            for p in template.parameters
            if p.type in ("dimension", "select")
        },
        datasets=dict(datasets or {}),
    )


def report_shape(
    template: Template, source_shape: SourceShape | None = None
) -> tuple[Shape, list[Issue]]:
    """The columns at the end of the pipeline, and the problems found on the way."""
    sources = {s.key: s for s in template.data_sources}
    shapes: dict[str, Shape] = {}
    issues: list[Issue] = []
    stacked: list[Shape] = []
    for index, dataset in enumerate(template.datasets):
        source = sources.get(dataset.source)
        if source is None:
            path = join_path("datasets", index, "source")
            hint = did_you_mean(dataset.source, sources)
            issues.append(Issue(path, f'unknown data source "{dataset.source}"' + hint))
        shape = (source_shape(source) if source and source_shape else None) or Shape({}, True)
        checks = _context(template, shapes)
        for position, step in enumerate(dataset.transforms):
            path = join_path("datasets", index, "transforms", position)
            issues += step.check(shape, checks, path)
            shape = step.shape(shape, checks)
        shapes[dataset.key] = shape
        if dataset.stack:
            stacked.append(shape)
    columns: dict[str, str] = {"dataset": "text"}
    for shape in stacked:
        for key, kind in shape.columns.items():
            columns[key] = kind if columns.get(key, kind) == kind else "any"
    shape = Shape(columns, open=not stacked or any(s.open for s in stacked))
    checks = _context(template, shapes)
    for position, step in enumerate(template.transforms):
        path = join_path("transforms", position)
        issues += step.check(shape, checks, path)
        shape = step.shape(shape, checks)
    return shape, issues


def check_report(template: Template, source_shape: SourceShape | None = None) -> list[Issue]:
    """Every problem of a report template's pipeline, columns, charts and layout."""
    if template.kind != "report":
        return []
    shape, issues = report_shape(template, source_shape)
    parameters = {p.key: p.formula_kind for p in template.parameters}
    pivot = next((s for s in reversed(template.transforms) if isinstance(s, PivotStep)), None)
    known = dict(shape.columns)
    for index, column in enumerate(template.columns):
        path = join_path("columns", index)
        if column.formula is not None:
            kind, found = check_formula(
                column.formula, replace(shape, columns=known), at(path, "formula"), parameters
            )
            issues += found
            if not found and column.type in _NUMERIC and kind in ("text", "bool"):
                issues.append(Issue(at(path, "formula"), f"gives {kind}, not a number"))
            known[column.key] = column.type
        elif not shape.has(column.key):
            issues.append(
                Issue(
                    at(path, "key"),
                    f'no step gives a column "{column.key}"' + did_you_mean(column.key, known),
                )
            )
        if column.thresholds is not None and column.type not in _NUMERIC:
            issues.append(Issue(at(path, "thresholds"), "only numbers can be coloured"))
        link = column.link
        if link is not None:
            for key, value in link.params.items():
                name = value[1:] if value.startswith("=") else None
                if name and name.startswith("row."):
                    name = name.removeprefix("row.")
                    if name not in known and not shape.open:
                        issues.append(
                            Issue(
                                at(path, "link", "params", key),
                                f'unknown column "{name}"' + did_you_mean(name, known),
                            )
                        )
                elif name and name not in known and name not in parameters and not shape.open:
                    issues.append(
                        Issue(
                            at(path, "link", "params", key),
                            f'unknown column or parameter "{name}"'
                            + did_you_mean(name, [*known, *parameters]),
                        )
                    )
    names = {c.key for c in template.columns} | set(known)
    for index, chart in enumerate(template.charts):
        path = join_path("charts", index)
        if chart.category not in names and not shape.open:
            issues.append(
                Issue(
                    at(path, "category"),
                    f'unknown column "{chart.category}"' + did_you_mean(chart.category, names),
                )
            )
        if not chart.values and pivot is None:
            issues.append(
                Issue(
                    at(path, "values"),
                    "name the columns to plot (only a cross-tab may leave them out)",
                )
            )
        for position, value in enumerate(chart.values):
            if value not in names and not shape.open:
                issues.append(
                    Issue(
                        at(path, "values", position),
                        f'unknown column "{value}"' + did_you_mean(value, names),
                    )
                )
    subtotals = template.report.subtotals
    if subtotals and not subtotals.startswith("=") and not shape.has(subtotals):
        issues.append(
            Issue(
                join_path("report", "subtotals"),
                f'unknown column "{subtotals}"' + did_you_mean(subtotals, names),
            )
        )
    if subtotals and subtotals.startswith("=") and subtotals[1:] not in parameters:
        issues.append(
            Issue(join_path("report", "subtotals"), f'unknown parameter "{subtotals[1:]}"')
        )
    return issues
