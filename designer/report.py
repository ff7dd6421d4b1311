"""Typed report templates: parameters, datasets, the pipeline's steps, columns, charts, layout.

Every step of a report's pipeline is its own pydantic model, told apart by ``op`` (a
discriminated union), and owns what it does: :meth:`Step.apply` changes a pandas frame,
:meth:`Step.shape` says which columns come out, :meth:`Step.check` finds its mistakes before
the report is ever run (unknown columns, formulas that read a column that is not there or add
text to money). Every model forbids unknown keys, so ``wehre`` is an error with its path and
a "did you mean", never a filter silently dropped.

Pure: no Flask, no database. The runtime hands a step what it needs in a :class:`StepContext`
(the reader's parameter values, the clock, other datasets, the department tree).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, field_validator

from quire.widgets.base import Bilingual, Option, OptionsFrom, StrictModel

from .formula import FormulaError, FormulaSyntaxError, parse
from .formula.nodes import (
    Boolean,
    Call,
    Comparison,
    Logical,
    Name,
    Node,
    Not,
    Number,
    Operation,
    Sign,
    Text,
)
from .issues import Issue, did_you_mean, join_path

__all__ = [
    "AGGREGATES",
    "COMPANION_SUFFIX",
    "ColumnKind",
    "ReportChart",
    "ReportColumn",
    "ReportDataset",
    "ReportLayout",
    "ReportLink",
    "ReportParameter",
    "ReportStep",
    "ReportThresholds",
    "Shape",
    "StepContext",
    "StepFailed",
    "check_formula",
]

_NAME = r"^[a-z][a-z0-9_-]*$"
_COLUMN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
#: Columns that travel with a grouping column: its display name (``department_name``).
COMPANION_SUFFIX = "_name"
CENT = Decimal("0.01")
#: Columns whose values are periods: a cross-tab across one makes columns no formula can name.
PERIOD_COLUMNS = frozenset(("month", "quarter", "period", "year_month"))

ColumnKind = Literal["text", "number", "money", "percent", "date", "integer"]
#: Kinds a formula sees: every numeric column kind is a number.
_NUMERIC = frozenset(("number", "money", "percent", "integer"))


# --- what a step works on ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The columns a frame has at one point of the pipeline, with their kinds (``any`` when
    not known). ``open``: the source does not declare its columns (a SQL query, a file, a
    plugin), or a pivot made columns from data, so other columns may be there too.
    ``made``: after a pivot, the kind of the columns it made from data (its cells), so a
    formula reading one is still type-checked; ``made_periods``: those columns are months or
    quarters (``2026-01``), which no formula name can be, so an unknown name is a mistake."""

    columns: Mapping[str, str]
    open: bool = False
    made: str | None = None
    made_periods: bool = False

    def has(self, key: str) -> bool:
        if key in self.columns:
            return True
        if self.made_periods and key.isidentifier():
            return False  # a period pivot's columns are 2026-01, 2026-Q1: never a name
        return self.open

    def kind(self, key: str) -> str:
        if key not in self.columns and self.made:
            return self.made
        return self.columns.get(key, "any")

    def with_columns(self, columns: Mapping[str, str]) -> Shape:
        return replace(self, columns={**self.columns, **columns})


@dataclass
class StepContext:
    """What a step may read besides its frame, handed in by the runtime."""

    #: Typed parameter values of this run (``year`` → 2026); formulas see them too.
    parameters: Mapping[str, Any] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)
    #: Frames of the datasets read so far, by dataset key (for ``join``).
    datasets: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    #: Department code → the codes of it and its ancestors, root first (for subtree rollups).
    departments: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def refer(self, value: Any) -> Any:
        """``=name`` → the parameter's value; anything else as written."""
        if isinstance(value, str) and value.startswith("="):
            return self.parameters.get(value[1:])
        return value


class StepFailed(Exception):
    """A step could not run on this data; the runtime answers 422 naming the step."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- helpers shared by the steps --------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts, with pandas' missing values as None."""
    if frame.empty:
        return []
    clean = frame.astype(object).where(pd.notna(frame), None)
    return clean.to_dict("records")


def frame_of(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows)) if rows else pd.DataFrame()


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _numbers(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if _present(v)]


def as_decimal(value: float | None, places: int = 2) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimal_sum(values: Iterable[Any]) -> Decimal:
    """Money adds up in Decimal, whatever mix of Decimal, int and float comes in."""
    total = Decimal(0)
    for v in values:
        if _present(v):
            total += v if isinstance(v, Decimal) else Decimal(str(v))
    return total


def _percentile(values: list[float], q: float) -> float | None:
    return float(pd.Series(values).quantile(q)) if values else None


