"""Typed report templates: a misspelt key, an unknown step, a formula on a missing column or
adding text to money is refused with its path before the report ever runs."""

from __future__ import annotations

import ast
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd

from quire.designer import report as steps
from quire.designer.model import DataSource, Template
from quire.designer.report import Shape, StepContext
from quire.designer.validate import validate_template

ROOT = Path(__file__).parents[2]
CLAIM_LINES = Shape(
    {
        "department": "text",
        "department_name": "text",
        "status": "text",
        "month": "text",
        "category": "text",
        "description": "text",
        "amount": "money",
        "date": "date",
    }
)


def claims_shape(source: DataSource) -> Shape | None:
    return CLAIM_LINES if source.connector == "submissions" else None


def report(transforms: list, columns: list | None = None, **extra) -> dict:  # type: ignore[type-arg]
    return {
        "key": "spending",
        "kind": "report",
        "title": {"zh": "支出", "en": "Spending"},
        "data_sources": [
            {"key": "claims", "connector": "submissions", "config": {"form": "expense-claim"}}
        ],
        "datasets": [{"key": "claims", "source": "claims"}],
        "transforms": transforms,
        "columns": columns
        or [
            {"key": "department", "label": {"zh": "部门", "en": "Department"}},
            {"key": "amount", "label": {"zh": "金额", "en": "Amount"}, "type": "money"},
        ],
        **extra,
    }


def problems(doc: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(i.path, i.message) for i in validate_template(doc, source_shape=claims_shape)]


def test_a_misspelt_filter_key_is_refused_with_its_path_and_a_suggestion():
    found = problems(report([{"op": "filter", "wehre": 'status = "approved"'}]))
    assert ("transforms[0].wehre", 'unknown key "wehre" (did you mean "where"?)') in found


def test_an_unknown_step_names_the_steps_there_are():
    [(path, message)] = problems(report([{"op": "pivto", "rows": ["department"]}]))
    assert path == "transforms[0].op"
    assert 'unknown op "pivto" (did you mean "pivot"?)' in message


def test_a_filter_on_a_missing_column_is_refused_at_validation():
    found = problems(report([{"op": "filter", "where": "amout > 100"}]))
    assert found == [("transforms[0].where", 'unknown column "amout" (did you mean "amount"?)')]


def test_formulas_are_type_checked_against_the_columns_kinds():
    found = problems(report([{"op": "compute", "column": "x", "formula": "description * 2"}]))
    assert found == [("transforms[0].formula", '"description" (text) cannot be used in arithmetic')]
    found = problems(report([{"op": "filter", "where": 'amount > "lots"'}]))
    assert found == [("transforms[0].where", "compares a number with text")]
    found = problems(report([{"op": "filter", "where": "amount + 1"}]))
    assert found == [("transforms[0].where", "must be a condition (TRUE or FALSE)")]


def test_columns_renamed_or_grouped_away_are_missing_to_later_steps():
    doc = report(
        [
            {"op": "rename", "columns": {"category": "account"}},
            {"op": "group", "by": ["department"], "aggregates": {"spent": "sum(amount)"}},
            {"op": "filter", "where": 'account = "travel"'},
        ],
        columns=[{"key": "spent", "label": {"zh": "支出", "en": "Spent"}, "type": "money"}],
    )
    assert problems(doc) == [("transforms[2].where", 'unknown column "account"')]


def test_a_misspelt_aggregate_and_a_column_formula_on_a_missing_column_are_refused():
    doc = report(
        [{"op": "group", "by": "department", "aggregates": {"spent": "summ(amount)"}}],
    )
    [(path, message)] = problems(doc)
    assert path == "transforms[0].aggregates" and '"summ(amount)" is not an aggregate' in message
    doc = report(
        [{"op": "group", "by": "department", "aggregates": {"spent": "sum(amount)"}}],
        columns=[
            {"key": "spent", "label": {"zh": "支出", "en": "Spent"}, "type": "money"},
            {"key": "share", "label": {"zh": "占比", "en": "Share"}, "formula": "spent / budgte"},
        ],
    )
    assert problems(doc) == [("columns[1].formula", 'unknown column "budgte"')]


def test_a_pivot_needs_numbers_and_a_department_rollup_needs_department_rows():
    doc = report(
        [
            {
                "op": "pivot",
                "rows": ["category"],
                "columns": "month",
                "values": "description",
                "rollup": "department_tree",
            }
        ],
        columns=[{"key": "category", "label": {"zh": "类别", "en": "Category"}}],
    )
    assert problems(doc) == [
        ("transforms[0].values", '"description" is not a number column'),
        ("transforms[0].rollup", 'a department rollup needs rows ["department"]'),
    ]


def test_report_columns_a_month_pivot_does_not_make_are_refused():
    doc = report([_pivot("month")])  # columns: department and amount; amount went across
    assert problems(doc) == [("columns[1].key", 'no step gives a column "amount"')]


def _pivot(across: str) -> dict:  # type: ignore[type-arg]
    return {"op": "pivot", "rows": ["department"], "columns": across, "values": "amount"}


