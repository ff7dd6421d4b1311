from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from quire.runtime.render.csv import write_report_csv


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_bom_is_on_by_default_and_can_be_turned_off(make_doc):
    with_bom, without = io.BytesIO(), io.BytesIO()
    write_report_csv(make_doc(), with_bom)
    write_report_csv(make_doc(), without, bom=False)
    assert with_bom.getvalue().startswith(b"\xef\xbb\xbf")
    assert not without.getvalue().startswith(b"\xef\xbb\xbf")
    assert with_bom.getvalue()[3:] == without.getvalue()


def test_text_streams_are_accepted_and_left_open(make_doc):
    out = io.StringIO()
    write_report_csv(make_doc(), out, bom=False)
    assert not out.closed
    assert out.getvalue().splitlines()[0].startswith("部门 Department,说明 Note")


def test_same_columns_as_excel_with_plain_numbers(make_doc):
    out = io.BytesIO()
    write_report_csv(make_doc(totals={"budget": Decimal("75003")}), out)
    header, first, *_, total = read(out.getvalue())
    assert header == [
        "部门 Department",
        "说明 Note",
        "日期 Date",
        "笔数 Lines",
        "预算 Budget",
        "执行率 Used",
    ]
    assert first == ["研发中心", "差旅 line 1", "2025-01-01", "1", "25000.00", "0.915"]
    assert total[0] == "合计 Total" and total[4] == "75003.00"


@pytest.mark.parametrize("text", ["=1+2", "+cmd", "-1+1", "@SUM", "\tX", "\rX", " =1+2"])
def test_formula_leading_cells_are_neutralised(make_doc, budget_rows, text):
    rows = budget_rows(1)
    rows[0]["note"] = text
    out = io.BytesIO()
    write_report_csv(make_doc(rows=rows), out)
    assert read(out.getvalue())[1][1] == "'" + text


def test_negative_amounts_are_numbers_not_neutralised(make_doc, budget_rows):
    rows = budget_rows(1)
    rows[0]["budget"] = Decimal("-120.5")
    out = io.BytesIO()
    write_report_csv(make_doc(rows=rows), out)
    assert read(out.getvalue())[1][4] == "-120.50"