#: Aggregate name → (function of a group's values, kind of the result; None: the input's).
AGGREGATES: Mapping[str, tuple[Callable[[list[Any]], Any], str | None]] = {
    "sum": (decimal_sum, None),
    "count": (lambda vs: sum(1 for v in vs if _present(v)), "integer"),
    "count_true": (lambda vs: sum(1 for v in vs if v is True or v == 1), "integer"),
    "median": (lambda vs: as_decimal(_percentile(_numbers(vs), 0.5)), "number"),
    "p90": (lambda vs: as_decimal(_percentile(_numbers(vs), 0.9)), "number"),
    "mean": (lambda vs: as_decimal(sum(ns) / len(ns)) if (ns := _numbers(vs)) else None, "number"),
    "min": (lambda vs: min((v for v in vs if _present(v)), default=None), None),
    "max": (lambda vs: max((v for v in vs if _present(v)), default=None), None),
    "first": (lambda vs: next((v for v in vs if _present(v)), None), None),
}
_AGGREGATE = re.compile(r"^\s*([a-z_0-9]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)?\s*\)\s*$")


def parse_aggregate(expression: str) -> tuple[str, str | None]:
    """``sum(amount)`` → ("sum", "amount"); ``count()`` → ("count", None)."""
    match = _AGGREGATE.match(expression)
    if match is None or match.group(1) not in AGGREGATES:
        raise ValueError(
            f'"{expression}" is not an aggregate: write one of '
            + ", ".join(f"{name}(column)" for name in AGGREGATES)
        )
    return match.group(1), match.group(2)


def evaluator(source: str, ctx: StepContext) -> Callable[[Mapping[str, Any]], Any]:
    """A row → value function; a formula that has no value for a row gives None (empty)."""
    formula = parse(source)

    def run(row: Mapping[str, Any]) -> Any:
        try:
            return formula.evaluate({**ctx.parameters, **row}, today=ctx.today)
        except (FormulaError, InvalidOperation, ZeroDivisionError):
            return None

    return run


def _with_companions(names: Iterable[str], columns: Iterable[str]) -> list[str]:
    present = set(columns)
    return [f"{n}{COMPANION_SUFFIX}" for n in names if f"{n}{COMPANION_SUFFIX}" in present]


# --- formulas checked before they run ---------------------------------------------------------


def check_formula(
    source: str, shape: Shape, path: str, parameters: Mapping[str, str] | None = None
) -> tuple[str, list[Issue]]:
    """The kind a formula gives over rows of ``shape`` and its problems: syntax, a column
    that is not there (with a "did you mean"), arithmetic on text, comparing a number with
    text. ``parameters`` are the report's parameters by kind; formulas read them too."""
    try:
        formula = parse(source)
    except FormulaSyntaxError as error:
        return "any", [Issue(path, f"the formula cannot be read: {error}")]
    known = {**(parameters or {}), **shape.columns}
    issues: list[Issue] = []
    for name in sorted(formula.references):
        if "." in name:
            issues.append(Issue(path, f'"{name}": a report formula reads columns of its own row'))
        elif name not in known and not shape.has(name):
            issues.append(Issue(path, f'unknown column "{name}"' + did_you_mean(name, known)))
        elif name not in known and shape.made:
            known[name] = shape.made
    if issues:
        return "any", issues
    kind = _infer(formula._tree, known, path, issues)
    return kind, issues


def _plain(kind: str) -> str:
    return "number" if kind in _NUMERIC else kind


def _infer(node: Node, known: Mapping[str, str], path: str, issues: list[Issue]) -> str:
    match node:
        case Number():
            return "number"
        case Text():
            return "text"
        case Boolean() | Logical() | Not():
            for child in node.children:
                _infer(child, known, path, issues)
            return "bool"
        case Name(key=key):
            return _plain(known.get(key, "any"))
        case Sign(operand=operand):
            kind = _infer(operand, known, path, issues)
            if kind in ("text", "bool", "date"):
                issues.append(Issue(path, f"a sign before {_what(operand, kind)}"))
            return "number"
        case Operation(first=first, rest=rest):
            kinds = [_infer(first, known, path, issues)]
            kinds += [_infer(operand, known, path, issues) for _, operand in rest]
            operators = [op for op, _ in rest]
            if operators and all(op == "&" for op in operators):
                return "text"
            operands = [first, *(operand for _, operand in rest)]
            for operand, kind in zip(operands, kinds, strict=True):
                if kind in ("text", "bool"):
                    issues.append(
                        Issue(path, f"{_what(operand, kind)} cannot be used in arithmetic")
                    )
            if "date" in kinds:
                return "date" if kinds.count("date") == 1 else "number"
            return "number"
        case Comparison(left=left, right=right):
            kinds = {_infer(left, known, path, issues), _infer(right, known, path, issues)}
            if kinds == {"number", "text"}:
                issues.append(Issue(path, "compares a number with text"))
            return "bool"
        case Call(name=name):
            for child in node.children:
                _infer(child, known, path, issues)
            if name in ("SUM", "AVERAGE", "ROUND", "ABS", "COUNT", "YEAR", "MONTH", "DAY", "LEN"):
                return "number"
            if name in ("AND", "OR", "NOT", "ISBLANK"):
                return "bool"
            if name in ("TODAY", "DATE"):
                return "date"
            if name == "CONCAT":
                return "text"
            return "any"
    return "any"


