import pytest

from quire.widgets._masking import MaskRule, apply_mask


def test_bank_account_masks_as_6222_stars_stars_1234(make_field):
    text, account = make_field("text", "bank_account", mask="bank_account")
    assert text.mask(account, "6222021234561234") == "6222 **** **** 1234"
    assert text.mask(account, "6222 0212 3456 1234") == "6222 **** **** 1234"


def test_phone_masks_as_138_stars_5678(make_field):
    text, phone = make_field("text", "phone", mask={"preset": "phone"})
    assert text.mask(phone, "13812345678") == "138****5678"


def test_a_mask_rule_can_be_written_out_in_numbers():
    rule = MaskRule(keep_start=2, keep_end=2)
    assert apply_mask("ABCDEFG", rule) == "AB***FG"
    assert apply_mask("6222021234561234", MaskRule(keep_start=4, keep_end=4, group=4)) == (
        "6222 **** **** 1234"
    )


@pytest.mark.parametrize("short", ["", "123", "12345678"])
def test_a_value_too_short_to_mask_shows_nothing(short):
    assert set(apply_mask(short, MaskRule(preset="bank_account"))) == {"*"}


def test_a_field_without_a_rule_masks_completely(make_field):
    text, name = make_field("text", "payee_name")
    assert text.mask(name, "张三") == "****"
