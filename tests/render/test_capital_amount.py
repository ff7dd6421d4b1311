"""大写金额: the amount in Chinese capital numerals, as a voucher carries it beside the figure."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quire.runtime.render.capital_amount import DIGITS, capital_amount


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("25000", "贰万伍仟元整"),
        ("25380.05", "贰万伍仟叁佰捌拾元零伍分"),
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("0.50", "伍角整"),
        ("0.05", "伍分"),
        ("0.55", "伍角伍分"),
        ("1.05", "壹元零伍分"),
        ("1.50", "壹元伍角整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("10000", "壹万元整"),
        ("105000", "壹拾万伍仟元整"),
        ("100100", "壹拾万零壹佰元整"),
        ("1000001", "壹佰万零壹元整"),
        ("20010000", "贰仟零壹万元整"),
        ("100000000", "壹亿元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("201000000", "贰亿零壹佰万元整"),
        ("1000000000000", "壹万亿元整"),
        ("1100000000000", "壹万壹仟亿元整"),
        (
            "112999999999999.99",
            "壹佰壹拾贰万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
        ),
        ("-1250.50", "负壹仟贰佰伍拾元伍角整"),
        ("-0.001", "零元整"),
        ("0.005", "壹分"),
        ("2.675", "贰元陆角捌分"),
    ],
)
def test_amounts_are_written_as_finance_writes_them_on_a_voucher(amount, words):
    assert capital_amount(Decimal(amount)) == words


def test_whole_numbers_and_strings_are_taken_as_amounts():
    assert capital_amount(25000) == capital_amount("25000.00") == "贰万伍仟元整"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", "10000000000000000"])
def test_what_is_not_an_amount_or_too_large_is_refused(bad):
    with pytest.raises(ValueError):
        capital_amount(bad)


def _read_back(words: str) -> Decimal:
    """The amount the words mean, read as a cashier would (the inverse, for the property)."""
    sign = -1 if words.startswith("负") else 1
    words = words.removeprefix("负").removesuffix("整")
    yuan_text, _, cents_text = words.rpartition("元") if "元" in words else ("", "", words)
    cents = 0
    digit = 0
    for char in cents_text:
        if char in DIGITS:
            digit = DIGITS.index(char)
        elif char == "角":
            cents += digit * 10
        elif char == "分":
            cents += digit
    total = section = number = 0
    for char in yuan_text:
        if char in DIGITS:
            number = DIGITS.index(char)
        elif char in "拾佰仟":
            section += number * 10 ** ("拾佰仟".index(char) + 1)
            number = 0
        elif char == "万":
            section = (section + number) * 10**4
            total, section, number = total + section, 0, 0
        elif char == "亿":
            total = (total + section + number) * 10**8
            section = number = 0
    yuan = total + section + number
    return sign * (Decimal(yuan) + Decimal(cents) / 100)


@given(
    st.decimals(
        min_value=Decimal("-99999999999999.99"),
        max_value=Decimal("999999999999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_the_words_always_read_back_as_the_same_amount(amount):
    words = capital_amount(amount)
    assert _read_back(words) == amount
    assert "零零" not in words
    if amount:
        assert not words.startswith("零") and not words.startswith("负零")
    assert words.endswith("整") or words.endswith("分")