def _what(node: Node, kind: str) -> str:
    if isinstance(node, Name):
        return f'"{node.key}" ({kind})'
    return {"text": "text", "bool": "TRUE/FALSE", "date": "a date"}.get(kind, kind)


def at(path: str, *parts: str | int) -> str:
    """``at("transforms[2]", "where")`` → ``transforms[2].where``."""
    tail = join_path(*parts)
    if not path or not tail:
        return path or tail
    return path + tail if tail.startswith("[") else f"{path}.{tail}"


def _missing(
    keys: Iterable[str], shape: Shape, path: str, *, parameters: Mapping[str, str] = {}
) -> list[Issue]:
    """An issue for each column in ``keys`` the frame does not have."""
    issues = []
    for key in keys:
        if key.startswith("="):
            if key[1:] not in parameters:
                issues.append(
                    Issue(
                        path, f'unknown parameter "{key[1:]}"' + did_you_mean(key[1:], parameters)
                    )
                )
            continue
        if not shape.has(key):
            issues.append(Issue(path, f'unknown column "{key}"' + did_you_mean(key, shape.columns)))
    return issues


@dataclass(frozen=True)
class CheckContext:
    """What :meth:`Step.check` may know: the report's parameters (kind, and the choices of a
    ``dimension``), and the shapes of the datasets before this point (for ``join``)."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    datasets: Mapping[str, Shape] = field(default_factory=dict)

    def resolve(self, name: str) -> list[str]:
        """The columns ``name`` may stand for: itself, or each choice of ``=dimension``."""
        if name.startswith("="):
            return list(self.choices.get(name[1:], ()))
        return [name]


class ReportThresholds(StrictModel):
    """Conditional colours of a numeric column: amber from `amber`, red from `red`."""

    amber: str = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")
    """Value from which a cell is amber (a fraction for percent columns: `0.9`)."""
    red: str = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")
    """Value from which a cell is red."""
    above: bool = True
    """True: high values are bad (overspend); false: low values are bad."""


# --- the steps --------------------------------------------------------------------------------


class Step(StrictModel):
    """One step of a report's pipeline."""

    op: str
    label: ClassVar[Bilingual]

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        raise NotImplementedError  # every step type implements its own

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        """The columns after this step, given those before."""
        return shape

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        """Mistakes this step would make on a frame of ``shape``."""
        return []


def _names(raw: str | list[str]) -> list[str]:
    return [raw] if isinstance(raw, str) else list(raw)


def _resolved(names: Iterable[str], ctx: StepContext) -> list[str]:
    out: list[str] = []
    for name in names:
        value = ctx.refer(name)
        if value and str(value) not in out:
            out.append(str(value))
    return out


class FilterStep(Step):
    """Keep the rows where ``where`` (a formula) is true: ``status = "approved"``."""

    op: Literal["filter"]
    """The step's type."""
    where: str = Field(min_length=1, max_length=2000)
    """A formula over the row's columns and the report's parameters."""

    label: ClassVar[Bilingual] = Bilingual(zh="筛选", en="Filter")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        if frame.empty:
            return frame
        test = evaluator(self.where, ctx)
        keep = [test(row) is True for row in records(frame)]
        return frame[keep].reset_index(drop=True)

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        kind, issues = check_formula(self.where, shape, at(path, "where"), checks.parameters)
        if not issues and kind not in ("bool", "any"):
            issues.append(Issue(at(path, "where"), "must be a condition (TRUE or FALSE)"))
        return issues


class ComputeStep(Step):
    """Set ``column`` from ``formula`` on every row: ``amount * 1.13``."""

    op: Literal["compute"]
    """The step's type."""
    column: str = Field(min_length=1, max_length=64, pattern=_COLUMN)
    """The column set (new, or replaced)."""
    formula: str = Field(min_length=1, max_length=2000)
    """A formula over the row's columns and the report's parameters."""
    type: ColumnKind | None = None
    """The kind of the new column; unset: what the formula gives."""

    label: ClassVar[Bilingual] = Bilingual(zh="计算列", en="Computed column")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        if frame.empty:
            return frame
        compute = evaluator(self.formula, ctx)
        frame = frame.copy()
        frame[self.column] = [compute(row) for row in records(frame)]
        return frame

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        kind, _ = check_formula(self.formula, shape, "", checks.parameters)
        return shape.with_columns({self.column: self.type or kind})

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        kind, issues = check_formula(self.formula, shape, at(path, "formula"), checks.parameters)
        if not issues and self.type in _NUMERIC and kind in ("text", "bool"):
            issues.append(Issue(at(path, "formula"), f"gives {kind}, not a number"))
        return issues


