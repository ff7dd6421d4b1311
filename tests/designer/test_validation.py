import pytest

from quire.designer.validate import Issue, TemplateInvalid, load_template, validate_template

from .conftest import bilingual, formula, minimal_form, money


def paths(issues):
    return [issue.path for issue in issues]


def test_a_template_with_five_mistakes_gets_five_path_addressed_issues(expense_claim):
    doc = expense_claim
    doc["kind"] = "from"  # 1 a typo in an enum
    doc["print"]["colour"] = "red"  # 2 an unknown key
    doc["fields"][5]["expression"] = "SUM(lines.amout)"  # 3 a misspelt column in a formula
    doc["layout"]["sections"][0]["rows"][0]["cells"][1]["field"] = "projet"  # 4 a dangling cell
    del doc["approval"]["steps"][1]["name"]  # 5 a missing key

    issues = validate_template(doc)

    assert sorted(map(str, issues)) == sorted(
        [
            'kind: must be one of: form, report (did you mean "form"?)',
            'print.colour: unknown key "colour"',
            'fields[5].expression: table "lines" has no column "amout" (did you mean "amount"?)',
            'layout.sections[0].rows[0].cells[1].field: unknown field "projet"'
            ' (did you mean "project"?)',
            "approval.steps[1].name: this field is required",
        ]
    )


def test_a_formula_naming_amout_suggests_amount():
    doc = minimal_form(money("amount"), formula("total", "amout * 2"))
    assert validate_template(doc) == [
        Issue("fields[1].expression", 'unknown field "amout" (did you mean "amount"?)')
    ]


def test_a_formula_cycle_is_reported():
    doc = minimal_form(formula("a", "b + 1"), formula("b", "c + 1"), formula("c", "a + 1"))
    issues = validate_template(doc)
    assert len(issues) == 1
    assert issues[0].path == "fields[0].expression"
    assert issues[0].message == "formulas refer to each other in a circle: a → b → c → a"


def test_a_table_column_formula_may_read_its_own_row_but_not_loop():
    table = {
        "key": "lines",
        "type": "table",
        "label": bilingual("Lines"),
        "columns": [money("q1"), formula("annual", "q1 + annual")],
    }
    issues = validate_template(minimal_form(table))
    assert issues == [
        Issue(
            "fields[0].columns[1].expression",
            "formulas refer to each other in a circle: lines.annual → lines.annual",
        )
    ]


def test_a_formula_that_does_not_parse_names_the_column():
    issues = validate_template(minimal_form(money("amount"), formula("total", "amount +")))
    assert paths(issues) == ["fields[1].expression"]
    assert issues[0].message.startswith("formula error:")
    assert "column" in issues[0].message


def test_approval_conditions_may_name_what_the_engine_provides_but_fields_may_not():
    doc = minimal_form(
        money("total"),
        formula("flag", "within_budget"),
        approval={
            "auto_approve_when": "total < 10000 AND within_budget",
            "steps": [
                {
                    "key": "cfo",
                    "name": bilingual("CFO"),
                    "assignee": {"kind": "role", "role": "cfo"},
                    "when": 'budget_remaining < total OR submitter.department = "RD"',
                }
            ],
        },
    )
    assert paths(validate_template(doc)) == ["fields[1].expression"]


def test_an_unknown_widget_type_is_named_with_a_suggestion():
    doc = minimal_form({"key": "amount", "type": "monye", "label": bilingual("Amount")})
    (issue,) = validate_template(doc)
    assert issue.path == "fields[0].type"
    assert issue.message.startswith('unknown type "monye" (did you mean "money"?)')


def test_unknown_keys_suggest_the_key_that_was_meant():
    doc = minimal_form({**money("amount"), "currancy": "CNY"})
    assert [str(i) for i in validate_template(doc)] == [
        'fields[0].currancy: unknown key "currancy" (did you mean "currency"?)'
    ]


