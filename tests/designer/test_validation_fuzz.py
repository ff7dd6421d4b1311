"""Whatever a client sends to `validate_template`, it answers with issues and never raises."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quire.designer.issues import Issue
from quire.designer.validate import INCOMPLETE, validate_template
from quire.report_templates import builtin_templates

KEYS = [
    "key",
    "kind",
    "title",
    "fields",
    "layout",
    "sections",
    "rows",
    "cells",
    "field",
    "span",
    "type",
    "label",
    "zh",
    "en",
    "expression",
    "columns",
    "totals",
    "permissions",
    "roles",
    "steps",
    "access",
    "approval",
    "assignee",
    "when",
    "rules",
    "assert",
    "options_from",
    "source",
    "data_sources",
    "default",
    "mask",
    "colour",
    "金额",
    "",
]
TYPES = ["money", "table", "formula", "select", "text", "date", "role", "form", "report"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(TYPES + ["SUM(lines.amount)", "a + (", "=TODAY()", "total < 1 AND x"])
    | st.text(max_size=30)
    | st.builds(lambda n, c: c * n, st.integers(5000, 50000), st.sampled_from(["字", "a(", "é"]))
)
json_ish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)


def deeply_nested(depth: int) -> dict:
    doc: dict = {"x": 1}
    for _ in range(depth):
        doc = {"fields": [doc], "layout": {"sections": [doc]}}
    return doc


@settings(
    max_examples=int(os.environ.get("QUIRE_FUZZ_EXAMPLES", 200)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(json_ish)
def test_random_json_documents_get_issues_never_exceptions(doc):
    issues = validate_template(doc)
    assert isinstance(issues, list)
    assert all(isinstance(issue, Issue) and issue.message for issue in issues)
    assert INCOMPLETE not in {issue.message for issue in issues}


@settings(
    max_examples=int(os.environ.get("QUIRE_FUZZ_EXAMPLES", 100)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.data())
def test_a_built_in_template_with_random_damage_gets_issues_never_exceptions(data):
    doc = builtin_templates()["expense-claim"]
    target = doc
    for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target)))
        elif isinstance(target, list) and target:
            key = data.draw(st.integers(min_value=0, max_value=len(target) - 1))
        else:
            break
        if not isinstance(target[key], dict | list):
            break
        target = target[key]
    if isinstance(target, dict):
        target[data.draw(st.sampled_from(KEYS))] = data.draw(json_ish)
    elif isinstance(target, list):
        target.append(data.draw(json_ish))
    issues = validate_template(doc)
    assert isinstance(issues, list)
    assert INCOMPLETE not in {issue.message for issue in issues}


def test_deep_nesting_and_huge_formulas_are_issues_too():
    assert validate_template(deeply_nested(200))
    doc = builtin_templates()["expense-claim"]
    doc["fields"][5]["expression"] = "(" * 5000 + "1" + ")" * 5000
    doc["approval"]["auto_approve_when"] = "1 + " * 3000 + "1"
    issues = validate_template(doc)
    assert {issue.path for issue in issues} == {
        "fields[5].expression",
        "approval.auto_approve_when",
    }
