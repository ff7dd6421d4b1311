"""The formula language as finance admins use it in forms, validations and approvals."""

from __future__ import annotations

import datetime
import decimal
from decimal import Decimal

import pytest

from quire.designer.formula import FUNCTIONS, Formula, FormulaError, FormulaSyntaxError, parse

MAY_DAY = datetime.date(2024, 5, 1)


def evaluate(source: str, **values: object) -> object:
    return parse(source).evaluate(values, today=MAY_DAY)


def syntax_error(source: str) -> FormulaSyntaxError:
    with pytest.raises(FormulaSyntaxError) as caught:
        parse(source)
    return caught.value


def runtime_error(source: str, **values: object) -> str:
    with pytest.raises(FormulaError) as caught:
        evaluate(source, **values)
    assert not isinstance(caught.value, FormulaSyntaxError)
    return caught.value.message


# Computed fields ---------------------------------------------------------------------------


def test_an_expense_claim_total_sums_its_line_amounts():
    lines = [{"amount": Decimal("120.50")}, {"amount": Decimal("79.50")}, {"amount": 300}]
    assert evaluate("SUM(lines.amount)", lines=lines) == Decimal("500.00")


def test_an_empty_line_amount_is_skipped_like_an_empty_excel_cell():
    lines = [{"amount": Decimal("10")}, {"amount": None}, {"note": "no amount"}, {"amount": ""}]
    assert evaluate("SUM(lines.amount)", lines=lines) == Decimal("10")
    assert evaluate("COUNT(lines.amount)", lines=lines) == Decimal("1")
    assert evaluate("AVERAGE(lines.amount)", lines=lines) == Decimal("10")


def test_count_of_a_table_counts_its_rows():
    assert evaluate("COUNT(lines)", lines=[{}, {"amount": 1}, {}]) == Decimal("3")


def test_an_expense_claim_with_no_lines_yet_totals_zero_and_has_no_average():
    assert evaluate("SUM(lines.amount)", lines=[]) == Decimal("0")
    assert evaluate("SUM(lines.amount)", lines=None) == Decimal("0")
    assert evaluate("AVERAGE(lines.amount)", lines=[]) is None
    assert evaluate("MAX(lines.amount)", lines=[]) is None


def test_aggregates_take_columns_and_single_values_together():
    lines = [{"amount": 5}, {"amount": 7}]
    assert evaluate("SUM(lines.amount, shipping, 1)", lines=lines, shipping=Decimal("2.5")) == (
        Decimal("15.5")
    )
    assert evaluate("MIN(lines.amount, 6)", lines=lines) == Decimal("5")
    assert evaluate("MAX(lines.amount, 6)", lines=lines) == Decimal("7")


def test_vat_is_rounded_half_up_like_finance_expects():
    assert evaluate("ROUND(net * 0.13, 2)", net=Decimal("10.50")) == Decimal("1.37")  # 1.365
    assert evaluate("ROUND(2.5, 0)") == Decimal("3")
    assert evaluate("ROUND(-2.5, 0)") == Decimal("-3")
    assert evaluate("ROUND(1234.5, -2)") == Decimal("1200")
    assert evaluate("ROUND(1.5, 4)") == Decimal("1.5")


def test_money_keeps_its_cents_and_never_goes_through_float():
    assert evaluate("0.1 + 0.2") == Decimal("0.3")
    assert evaluate("price * qty", price=Decimal("19.99"), qty=3) == Decimal("59.97")
    assert evaluate("amount + 0", amount=0.1) == Decimal("0.1")  # float converted via str


def test_numbers_posted_as_text_are_used_as_numbers():
    assert evaluate("amount * 2", amount="1250.00") == Decimal("2500.00")
    assert evaluate("amount > 1000", amount="1250.00") is True
    assert evaluate("SUM(lines.amount)", lines=[{"amount": "1.5"}, {"amount": "2"}]) == Decimal(
        "3.5"
    )


def test_abs_turns_a_credit_into_a_positive_amount():
    assert evaluate("ABS(balance)", balance=Decimal("-42.10")) == Decimal("42.10")


def test_a_decimal_in_the_callers_global_context_is_not_disturbed():
    before = decimal.getcontext().prec
    decimal.getcontext().prec = 3
    try:
        assert evaluate("1 / 3") == Decimal("0.3333333333333333333333333333")
    finally:
        decimal.getcontext().prec = before


# Operators and precedence ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),
        ("12 / 3 / 2", Decimal(2)),
        ("-2 * 3", Decimal(-6)),
        ("2 - -3", Decimal(5)),
        ('1 + 2 & "x"', "3x"),
        ("1 + 1 = 2", True),
        ('"a" & "b" = "ab"', True),
        ("NOT 1 > 2", True),
        ("TRUE OR FALSE AND FALSE", True),
        ("(TRUE OR FALSE) AND FALSE", False),
    ],
)
def test_operators_follow_excel_precedence(source, expected):
    assert evaluate(source) == expected


def test_comparisons_do_not_chain():
    assert syntax_error("1 < x < 3").column == 7


