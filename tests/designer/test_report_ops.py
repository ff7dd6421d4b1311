"""The report designer's operations: each changes the draft as a finance admin means it, and
one that does not fit is refused with its path."""

from __future__ import annotations

import pytest

from quire.designer.report_ops import (
    STEP_TYPES,
    ReportOpError,
    apply_report_ops,
    blank_report,
    new_key,
    parse_report_ops,
    step_fields,
    step_values,
)
from quire.designer.validate import validate_template
from quire.widgets.base import Bilingual


def run(doc, *ops):  # type: ignore[no-untyped-def]
    return apply_report_ops(doc, parse_report_ops(list(ops)))


def test_a_blank_report_is_valid_and_every_step_type_is_offered():
    doc = blank_report("spending", Bilingual(zh="支出", en="Spending"))
    assert validate_template(doc) == []
    assert {"filter", "group", "pivot", "top", "join", "budget_vs_actual"} <= set(STEP_TYPES)


def test_building_the_spending_pivot_step_by_step():
    doc = blank_report("spending", Bilingual(zh="支出", en="Spending"))
    doc = run(
        doc,
        {"op": "remove_step", "index": 0},
        {"op": "add_step", "type": "pivot"},
        {
            "op": "set_step",
            "index": 0,
            "values": step_values(
                "pivot",
                {
                    "rows": "department",
                    "columns": "month",
                    "values": "amount",
                    "rollup": "department_tree",
                    "thresholds.amber": "50000",
                    "thresholds.red": "200000",
                },
            ),
        },
        {"op": "remove_column", "index": 2},
        {"op": "set_chart", "values": {"category": "department_name", "stacked": True}},
        {"op": "set_layout", "values": {"orientation": "portrait", "sheet_name": "支出"}},
        {
            "op": "set_parameter",
            "values": {
                "key": "year",
                "label": {"zh": "年度", "en": "Year"},
                "type": "year",
                "default": "=YEAR(TODAY())",
            },
        },
        {"op": "add_step", "type": "filter", "index": 0},
        {"op": "move_step", "index": 0, "by": 1},
    )
    assert [s["op"] for s in doc["transforms"]] == ["pivot", "filter"]
    pivot = doc["transforms"][0]
    assert pivot["thresholds"] == {"amber": "50000", "red": "200000"}
    assert pivot["rollup"] == "department_tree"
    assert doc["report"] == {"orientation": "portrait", "sheet_name": "支出"}
    assert doc["charts"] == [{"category": "department_name", "stacked": True}]
    # The year parameter filters the rows where they are read.
    assert doc["datasets"][0]["params"] == {"year": "=year"}
    assert validate_template(doc) == []


def test_an_operation_that_does_not_fit_names_its_path():
    doc = blank_report("spending", Bilingual(zh="支出", en="Spending"))
    with pytest.raises(ReportOpError) as raised:
        run(doc, {"op": "set_step", "index": 5, "values": {}})
    assert raised.value.path == "ops[0].index"
    with pytest.raises(ReportOpError) as raised:
        run(doc, {"op": "set_step", "index": 0, "values": {"by": "department", "wehre": "x"}})
    assert raised.value.path == "ops[0].values.wehre"
    with pytest.raises(ReportOpError) as raised:
        parse_report_ops([{"op": "explode"}])
    assert raised.value.path.startswith("ops[0]")


def test_the_step_form_is_read_from_the_step_model():
    fields = {f["name"]: f for f in step_fields({"op": "pivot", "rows": ["department"]})}
    assert fields["rows"]["kind"] == "list" and fields["rows"]["value"] == "department"
    assert fields["aggregate"]["kind"] == "choice" and "sum" in fields["aggregate"]["choices"]
    assert fields["thresholds"]["kind"] == "thresholds"
    assert fields["total_label"]["kind"] == "bilingual"


def test_a_new_key_comes_from_the_english_title():
    assert new_key("Spending by department & month", {"x"}) == "spending-by-department-month"
    assert new_key("Spending", {"spending"}) == "spending-2"
