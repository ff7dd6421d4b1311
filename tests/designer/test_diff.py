import copy

from quire.designer.diff import diff_templates
from quire.report_templates import builtin_templates


def test_a_diff_lists_fields_added_removed_and_changed_attribute_by_attribute():
    old = builtin_templates()["expense-claim"]
    new = copy.deepcopy(old)
    new["fields"] = [f for f in new["fields"] if f["key"] != "policy"]
    new["layout"]["sections"].pop()  # the policy's section
    new["fields"].append(
        {"key": "urgent", "type": "checkbox", "label": {"zh": "加急", "en": "Urgent"}}
    )
    payee = next(f for f in new["fields"] if f["key"] == "payee_name")
    payee["max_length"] = 50
    lines = next(f for f in new["fields"] if f["key"] == "lines")
    lines["columns"][3]["min"] = "1"
    new["approval"]["auto_approve_when"] = "total < 5000 AND within_budget"

    diff = diff_templates(old, new)

    assert diff["added"] == ["urgent"]
    assert diff["removed"] == ["policy"]
    assert diff["changed"] == [
        {"key": "payee_name", "changes": {"max_length": [100, 50]}},
        {"key": "lines", "changes": {"columns.amount.min": ["0.01", "1"]}},
    ]
    assert list(diff["template"]) == ["layout", "approval"]
    assert diff["template"]["approval"][1]["auto_approve_when"] == "total < 5000 AND within_budget"


def test_identical_versions_have_an_empty_diff():
    doc = builtin_templates()["department-budget"]
    assert diff_templates(doc, doc) == {"added": [], "removed": [], "changed": [], "template": {}}