class RenameStep(Step):
    """Rename columns (old → new); a select column's ``_name`` companion follows."""

    op: Literal["rename"]
    """The step's type."""
    columns: dict[str, str] = Field(min_length=1, max_length=100)
    """Old column name → new name."""

    label: ClassVar[Bilingual] = Bilingual(zh="重命名", en="Rename")

    def _mapping(self) -> dict[str, str]:
        mapping = dict(self.columns)
        for old, new in self.columns.items():
            mapping[f"{old}{COMPANION_SUFFIX}"] = f"{new}{COMPANION_SUFFIX}"
        return mapping

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        return frame.rename(columns=self._mapping())

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        mapping = self._mapping()
        return replace(shape, columns={mapping.get(k, k): v for k, v in shape.columns.items()})

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        return _missing(self.columns, shape, at(path, "columns"))


class PhaseQuartersStep(Step):
    """Spread quarterly amounts evenly over the quarter's months (remainder in its last
    month): one row per month (``month`` as ``YYYY-MM``) with the amount in ``into``."""

    op: Literal["phase_quarters"]
    """The step's type."""
    columns: list[str] = Field(default=["q1", "q2", "q3", "q4"], min_length=4, max_length=4)
    """The four quarter columns, Q1 first."""
    into: str = Field(default="amount", min_length=1, max_length=64, pattern=_COLUMN)
    """The column each month's amount goes into."""

    label: ClassVar[Bilingual] = Bilingual(zh="按季分摊到月", en="Spread quarters over months")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        if frame.empty:
            return frame
        base = frame.drop(columns=[c for c in self.columns if c in frame.columns])
        parts = []
        for q, column in enumerate(self.columns):
            amounts = (
                frame[column].map(lambda v: Decimal(str(v)) if _present(v) else Decimal(0))
                if column in frame.columns
                else pd.Series([Decimal(0)] * len(frame), index=frame.index)
            )
            share = amounts.map(lambda a: (a / 3).quantize(CENT, rounding=ROUND_HALF_UP))
            for m in range(3):
                part = base.copy()
                part["month"] = frame["year"].map(lambda y, n=q * 3 + m + 1: f"{y}-{n:02d}")
                part[self.into] = share if m < 2 else amounts - 2 * share
                part["_order"] = q * 3 + m
                parts.append(part)
        spread = pd.concat(parts).reset_index(names="_row")
        return (
            spread.sort_values(["_row", "_order"], kind="stable")
            .drop(columns=["_row", "_order"])
            .reset_index(drop=True)
        )

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        columns = {k: v for k, v in shape.columns.items() if k not in self.columns}
        return replace(shape, columns={**columns, "month": "text", self.into: "money"})

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        return _missing([*self.columns, "year"], shape, at(path, "columns"))


