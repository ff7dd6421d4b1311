"""Sums pushed down into SQL: the very report the engine builds from every line, in scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from quire.runtime.extensions import db
from quire.runtime.reports import engine, sources, transforms

from .conftest import YEAR

DIMENSIONS = ("department", "account", "month", "project")


@pytest.fixture
def summed(monkeypatch):  # type: ignore[no-untyped-def]
    """The rollups the database answered (a None answer means the engine read every line)."""
    answers: list[Any] = []
    real = sources.actual_totals

    def spy(*args: Any) -> Any:
        found = real(*args)
        answers.append(found)
        return found

    monkeypatch.setitem(sources.ROLLUP_PROVIDERS, "actuals", spy)
    return answers


def _both(user: Any, key: str, params: dict[str, str]) -> tuple[dict, dict]:
    pushed = engine.run(user, key, params, today=date(YEAR, 12, 1))
    read = engine.run(user, key, params, today=date(YEAR, 12, 1), push_down=False)
    return pushed.to_json(), read.to_json()


@pytest.mark.parametrize("username", ["cfo", "salesmgr", "rdmgr"])
def test_pushed_down_sums_give_the_report_the_rows_give_on_the_demo_data(
    app, user, summed, username
):
    reader = user(username)
    for dimension in DIMENSIONS:
        pushed, read = _both(reader, "budget-vs-actual", {"dimension": dimension})
        assert pushed == read, dimension
        assert Decimal(pushed["totals"]["actual"]) > 0
    assert summed and all(answer is not None for answer in summed)


def test_pushed_down_sums_respect_the_department_parameter_and_its_subtree(app, user, summed):
    for department in ("SALES", "SALES-E", "RD"):
        pushed, read = _both(user("cfo"), "budget-vs-actual", {"department": department})
        assert pushed == read, department
    scoped, _ = _both(user("salesmgr"), "budget-vs-actual", {})
    assert {r["department"] for r in scoped["rows"]} <= {"SALES", "SALES-E"}
    assert all(answer is not None for answer in summed)


def test_the_rollup_asks_the_source_for_its_own_column_names(app, user):
    report = engine.definition("budget-vs-actual")
    params = engine.resolve_parameters(user("cfo"), report, {"dimension": "month"})
    actuals = next(d for d in report.template.datasets if d.key == "actual")
    budgets = next(d for d in report.template.datasets if d.key == "budget")
    ctx = transforms.context(params, date(YEAR, 12, 1))
    rollup = transforms.rollup(report.template, actuals.transforms, ctx)
    # The group sums budget and allocated too: columns the claims do not have, which the
    # source ignores.
    assert rollup == sources.Rollup(
        frozenset({"month", "account"}), frozenset({"actual", "budget", "allocated"})
    )
    # Phasing budgets over months needs their rows; a ledger lists every line.
    assert transforms.rollup(report.template, budgets.transforms, ctx) is None
    ledger = engine.definition("expense-ledger")
    assert transforms.rollup(ledger.template, ledger.template.datasets[0].transforms, ctx) is None


def test_lines_the_database_cannot_add_up_count_as_the_engine_counts_them(
    make_submission, budget, user, summed
):
    budget("SALES", {"travel": 1000})
    good = {"date": f"{YEAR}-03-02", "category": "travel", "description": "x", "amount": "12.50"}
    for lines in (
        [good, {**good, "amount": ""}, {**good, "amount": "n/a"}],
        [good, "not a line", {**good, "category": None}],
        {"travel": good},
        [{**good, "amount": 7}],
    ):
        make_submission(
            "expense-claim", "SALES", "sales1", {"lines": lines}, period=date(YEAR, 3, 1)
        )
    db.session.commit()
    for dimension in DIMENSIONS:
        pushed, read = _both(user("salesmgr"), "budget-vs-actual", {"dimension": dimension})
        assert pushed == read, dimension
    # A line without an account is the actual of no account (as the budget check reads it).
    assert Decimal(pushed["totals"]["actual"]) == Decimal("12.50") * 2 + 7
    # SQLite's lines are summed here as the engine would; PostgreSQL refuses them (an empty
    # amount, a line that is not an object), so the engine read every line instead.
    dialect = db.session.get_bind().dialect.name
    assert all((answer is None) == (dialect == "postgresql") for answer in summed)
