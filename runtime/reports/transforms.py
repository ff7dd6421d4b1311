"""Running a report's steps: each typed step applies itself (:mod:`quire.designer.report`);
here they run in order with what they may read, and a step that still fails on real data is
a 422 naming the template and the step, never a server error.

Also :func:`rollup`: when a dataset's rows only feed sums, the source may add them up in the
database instead of sending every line.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import InvalidOperation

import pandas as pd
from sqlalchemy import select

from quire.designer.formula import FormulaError
from quire.designer.model import Template
from quire.designer.report import (
    GroupStep,
    PivotStep,
    RenameStep,
    ReportStep,
    StepContext,
    StepFailed,
    at,
    parse_aggregate,
)

from ..errors import Detail, Invalid
from ..extensions import db
from ..models import Department
from . import sources
from .parameters import Parameters

log = logging.getLogger(__name__)


def context(params: Parameters, today: dt.date) -> StepContext:
    """What the steps of one run may read: the parameters, the day, the department tree."""
    paths = db.session.execute(select(Department.code, Department.path)).all()
    tree = {code: tuple(path.strip("/").split("/")) for code, path in paths}
    return StepContext(parameters=params.values, today=today, departments=tree)


def apply(
    frame: pd.DataFrame,
    steps: Sequence[ReportStep],
    ctx: StepContext,
    *,
    template: str,
    path: str,
) -> pd.DataFrame:
    """``frame`` through ``steps`` in order; a failing step is :class:`Invalid` (422) with
    its path (``transforms[2]``)."""
    for index, step in enumerate(steps):
        where = at(path, index)
        try:
            frame = step.apply(frame, ctx)
        except StepFailed as error:
            raise _failed(template, where, step, error.message) from error
        except (FormulaError, ArithmeticError, InvalidOperation, TypeError, ValueError) as error:
            log.warning("report %s: %s failed: %r", template, where, error)
            raise _failed(template, where, step, "it could not run on this data") from error
    return frame


def _failed(template: str, path: str, step: ReportStep, reason: str) -> Invalid:
    return Invalid(
        "The report could not run one of its steps.",
        [Detail(path, f"{template}: {step.label.en.lower()} step: {reason}")],
    )


def rollup(
    template: Template, steps: Sequence[ReportStep], ctx: StepContext
) -> sources.Rollup | None:
    """What a dataset's rows are needed for, when that is only sums: its own steps only
    rename columns, and the report's first step groups with ``sum`` aggregates or pivots a
    sum. Rows summed by the grouping keys (in the source's column names) then give the same
    report as the rows themselves, so the source may add them up where they are stored.
    None when the rows themselves are needed."""
    if not template.transforms or any(not isinstance(s, RenameStep) for s in steps):
        return None
    first = template.transforms[0]
    sums: set[str] = set()
    if isinstance(first, GroupStep):
        keys = set(first.keys(ctx))
        for expression in first.aggregates.values():
            name, column = parse_aggregate(expression)
            if name != "sum" or not column:
                return None
            sums.add(column)
    elif isinstance(first, PivotStep) and first.aggregate == "sum":
        keys = {*(str(ctx.refer(r)) for r in first.rows), first.columns}
        sums = {first.values}
    else:
        return None
    for step in reversed(steps):
        assert isinstance(step, RenameStep)
        renamed = {new: old for old, new in step.columns.items()}
        keys = {renamed.get(k, k) for k in keys}
        sums = {renamed.get(k, k) for k in sums}
    return sources.Rollup(frozenset(keys), frozenset(sums))
