from decimal import Decimal

import pytest

from quire.widgets.base import FieldValueError


def test_money_accepts_25_000_00_and_stores_25000_00_as_decimal(make_field):
    money, amount = make_field("money", "amount")
    for raw in ("25,000.00", 25000, "25000", "25000.0", Decimal("25000"), "¥25,000", 25000.0):
        value = money.parse(amount, raw)
        assert value == Decimal("25000.00") and isinstance(value, Decimal)
        assert str(value) == "25000.00"
    assert money.to_json(amount, money.parse(amount, "25,000.00")) == "25000.00"


def test_money_is_shown_with_thousands_separators_and_exported_as_decimal(make_field):
    money, amount = make_field("money", "amount")
    value = money.parse(amount, "1234567.5")
    assert money.display(amount, value, "zh_CN") == "1,234,567.50"
    exported = money.export_value(amount, value)
    assert exported.value == Decimal("1234567.50") and exported.excel_format == "money"


def test_a_money_value_with_three_decimals_is_refused_with_a_sentence(make_field):
    money, amount = make_field("money", "amount")
    with pytest.raises(FieldValueError) as refused:
        money.parse(amount, "12.345")
    assert refused.value.message == "Amount must be a number with at most 2 decimal places"


@pytest.mark.parametrize("raw", ["12,34", "abc", "1e5", "NaN", "Infinity", True, [1], {"a": 1}])
def test_money_refuses_what_is_not_an_amount(make_field, raw):
    money, amount = make_field("money", "amount")
    with pytest.raises(FieldValueError, match="Amount must be a number"):
        money.parse(amount, raw)


def test_a_float_never_leaks_binary_noise_into_money(make_field):
    money, amount = make_field("money", "amount")
    assert money.parse(amount, 0.1) + money.parse(amount, 0.2) == Decimal("0.30")


def test_money_limits_and_required_speak_to_the_clerk(make_field):
    money, amount = make_field("money", "amount", required=True, min="0.01", max="50000")
    with pytest.raises(FieldValueError, match="Amount is required"):
        money.parse(amount, "  ")
    with pytest.raises(FieldValueError, match="at least 0.01"):
        money.parse(amount, "0")
    with pytest.raises(FieldValueError, match="at most 50,000"):
        money.parse(amount, "50,000.01")
    with pytest.raises(FieldValueError, match="too large"):
        money.parse(amount, "1" * 20)


def test_an_optional_blank_amount_is_none(make_field):
    money, amount = make_field("money", "amount")
    assert money.parse(amount, "") is None
    assert money.to_json(amount, None) is None


def test_percent_is_kept_in_points_and_exported_as_a_fraction(make_field):
    percent, share = make_field("percent", "share")
    value = percent.parse(share, "12.5%")
    assert value == Decimal("12.50")
    assert percent.display(share, value, "en") == "12.50 %"
    assert percent.export_value(share, value).value == Decimal("0.125")


def test_number_with_no_places_goes_out_as_a_json_integer(make_field):
    number, headcount = make_field("number", "headcount", places=0)
    assert number.to_json(headcount, number.parse(headcount, "12")) == 12
    with pytest.raises(FieldValueError, match="without decimals"):
        number.parse(headcount, "1.5")
