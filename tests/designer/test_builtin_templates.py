import json

import pytest

from quire.designer.canonical import canonical_json, dumps_template, loads_template
from quire.designer.permissions import resolve_access
from quire.designer.validate import load_template, validate_template
from quire.report_templates import builtin_template_files, builtin_templates

BUILTIN_FORMS = [
    "access-request",
    "cost-allocation",
    "department-budget",
    "expense-claim",
    "role-change",
]
BUILTIN_REPORTS = [
    "access-review",
    "actual-lines",
    "allocation",
    "approval-efficiency",
    "budget-compilation",
    "budget-vs-actual",
    "expense-ledger",
    "permission-changes",
]


def keys(template, table=None):
    fields = template.fields if table is None else template.field(table).columns
    return {field.key for field in fields}


def test_the_built_in_forms_and_reports_are_shipped(builtin=None):
    kinds = {key: doc["kind"] for key, doc in builtin_templates().items()}
    assert sorted(k for k, kind in kinds.items() if kind == "form") == BUILTIN_FORMS
    assert sorted(k for k, kind in kinds.items() if kind == "report") == BUILTIN_REPORTS


@pytest.mark.parametrize("key", BUILTIN_FORMS + BUILTIN_REPORTS)
def test_every_built_in_validates_with_zero_issues(key):
    assert validate_template(builtin_templates()[key]) == []


@pytest.mark.parametrize("key", BUILTIN_FORMS + BUILTIN_REPORTS)
def test_export_import_export_is_byte_stable_for_every_built_in(key):
    shipped = builtin_template_files()[key]
    exported = dumps_template(loads_template(shipped))
    assert exported == shipped  # the files are stored canonically
    assert dumps_template(loads_template(exported.encode("utf-8"))) == exported


def test_a_hand_written_template_becomes_canonical_once_and_stays_so():
    doc = builtin_templates()["expense-claim"]
    doc["print"]["orientation"] = "portrait"  # a default, written out by hand
    doc["fields"][3]["mask"] = "bank_account"  # the short form of a preset
    first = canonical_json(json.loads(json.dumps(doc)))
    assert '"orientation"' not in first
    assert canonical_json(json.loads(first)) == first
    assert "报销" in first  # readable Chinese, not \\u escapes


def test_the_field_keys_scripts_rely_on_are_there():
    claim, budget, allocation = (
        load_template(builtin_templates()[key])
        for key in ("expense-claim", "department-budget", "cost-allocation")
    )
    assert {"department", "project", "lines", "total", "payee_name", "bank_account"} <= keys(claim)
    assert keys(claim, "lines") == {"date", "category", "description", "amount", "invoice"}
    assert {"department", "fiscal_year", "lines", "total"} <= keys(budget)
    # A budget line may also name its cost centre (optional: scripts that leave it out still
    # write a valid line; several people fill one budget by cost centre, docs/budgeting.md).
    assert keys(budget, "lines") == {"account", "cost_center", "q1", "q2", "q3", "q4", "annual"}
    assert not budget.field("lines").column("cost_center").required
    assert {"period", "description", "amount", "shares"} <= keys(allocation)
    assert {"department", "percent"} <= keys(allocation, "shares")


def test_expense_categories_have_chinese_and_english_labels():
    claim = load_template(builtin_templates()["expense-claim"])
    category = claim.field("lines").column("category")
    assert [(o.value, o.label.zh, o.label.en) for o in category.options] == [
        ("travel", "差旅费", "Travel"),
        ("meals", "餐费", "Meals"),
        ("office", "办公费", "Office supplies"),
        ("training", "培训费", "Training"),
        ("other", "其他", "Other"),
    ]
    assert claim.field("lines").column("date").max == "today"


def test_the_bank_account_is_masked_for_everyone_but_finance_and_the_claimant():
    claim = load_template(builtin_templates()["expense-claim"])

    def access(*roles, step="finance"):
        return resolve_access(claim, "bank_account", roles, step)

    assert access("submitter", "staff", step="draft") == "edit"
    assert access("submitter", "staff") == "read"
    for role in ("finance_admin", "finance_reviewer", "cfo"):
        assert access(role) == "read"
        assert access(role, step=None) == "read"
    for role in ("dept_manager", "staff", "auditor", "hr_officer", "sysadmin"):
        assert access(role, "approver" if role == "dept_manager" else role) == "masked"
    assert resolve_access(claim, "payee_name", ["dept_manager"], "manager") == "read"
    assert resolve_access(claim, "total", ["submitter"], "draft") == "read"


def test_the_expense_route_is_the_contracts():
    approval = load_template(builtin_templates()["expense-claim"]).approval
    assert approval.auto_approve_when == "total < 10000 AND within_budget"
    assert [step.key for step in approval.steps] == ["manager", "finance", "cfo"]
    assert approval.steps[0].assignee.kind == "manager_of_submitter"
    assert approval.steps[1].assignee.role == "finance_reviewer"
    assert approval.steps[2].when == "total >= 100000 OR NOT within_budget"


def test_cost_allocation_shares_must_add_up_to_100():
    allocation = load_template(builtin_templates()["cost-allocation"])
    (rule,) = allocation.rules
    assert rule.assert_ == "SUM(shares.percent) = 100"
    assert "100" in rule.message.zh and "100" in rule.message.en


def test_budget_annual_is_the_sum_of_the_quarters_and_total_the_sum_of_annuals():
    budget = load_template(builtin_templates()["department-budget"])
    assert budget.field("lines").column("annual").expression == "q1 + q2 + q3 + q4"
    assert budget.field("total").expression == "SUM(lines.annual)"
    assert [s.key for s in budget.approval.steps] == ["manager", "finance", "cfo"]
