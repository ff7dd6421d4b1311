from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from quire.runtime.render.document import Column, ReportDocument, Thresholds, bilingual
from quire.runtime.render.values import (
    column_widths,
    display_text,
    display_width,
    is_formula_like,
    neutralise,
    plain_text,
)

MONEY = Column("amount", {"zh": "金额", "en": "Amount"}, "money")
PERCENT = Column("rate", {"zh": "执行率", "en": "Used"}, "percent")


def test_a_naive_generation_time_is_rejected(make_doc):
    with pytest.raises(ValueError, match="timezone-aware"):
        make_doc(generated_at=dt.datetime(2025, 1, 1, 9, 0))


def test_row_metadata_keys_cannot_be_columns():
    with pytest.raises(ValueError, match="row metadata"):
        Column("_style", {"en": "x"})


def test_document_is_frozen(make_doc):
    doc = make_doc()
    with pytest.raises(AttributeError):
        doc.company = "other"  # type: ignore[misc]
    assert isinstance(doc, ReportDocument)


def test_thresholds_flag_overspend_and_undercollection():
    over = Thresholds(amber=Decimal("90"), red=Decimal("100"))
    assert [over.flag_for(Decimal(v)) for v in ("89", "90", "100")] == [None, "amber", "red"]
    under = Thresholds(amber=Decimal("0.8"), red=Decimal("0.5"), above=False)
    assert [under.flag_for(Decimal(v)) for v in ("0.9", "0.8", "0.4")] == [None, "amber", "red"]


def test_money_and_percent_read_as_finance_expects():
    assert display_text(Decimal("25000"), MONEY) == "25,000.00"
    assert plain_text(Decimal("25000"), MONEY) == "25000.00"
    assert display_text(Decimal("0.915"), PERCENT) == "91.5%"
    assert plain_text(Decimal("0.915"), PERCENT) == "0.915"
    assert display_text(Decimal("-1234.565"), MONEY) == "-1,234.57"


@pytest.mark.parametrize(
    "text", ["=1+2", "+cmd", "-1+1", "@SUM(A1)", "\tX", "\rX", "  =HYPERLINK()"]
)
def test_formula_leaders_are_recognised(text):
    assert is_formula_like(text)
    assert neutralise(text) == "'" + text


def test_ordinary_text_is_left_alone():
    assert neutralise("差旅 a-b") == "差旅 a-b"


def test_cjk_characters_count_double_in_widths():
    assert display_width("研发") == 4
    note = Column("note", {"en": "N"})
    wide, narrow = column_widths(
        [note, Column("b", {"en": "B"})], [{"note": "研发中心研发中心", "b": "abcdefgh"}]
    )
    assert wide == 18 and narrow == 10


def test_bilingual_labels_do_not_repeat():
    assert bilingual({"zh": "预算", "en": "Budget"}) == "预算 Budget"
    assert bilingual({"zh": "ID", "en": "ID"}) == "ID"