class GroupStep(Step):
    """Group rows ``by`` columns (``=dimension`` names a parameter) and compute
    ``aggregates``: ``sum(x)``, ``count()``, ``count_true(x)``, ``median(x)``, ``p90(x)``,
    ``min(x)``, ``max(x)``, ``mean(x)``, ``first(x)``."""

    op: Literal["group"]
    """The step's type."""
    by: str | list[str] = Field(default_factory=list)
    """Grouping columns; `=dimension` takes a parameter's value; empty: one row in all."""
    aggregates: dict[str, str] = Field(default_factory=dict, max_length=50)
    """New column → aggregate of a column of the group."""

    label: ClassVar[Bilingual] = Bilingual(zh="分组汇总", en="Group and total")

    @field_validator("aggregates")
    @classmethod
    def _aggregates_are_known(cls, value: dict[str, str]) -> dict[str, str]:
        for expression in value.values():
            parse_aggregate(expression)
        return value

    def keys_raw(self) -> list[str]:
        """The grouping columns as written (``=dimension`` unresolved)."""
        return _names(self.by)

    def keys(self, ctx: StepContext) -> list[str]:
        return _resolved(_names(self.by), ctx)

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        by = [c for c in self.keys(ctx) if c in frame.columns]
        plans = {t: parse_aggregate(e) for t, e in self.aggregates.items()}
        companions = _with_companions(by, frame.columns)
        if frame.empty:
            return pd.DataFrame(columns=[*by, *companions, *plans])
        keyed = frame.copy()
        for column in by:
            keyed[column] = keyed[column].astype(object).where(pd.notna(keyed[column]), "")
        keyed["_one"] = 1
        named: dict[str, tuple[str, Any]] = {c: (c, _aggregate("first")) for c in companions}
        for target, (name, column) in plans.items():
            source = column if column and column in keyed.columns else "_one"
            if column and column not in keyed.columns:
                keyed[f"_none_{target}"] = None
                source = f"_none_{target}"
            named[target] = (source, _aggregate(name))
        if not by:
            row = {t: function(keyed[s]) for t, (s, function) in named.items()}
            return frame_of([row])
        grouped = keyed.groupby(by, sort=True, dropna=False).agg(**named) if named else None
        if grouped is None:
            return keyed[by].drop_duplicates().sort_values(by).reset_index(drop=True)
        return grouped.reset_index()

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        keys = [k for name in _names(self.by) for k in checks.resolve(name)]
        columns = {k: shape.kind(k) for k in keys}
        columns |= {
            f"{k}{COMPANION_SUFFIX}": "text"
            for k in keys
            if shape.open or f"{k}{COMPANION_SUFFIX}" in shape.columns
        }
        for target, expression in self.aggregates.items():
            name, column = parse_aggregate(expression)
            kind = AGGREGATES[name][1]
            columns[target] = kind or (shape.kind(column) if column else "integer")
        return Shape(columns)

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        issues = []
        for name in _names(self.by):
            issues += _missing(
                checks.resolve(name) or [name],
                shape,
                at(path, "by"),
                parameters=checks.parameters,
            )
        for target, expression in self.aggregates.items():
            _, column = parse_aggregate(expression)
            if column:
                issues += _missing([column], shape, at(path, "aggregates", target))
        return issues


def _aggregate(name: str) -> Callable[[pd.Series], Any]:
    function = AGGREGATES[name][0]
    return lambda values: function(values.tolist())


class SortStep(Step):
    """Order rows by ``by`` columns; empty values first."""

    op: Literal["sort"]
    """The step's type."""
    by: str | list[str] = Field(min_length=1)
    """Columns to order by, the first first."""
    descending: bool = False
    """Largest (or latest, or Z) first."""

    label: ClassVar[Bilingual] = Bilingual(zh="排序", en="Sort")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        by = [c for c in _resolved(_names(self.by), ctx) if c in frame.columns]
        if not by or frame.empty:
            return frame
        return frame.sort_values(
            by=by,
            ascending=not self.descending,
            key=lambda s: s.map(lambda v: "" if v is None else v),
            kind="stable",
        ).reset_index(drop=True)

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        names = [k for name in _names(self.by) for k in (checks.resolve(name) or [name])]
        return _missing(names, shape, at(path, "by"), parameters=checks.parameters)


class TopStep(Step):
    """Keep the first ``n`` rows by ``by`` (largest first unless ``descending`` is false)."""

    op: Literal["top"]
    """The step's type."""
    n: int = Field(ge=1, le=100_000)
    """How many rows to keep."""
    by: str = Field(min_length=1, max_length=64)
    """The numeric column that ranks the rows."""
    descending: bool = True
    """Keep the largest; false keeps the smallest."""

    label: ClassVar[Bilingual] = Bilingual(zh="前 N 名", en="Top N")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        if frame.empty or self.by not in frame.columns:
            return frame
        order = frame[self.by].map(lambda v: float(v) if _present(v) else float("-inf"))
        ranked = order.sort_values(ascending=not self.descending, kind="stable")
        return frame.loc[ranked.index[: self.n]].reset_index(drop=True)

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        return _missing([self.by], shape, at(path, "by"))


class JoinStep(Step):
    """Add the columns of another dataset's rows that match on ``on``."""

    op: Literal["join"]
    """The step's type."""
    dataset: str = Field(min_length=1, max_length=64)
    """Key of a dataset listed before this one."""
    on: list[str] = Field(min_length=1, max_length=10)
    """Columns both have, matched by equal values."""
    how: Literal["left", "inner"] = "left"
    """left: keep every row; inner: only rows with a match."""

    label: ClassVar[Bilingual] = Bilingual(zh="关联", en="Join")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        other = ctx.datasets.get(self.dataset)
        if other is None or other.empty or frame.empty:
            return frame if self.how == "left" else frame.iloc[0:0]
        keys = [k for k in self.on if k in frame.columns and k in other.columns]
        if not keys:
            raise StepFailed(f'the dataset "{self.dataset}" has none of the columns to join on')
        return frame.merge(other, on=keys, how=self.how, suffixes=("", f"_{self.dataset}"))

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        other = checks.datasets.get(self.dataset, Shape({}, True))
        extra = {
            (k if k not in shape.columns else f"{k}_{self.dataset}"): v
            for k, v in other.columns.items()
            if k not in self.on
        }
        return replace(shape, columns={**shape.columns, **extra}, open=shape.open or other.open)

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        other = checks.datasets.get(self.dataset)
        if other is None:
            return [
                Issue(
                    at(path, "dataset"),
                    f'unknown dataset "{self.dataset}": join a dataset listed before this one'
                    + did_you_mean(self.dataset, checks.datasets),
                )
            ]
        return _missing(self.on, shape, at(path, "on")) + _missing(self.on, other, at(path, "on"))