def test_a_filter_after_a_month_pivot_knows_its_columns_and_their_kind():
    columns = [{"key": "department", "label": {"zh": "部门", "en": "Department"}}]
    found = problems(report([_pivot("month"), {"op": "filter", "where": "totl > 100"}], columns))
    assert found == [("transforms[1].where", 'unknown column "totl" (did you mean "total"?)')]
    found = problems(report([_pivot("month"), {"op": "filter", "where": 'total > "x"'}], columns))
    assert found == [("transforms[1].where", "compares a number with text")]
    assert (
        problems(report([_pivot("month"), {"op": "filter", "where": "total > 0"}], columns)) == []
    )


def test_columns_a_category_pivot_makes_are_numbers_to_later_formulas():
    columns = [{"key": "department", "label": {"zh": "部门", "en": "Department"}}]
    across = [_pivot("category"), {"op": "filter", "where": "travel > 100"}]
    assert problems(report(across, columns)) == []
    across = [_pivot("category"), {"op": "filter", "where": 'travel = "lots"'}]
    assert problems(report(across, columns)) == [
        ("transforms[1].where", "compares a number with text")
    ]


def test_a_source_that_cannot_describe_its_columns_is_taken_on_trust():
    doc = report([{"op": "filter", "where": "anything > 1"}])
    doc["data_sources"][0]["connector"] = "sql"
    assert problems(doc) == []


def test_the_documented_example_and_every_built_in_report_validate():
    example = json.loads((ROOT / "docs/examples/spending-by-month.json").read_text("utf-8"))
    assert problems(example) == []
    for path in (ROOT / "report_templates").glob("*.json"):
        assert validate_template(json.loads(path.read_text("utf-8"))) == [], path.name


def test_every_report_part_forbids_unknown_keys():
    """A structural rule: no model of a report template accepts keys it does not type."""
    models = [
        m
        for m in vars(steps).values()
        if isinstance(m, type) and issubclass(m, steps.StrictModel) and m is not steps.StrictModel
    ]
    assert len(models) > 15
    for model in models:
        assert model.model_config.get("extra") == "forbid", model.__name__


def test_every_step_type_owns_apply_shape_and_check():
    """A structural rule, read from the source: each step class defines its own apply, and
    the runtime never switches on a step's op."""
    tree = ast.parse((ROOT / "designer/report.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Step") and node.name != "Step":
            methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
            assert "apply" in methods, node.name
    for path in (ROOT / "runtime/reports").glob("*.py"):
        assert '.op == "' not in path.read_text("utf-8"), path.name


def _ctx() -> StepContext:
    return StepContext(
        today=dt.date(2026, 11, 1),
        departments={
            "HQ": ("HQ",),
            "SALES": ("HQ", "SALES"),
            "SALES-E": ("HQ", "SALES", "SALES-E"),
            "RD": ("HQ", "RD"),
        },
    )


def test_a_pivot_rolls_a_departments_subtree_into_its_subtotal():
    frame = pd.DataFrame(
        [
            ("SALES", "销售部", "2026-01", Decimal("100")),
            ("SALES", "销售部", "2026-02", Decimal("50")),
            ("SALES-E", "华东销售", "2026-02", Decimal("25.5")),
            ("RD", "研发部", "2026-01", Decimal("10")),
        ],
        columns=["department", "department_name", "month", "amount"],
    )
    step = steps.PivotStep(
        op="pivot", rows=["department"], columns="month", values="amount", rollup="department_tree"
    )
    out = steps.records(step.apply(frame, _ctx()))
    assert [(r["department"], r.get("_style")) for r in out] == [
        ("RD", None),
        ("SALES", None),
        ("SALES-E", None),
        ("SALES", "subtotal"),
    ]
    assert out[3]["2026-02"] == Decimal("75.5") and out[3]["total"] == Decimal("175.5")
    assert out[3]["department_name"] == "销售部"
    assert out[2]["2026-01"] is None


def test_group_totals_in_decimal_and_top_n_keeps_the_largest():
    frame = pd.DataFrame(
        {"department": ["A", "B", "A", "C"], "amount": [Decimal("0.1"), 5, Decimal("0.2"), 1]}
    )
    group = Template.model_validate(
        report([{"op": "group", "by": "department", "aggregates": {"amount": "sum(amount)"}}])
    ).transforms[0]
    summed = steps.records(group.apply(frame, _ctx()))
    assert summed[0] == {"department": "A", "amount": Decimal("0.3")}
    top = steps.TopStep(op="top", n=2, by="amount")
    assert [
        r["department"] for r in steps.records(top.apply(group.apply(frame, _ctx()), _ctx()))
    ] == [
        "B",
        "C",
    ]


def test_a_drill_down_parameter_from_the_rows_own_column_names_a_column_the_rows_have():
    def linked(value: str) -> dict:  # type: ignore[type-arg]
        link = {"report": "expense-ledger", "params": {"department": value}}
        return report(
            [{"op": "group", "by": ["department"], "aggregates": {"spent": "sum(amount)"}}],
            columns=[
                {"key": "department", "label": {"zh": "部门", "en": "Dept."}, "link": link},
                {"key": "spent", "label": {"zh": "支出", "en": "Spent"}, "type": "money"},
            ],
        )

    assert problems(linked("=row.department")) == []
    assert problems(linked("=row.departmnt")) == [
        (
            "columns[0].link.params.department",
            'unknown column "departmnt" (did you mean "department"?)',
        )
    ]