@pytest.mark.parametrize(
    ("source", "expected"),
    [("5 = 5", True), ("5 <> 5", False), ("4 < 5", True), ("5 <= 5", True), ("4 > 5", False)],
)
def test_every_comparison_operator(source, expected):
    assert evaluate(source) is expected
    assert evaluate(source.replace(" ", "")) is expected


# Text --------------------------------------------------------------------------------------


def test_text_is_joined_with_ampersand_and_numbers_keep_their_cents():
    assert evaluate('"Claim " & number & ": " & total', number=17, total=Decimal("7.50")) == (
        "Claim 17: 7.50"
    )


def test_a_doubled_quote_inside_text_is_one_quote():
    assert evaluate('"the ""Q3"" budget"') == 'the "Q3" budget'


def test_text_comparison_ignores_case_like_excel():
    assert evaluate('status = "Paid"', status="PAID") is True


def test_len_concat_counts_and_joins_text():
    assert evaluate("LEN(code)", code="CN-0012") == Decimal(7)
    assert evaluate('CONCAT(a, "-", b)', a="CN", b=12) == "CN-12"


def test_a_text_code_with_leading_zeros_stays_text():
    assert evaluate('code & ""', code="00123") == "00123"


# Empty values ------------------------------------------------------------------------------


def test_an_empty_field_equals_empty_text_and_counts_as_zero_in_arithmetic():
    assert evaluate('remark = ""', remark=None) is True
    assert evaluate("bonus + 100", bonus=None) == Decimal(100)
    assert evaluate("bonus = 0", bonus=None) is True


def test_isblank_and_coalesce_handle_empty_fields():
    assert evaluate("ISBLANK(approver)", approver=None) is True
    assert evaluate("ISBLANK(approver)", approver="") is True
    assert evaluate("ISBLANK(approver)", approver="li.wei") is False
    assert evaluate('COALESCE(nickname, "", name)', nickname=None, name="Li Wei") == "Li Wei"
    assert evaluate("COALESCE(a, b)", a=None, b=None) is None


# Conditions --------------------------------------------------------------------------------


def test_an_approval_condition_compares_total_to_100000():
    condition = parse("total >= 100000 AND NOT within_budget")
    assert condition.evaluate({"total": Decimal("150000"), "within_budget": False}) is True
    assert condition.evaluate({"total": Decimal("150000"), "within_budget": True}) is False
    assert condition.evaluate({"total": Decimal("99999.99"), "within_budget": False}) is False


def test_a_cost_allocation_must_total_100_percent():
    rule = parse("SUM(shares.percent) = 100")
    assert rule.evaluate({"shares": [{"percent": 60}, {"percent": Decimal("40.0")}]}) is True
    assert rule.evaluate({"shares": [{"percent": 60}, {"percent": 30}]}) is False


def test_if_does_not_divide_by_zero_on_the_branch_not_taken():
    assert evaluate("IF(qty = 0, 0, amount / qty)", qty=0, amount=10) == Decimal(0)
    assert evaluate("IF(qty = 0, 0, amount / qty)", qty=4, amount=10) == Decimal("2.5")


def test_and_or_stop_as_soon_as_the_answer_is_known():
    assert evaluate("qty <> 0 AND amount / qty > 5", qty=0, amount=10) is False
    assert evaluate("OR(qty = 0, amount / qty > 5)", qty=0, amount=10) is True


def test_and_or_not_work_as_excel_functions_too():
    assert evaluate("AND(a > 1, b < 2, TRUE)", a=2, b=1) is True
    assert evaluate("OR(a > 1, b < 2)", a=0, b=5) is False
    assert evaluate("NOT(paid)", paid=False) is True
    assert evaluate("and(TRUE, true)") is True  # keywords and functions ignore case


# Dates -------------------------------------------------------------------------------------


def test_today_is_the_date_given_to_evaluate():
    assert evaluate("TODAY()") == MAY_DAY
    assert isinstance(parse("TODAY()").evaluate({}), datetime.date)


def test_an_invoice_is_overdue_30_days_after_its_date():
    overdue = parse("invoice_date + 30 < TODAY()")
    assert overdue.evaluate({"invoice_date": datetime.date(2024, 3, 1)}, today=MAY_DAY) is True
    assert overdue.evaluate({"invoice_date": datetime.date(2024, 4, 15)}, today=MAY_DAY) is False


def test_days_between_two_dates():
    assert evaluate("end - start", start=datetime.date(2024, 1, 1), end=MAY_DAY) == Decimal(121)


def test_date_parts_and_month_end():
    assert evaluate("YEAR(d) * 100 + MONTH(d)", d=datetime.date(2024, 2, 29)) == Decimal(202402)
    assert evaluate("DAY(d)", d=datetime.date(2024, 2, 29)) == Decimal(29)
    assert evaluate("DATE(2024, 3, 0)") == datetime.date(2024, 2, 29)
    assert evaluate("DATE(2024, 13, 1)") == datetime.date(2025, 1, 1)
    assert evaluate("YEAR(d)", d=None) is None