class BudgetVsActualStep(Step):
    """Variance (budget − actual) and execution rate (actual ÷ budget, empty without a
    budget) from two money columns."""

    op: Literal["budget_vs_actual"]
    """The step's type."""
    budget: str = Field(default="budget", max_length=64)
    """The budget column."""
    actual: str = Field(default="actual", max_length=64)
    """The actual-spending column."""
    variance: str = Field(default="variance", max_length=64, pattern=_COLUMN)
    """The column the variance goes into."""
    rate: str = Field(default="execution_rate", max_length=64, pattern=_COLUMN)
    """The column the execution rate (a fraction) goes into."""

    label: ClassVar[Bilingual] = Bilingual(zh="预算与实际", en="Budget vs actual")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        if frame.empty:
            return frame
        zero = Decimal(0)
        budget = frame[self.budget].map(lambda v: Decimal(str(v)) if _present(v) else zero)
        actual = frame[self.actual].map(lambda v: Decimal(str(v)) if _present(v) else zero)
        frame = frame.copy()
        frame[self.variance] = budget - actual
        frame[self.rate] = [a / b if b > 0 else None for a, b in zip(actual, budget, strict=True)]
        return frame

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        return shape.with_columns({self.variance: "money", self.rate: "percent"})

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        issues = []
        for key in ("budget", "actual"):
            column = getattr(self, key)
            issues += _missing([column], shape, at(path, key))
            if shape.kind(column) in ("text", "date"):
                issues.append(Issue(at(path, key), f'"{column}" is not a number column'))
        return issues