def test_permissions_must_name_fields_roles_and_steps_that_exist(expense_claim):
    n = len(expense_claim["permissions"])
    expense_claim["permissions"].append(
        {
            "field": "bank_acount",
            "roles": ["finance_reviwer"],
            "steps": ["finanse"],
            "access": "read",
        }
    )
    issues = {issue.path: issue.message for issue in validate_template(expense_claim)}
    assert issues == {
        f"permissions[{n}].field": 'unknown field "bank_acount" (did you mean "bank_account"?)',
        f"permissions[{n}].roles[0]": 'unknown role "finance_reviwer" (did you mean "finance_reviewer"?)',
        f"permissions[{n}].steps[0]": 'unknown approval step "finanse" (did you mean "finance"?)',
    }


def test_options_from_must_name_a_declared_data_source(expense_claim):
    expense_claim["fields"][1]["options_from"]["source"] = "project"
    assert [str(i) for i in validate_template(expense_claim)] == [
        'fields[1].options_from.source: unknown data source "project" (did you mean "projects"?)'
    ]


def test_duplicate_field_keys_and_assignee_fields_of_the_wrong_type():
    doc = minimal_form(
        money("amount"),
        money("amount"),
        approval={
            "steps": [
                {
                    "key": "owner",
                    "name": bilingual("Owner"),
                    "assignee": {"kind": "user_field", "field": "amount"},
                }
            ]
        },
    )
    assert [str(i) for i in validate_template(doc)] == [
        'fields[1].key: duplicate key "amount" (also fields[0])',
        'approval.steps[0].assignee.field: "amount" must be a user picker field, not money',
    ]


def test_table_totals_must_name_numeric_columns():
    table = {
        "key": "lines",
        "type": "table",
        "label": bilingual("Lines"),
        "columns": [money("amount"), {"key": "note", "type": "text", "label": bilingual("Note")}],
        "totals": ["amount", "note", "amont"],
    }
    assert [str(i) for i in validate_template(minimal_form(table))] == [
        'fields[0].totals[1]: column "note" is not a number, so it cannot be totalled',
        'fields[0].totals[2]: table "lines" has no column "amont" (did you mean "amount"?)',
    ]


def test_step_modes_and_due_times_explain_themselves():
    step = {
        "key": "board",
        "name": bilingual("Board"),
        "assignee": {"kind": "role", "role": "cfo"},
        "mode": "n_of_m",
        "due": {"working_days": 2, "hours": 4},
    }
    issues = validate_template(minimal_form(money("amount"), approval={"steps": [step]}))
    assert sorted(str(i) for i in issues) == [
        'approval.steps[0].due: give either "working_days" or "hours"',
        'approval.steps[0]: mode "n_of_m" needs "required": how many must approve',
    ]


def test_a_document_that_is_not_an_object_is_one_issue():
    assert validate_template([1, 2]) == [Issue("", "a template must be a JSON object")]


def test_load_template_raises_with_every_issue():
    with pytest.raises(TemplateInvalid) as invalid:
        load_template({"kind": "form"})
    assert paths(invalid.value.issues) == ["key", "title"]


def test_the_json_schema_is_generated_from_the_models():
    from quire.designer.model import template_json_schema

    schema = template_json_schema()
    assert schema["additionalProperties"] is False
    assert "money" in str(schema["$defs"]["MoneyField"])
    assert "assert" in schema["$defs"]["Rule"]["properties"]


def test_a_literal_default_must_be_a_value_of_its_widget():
    doc = minimal_form({**money("amount"), "default": "lots"}, {**money("fee"), "default": 25})
    assert [str(i) for i in validate_template(doc)] == [
        "fields[0].default: not a valid default: Amount must be a number with at most 2 "
        "decimal places"
    ]


def test_a_select_needs_its_choices_and_draft_is_not_a_step_name():
    doc = minimal_form(
        {"key": "category", "type": "select", "label": bilingual("Category")},
        approval={
            "steps": [
                {
                    "key": "draft",
                    "name": bilingual("Draft"),
                    "assignee": {"kind": "role", "role": "cfo"},
                }
            ]
        },
    )
    assert [str(i) for i in validate_template(doc)] == [
        'fields[0]: needs its choices: "options", or "options_from" a data source',
        'approval.steps[0].key: "draft" is reserved for a form still with its submitter',
    ]