def test_the_latest_date_in_a_column():
    rows = [{"on": datetime.date(2024, 1, 5)}, {"on": datetime.date(2024, 3, 2)}, {"on": None}]
    assert evaluate("MAX(trips.on)", trips=rows) == datetime.date(2024, 3, 2)


def test_dates_compare_with_dates_and_iso_text():
    assert evaluate("due < DATE(2024, 6, 1)", due=datetime.date(2024, 5, 31)) is True
    assert evaluate('due = "2024-05-31"', due=datetime.date(2024, 5, 31)) is True


# What a formula reads ----------------------------------------------------------------------


def test_references_and_functions_list_what_a_formula_reads_and_calls():
    formula = parse("IF(count(lines) > 0, SUM(lines.amount) / COUNT(lines), fallback)")
    assert formula.references == frozenset({"lines", "lines.amount", "fallback"})
    assert formula.functions == frozenset({"IF", "SUM", "COUNT"})
    assert formula.source == formula.to_source()
    assert isinstance(formula, Formula)


def test_fields_may_share_a_name_with_a_function_or_start_with_a_keyword():
    assert evaluate("date + 1", date=datetime.date(2024, 1, 31)) == datetime.date(2024, 2, 1)
    assert evaluate("year & order_no", year=2024, order_no="A7") == "2024A7"
    assert evaluate("not_paid OR android", not_paid=False, android=True) is True


def test_functions_registry_names_every_built_in():
    assert {"SUM", "IF", "ROUND", "TODAY", "COALESCE", "AND", "OR", "NOT"} <= set(FUNCTIONS)


# Syntax errors -----------------------------------------------------------------------------


def test_an_unexpected_parenthesis_is_reported_with_its_column():
    error = syntax_error("SUM(a, b) + )")
    assert error.message == 'unexpected ")" at column 13'
    assert error.column == 13


def test_an_unknown_function_suggests_a_close_name():
    error = syntax_error("1 + SUMM(lines.amount)")
    assert error.message == "unknown function SUMM (did you mean SUM?)"
    assert error.column == 5


def test_wrong_argument_count_is_found_when_the_formula_is_saved():
    assert syntax_error("ROUND(total)").message == "ROUND expects 2 arguments, got 1"
    assert syntax_error("TODAY(1)").message == "TODAY expects 0 arguments, got 1"
    assert syntax_error("SUM()").message == "SUM expects at least 1 argument, got 0"


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ("status = 'paid'", "text must be in double quotes", 10),
        ("status = \u201cpaid\u201d", "text must be in double quotes", 10),
        ('status = "paid', "no closing double quote", 10),
        ("status = Paid", "field keys are lower case", 10),
        ("a != b", "use <>", 3),
        ("a == b", "single =", 4),
        ("ROUND(a; 2)", "comma", 8),
        ("(a + b", 'missing a closing parenthesis ")"', 7),
        ("a +", "ends too early", 4),
        ("lines.amount.net", "too many dots", 1),
        ("SUM + 1", "is a function", 1),
        ("", "empty", None),
    ],
)
def test_syntax_errors_read_as_sentences_with_a_column(source, fragment, column):
    error = syntax_error(source)
    assert fragment in error.message
    assert error.column == column


# Runtime errors ----------------------------------------------------------------------------


def test_runtime_errors_say_what_went_wrong():
    assert runtime_error("amount / qty", amount=1, qty=0) == "cannot divide by zero"
    assert runtime_error('amount + "abc"', amount=1) == "cannot add text to a number"
    assert runtime_error("amout", amount=1) == 'unknown field "amout"'
    assert runtime_error("lines.x", other=1) == 'unknown field "lines"'
    assert runtime_error('1 = "one"') == "cannot compare a number with text"
    assert "table column" in runtime_error("lines.amount * 2", lines=[{"amount": 1}])
    assert "not a table" in runtime_error("SUM(total.amount)", total=5)
    assert "whole table" in runtime_error("SUM(lines)", lines=[{"amount": 1}])


def test_a_python_object_is_never_reachable_from_a_formula():
    assert "cannot use" in runtime_error("thing + 1", thing=object())
    assert "cannot use" in runtime_error("SUM(t.c)", t=[{"c": object()}])


# Bounds ------------------------------------------------------------------------------------


def test_a_formula_longer_than_2000_characters_is_refused():
    assert "too long" in syntax_error("1" + " + 1" * 600).message


def test_deep_nesting_and_huge_formulas_are_refused():
    assert "nested too deeply" in syntax_error("ABS(" * 51 + "1" + ")" * 51).message
    assert "too complex" in syntax_error("+".join(["a"] * 600)).message
    assert parse("(" * 900 + "1" + ")" * 900).evaluate({}) == Decimal(1)  # brackets are free


def test_huge_numbers_are_refused():
    assert "too long" in syntax_error("1" * 31).message
    assert runtime_error("1" * 20) == "number too large"
    assert runtime_error("9999999999999999 * 10") == "number too large"
    assert runtime_error("amount", amount=10**40) == "number too large"
    assert "not give a number" in runtime_error("amount", amount=Decimal("NaN"))