class PivotStep(Step):
    """A cross-tab: one row per combination of ``rows``, one column per value of ``columns``
    (department × month, account × quarter), each cell the ``aggregate`` of ``values``, and a
    row-total column. With ``rollup: department_tree`` and ``department`` as the row, a
    department with sub-departments in the data gets a subtotal row for its whole subtree
    (SALES includes SALES-E)."""

    op: Literal["pivot"]
    """The step's type."""
    rows: list[str] = Field(min_length=1, max_length=5)
    """Columns down the side (`department`; `=dimension` allowed)."""
    columns: str = Field(min_length=1, max_length=64)
    """The column whose values go across (`month`)."""
    values: str = Field(min_length=1, max_length=64)
    """The column added up in each cell (`amount`)."""
    aggregate: Literal["sum", "count", "mean", "min", "max"] = "sum"
    """How a cell's values are combined."""
    total: str | None = Field(default="total", max_length=64, pattern=_COLUMN)
    """The row-total column's key; null for none."""
    total_label: Bilingual = Bilingual(zh="合计", en="Total")
    """The row-total column's heading."""
    type: ColumnKind = "money"
    """How the cells are shown."""
    thresholds: ReportThresholds | None = None
    """Amber and red cells (every value column and the total)."""
    rollup: Literal["none", "department_tree"] = "none"
    """`department_tree`: a subtotal row for each department over its whole subtree."""
    max_columns: int = Field(default=60, ge=1, le=500)
    """Columns kept (the first by value); a cross-tab wider than that is refused."""

    label: ClassVar[Bilingual] = Bilingual(zh="交叉表", en="Pivot (cross-tab)")

    def apply(self, frame: pd.DataFrame, ctx: StepContext) -> pd.DataFrame:
        rows = [c for c in _resolved(self.rows, ctx) if c in frame.columns]
        companions = _with_companions(rows, frame.columns)
        if frame.empty or self.columns not in frame.columns or self.values not in frame.columns:
            return pd.DataFrame(columns=[*rows, *companions, *([self.total] if self.total else [])])
        keyed = frame.copy()
        for column in [*rows, self.columns]:
            keyed[column] = keyed[column].astype(object).where(pd.notna(keyed[column]), "")
        keyed[self.columns] = keyed[self.columns].map(str)
        across = sorted(keyed[self.columns].unique())
        if len(across) > self.max_columns:
            raise StepFailed(
                f'the cross-tab would have {len(across)} columns of "{self.columns}"; '
                f"at most {self.max_columns}"
            )
        function = _aggregate(self.aggregate)
        cells = keyed.groupby([*rows, self.columns], sort=True)[self.values].agg(function)
        table = cells.unstack(self.columns)
        table = table.reindex(columns=across)
        if self.total:
            table[self.total] = keyed.groupby(rows, sort=True)[self.values].agg(function)
        table.columns = [str(c) for c in table.columns]
        table = table.reset_index()
        if companions:
            names = keyed.groupby(rows, sort=True)[companions].first().reset_index()
            table = names.merge(table, on=rows)
        table = table.astype(object).where(pd.notna(table), None)
        if self.rollup == "department_tree" and rows == ["department"]:
            table = self._subtree_subtotals(
                table, [*across, *([self.total] if self.total else [])], ctx
            )
        return table

    def _subtree_subtotals(
        self, table: pd.DataFrame, value_columns: list[str], ctx: StepContext
    ) -> pd.DataFrame:
        """A subtotal row after each department whose sub-departments are in the table,
        summing its own row and theirs (pandas: rows paired with their ancestors, grouped)."""
        codes = table["department"].tolist()
        pairs = pd.DataFrame(
            [
                (code, ancestor)
                for code in codes
                for ancestor in ctx.departments.get(code, (code,))
                if ancestor in codes
            ],
            columns=["department", "_ancestor"],
        )
        sizes = pairs.groupby("_ancestor").size()
        parents = sizes[sizes > 1].index.tolist()
        order = {code: "/".join(ctx.departments.get(code, (code,))) for code in codes}
        table = table.copy()
        table["_order"] = table["department"].map(order)
        if parents:
            members = pairs[pairs["_ancestor"].isin(parents)].merge(table, on="department")
            sums = members.groupby("_ancestor")[value_columns].agg(
                lambda values: decimal_sum(values) if self.aggregate in ("sum", "count") else None
            )
            subtotal = sums.reset_index().rename(columns={"_ancestor": "department"})
            if "department_name" in table.columns:
                names = table.set_index("department")["department_name"]
                subtotal["department_name"] = subtotal["department"].map(names)
            subtotal["_style"] = "subtotal"
            # Which rows each subtotal adds up, for renderers that write it as a formula.
            members = pairs[pairs["_ancestor"].isin(parents)].groupby("_ancestor")["department"]
            subtotal["_members"] = subtotal["department"].map(
                {a: {"department": list(codes)} for a, codes in members}
            )
            subtotal["_order"] = subtotal["department"].map(lambda c: order[c] + "/\uffff")
            table = pd.concat([table, subtotal], ignore_index=True, sort=False)
        return (
            table.sort_values("_order", kind="stable")
            .drop(columns="_order")
            .reset_index(drop=True)
            .astype(object)
            .pipe(lambda t: t.where(pd.notna(t), None))
        )

    def shape(self, shape: Shape, checks: CheckContext) -> Shape:
        keys = [k for name in self.rows for k in checks.resolve(name)]
        columns = {k: shape.kind(k) for k in keys}
        columns |= {
            f"{k}{COMPANION_SUFFIX}": "text"
            for k in keys
            if shape.open or f"{k}{COMPANION_SUFFIX}" in shape.columns
        }
        if self.total:
            columns[self.total] = self.type
        periods = self.columns in PERIOD_COLUMNS or shape.kind(self.columns) == "date"
        return Shape(columns, open=True, made=self.type, made_periods=periods)

    def check(self, shape: Shape, checks: CheckContext, path: str) -> list[Issue]:
        issues = []
        for name in self.rows:
            issues += _missing(
                checks.resolve(name) or [name],
                shape,
                at(path, "rows"),
                parameters=checks.parameters,
            )
        issues += _missing([self.columns], shape, at(path, "columns"))
        issues += _missing([self.values], shape, at(path, "values"))
        if self.aggregate != "count" and shape.kind(self.values) in ("text", "date"):
            issues.append(Issue(at(path, "values"), f'"{self.values}" is not a number column'))
        if self.rollup == "department_tree" and self.rows != ["department"]:
            issues.append(
                Issue(at(path, "rollup"), 'a department rollup needs rows ["department"]')
            )
        return issues


# --- the rest of a report template ------------------------------------------------------------


class ReportParameter(StrictModel):
    """An input of a report (`year`, `department`)."""

    key: str = Field(min_length=1, max_length=64, pattern=_NAME)
    """The parameter's name in the query string and in dataset params."""
    label: Bilingual
    """Its caption."""
    type: Literal[
        "text",
        "number",
        "date",
        "fiscal_period",
        "department",
        "select",
        "year",
        "month",
        "status",
        "dimension",
    ] = "text"
    """What kind of value it takes. `department` offers only departments in the reader's scope;
    `status` a submission status; `dimension` the column the rows are grouped by (one of
    `options`), so one template can show department, account, month or project."""
    default: str | int | None = None
    """Initial value; text starting with `=` is a formula (`=YEAR(TODAY())`)."""
    required: bool = False
    """The report needs a value."""
    options: list[Option] = Field(default_factory=list, max_length=200)
    """The choices of a `select` or `dimension` parameter."""
    options_from: OptionsFrom | None = None
    """Choices from a data source."""

    #: The kind a formula sees the parameter's value as.
    @property
    def formula_kind(self) -> str:
        return {"number": "number", "year": "number", "month": "number", "date": "date"}.get(
            self.type, "text"
        )


#: Every step type, told apart by ``op``.
ReportStep = Annotated[
    FilterStep
    | ComputeStep
    | RenameStep
    | PhaseQuartersStep
    | GroupStep
    | SortStep
    | TopStep
    | JoinStep
    | BudgetVsActualStep
    | PivotStep,
    Field(discriminator="op"),
]


class ReportDataset(StrictModel):
    """Rows a report reads from one data source."""

    key: str = Field(min_length=1, max_length=64)
    """The dataset's name."""
    source: str = Field(min_length=1, max_length=64)
    """Key of a data source of the template."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Values for the source's parameters; `=year` passes a report parameter."""
    transforms: list[ReportStep] = Field(default_factory=list, max_length=50)
    """Steps applied to this dataset alone, before the datasets are stacked together."""
    stack: bool = True
    """Stack its rows with the other datasets'; false for a dataset only joined to another."""


class ReportLink(StrictModel):
    """Where a cell leads: another report with parameters, or the submission of the row."""

    report: str | None = Field(default=None, max_length=64)
    """Key of the report opened (drill-down)."""
    params: dict[str, str] = Field(default_factory=dict)
    """Its parameters; `=department` takes the row's value, else the report parameter's;
    `=row.account` the row's value only (left out where the row has none, as on a subtotal;
    empty text is passed as `-`)."""
    submission: str | None = Field(default=None, max_length=200)
    """`=submission_id`: open that submission."""


class ReportColumn(StrictModel):
    """One column of a report's table."""

    key: str = Field(min_length=1, max_length=64)
    """The column's key in report rows."""
    label: Bilingual
    """Its heading."""
    type: ColumnKind = "text"
    """How values are shown and exported (percent values are fractions: 0.915 is 91.5 %)."""
    formula: str | None = Field(default=None, max_length=2000)
    """Computed after grouping, and again on subtotal and total rows (`actual / budget`)."""
    total: Literal["sum", "none"] | None = None
    """How the grand total and subtotals get this column: summed, or left empty. Formula
    columns are recomputed; numeric columns are summed unless `none`."""
    thresholds: ReportThresholds | None = None
    """Amber and red cells."""
    link: ReportLink | None = None
    """Drill-down from this cell."""
    width: float | None = Field(default=None, gt=0, le=200)
    """Width in characters in Excel, relative weight in the PDF."""


class ReportChart(StrictModel):
    """A chart of the report's rows: one Vega-Lite spec for the web and the PDF, and a native
    chart in Excel."""

    kind: Literal["bar", "line", "pie"] = "bar"
    """The mark."""
    category: str = Field(min_length=1, max_length=64)
    """Column along the axis (bars, slices)."""
    values: list[str] = Field(default_factory=list, max_length=24)
    """Numeric columns plotted; empty for a cross-tab: each of its value columns."""
    stacked: bool = False
    """Bars of several values stacked on each other rather than side by side."""
    rows: Literal["detail", "subtotals"] = "detail"
    """Plot the detail rows, or the subtotal rows when the report has them."""
    title: Bilingual | None = None
    """The chart's caption."""


class ReportLayout(StrictModel):
    """How a report's table is arranged beyond its columns, and its export settings."""

    subtotals: str | None = Field(default=None, max_length=64)
    """Subtotal rows after each group of this column (`department`; `=dimension` allowed)."""
    totals: bool = True
    """A grand-total row."""
    orientation: Literal["portrait", "landscape"] = "landscape"
    """Page orientation of the PDF. The Excel export prints landscape where its table is wide
    (more than 8 columns) and portrait otherwise, one page wide, its header row on every
    page."""
    paper: Literal["A4", "A3", "Letter"] = "A4"
    """Paper size of the PDF and of the Excel export's print setup."""
    sheet_name: str | None = Field(default=None, max_length=31, pattern=r"^[^\[\]:*?/\\]+$")
    """Name of the Excel sheet (the title when unset)."""
    preview_rows: int = Field(default=50, ge=1, le=500)
    """Rows shown in the designer's live preview."""
