"""The file connector: typed CSV and XLSX uploads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from quire.plugins.base import QueryRejected, SourceUnavailable
from quire.plugins.builtin.file import FileConnector
from quire.plugins.testing.connector_contract import HOSTILE_VALUE, ConnectorContract

BUDGET_COLUMNS = {"amount": "money", "month": "date", "headcount": "number"}


def _write_budget_csv(folder, name="budget.csv", bom=True):
    text = (
        "dept,account,amount,month,headcount\n"
        'HQ,travel,"1,200.50",2025-01-01,12\n'
        "FIN,office,(300.00),2025-01-01,5\n"
        f'"{HOSTILE_VALUE.replace(chr(34), chr(34) * 2)}",other,1.00,2025-02-01,1\n'
        "销售部,meals,88.80,2025/02/01,7\n"
        ",,,,\n"
    )
    (folder / name).write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


def _write_rates_xlsx(folder, name="rates.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Rates"
    sheet.append(["currency", "rate", "valid_from"])
    sheet.append(["USD", 7.1234, date(2025, 1, 1)])
    sheet.append(["EUR", 7.8, date(2025, 1, 1)])
    book.save(folder / name)


def _files(folder, **extra):
    return FileConnector(
        {
            "folder": str(folder),
            "files": [
                {"name": "budget.csv", "columns": BUDGET_COLUMNS},
                {
                    "name": "rates.xlsx",
                    "sheet": "Rates",
                    "columns": {"rate": "number", "valid_from": "date"},
                },
            ],
            **extra,
        }
    )


class TestFileContract(ConnectorContract):
    sample_query = "budget.csv"
    hostile_query = "budget.csv"
    hostile_param = "dept"
    rejected_query = "../secrets.csv"
    invalid_configs = [
        ({"files": [{"name": "../etc/passwd.csv"}]}, ("files", 0, "name")),
        (
            {"files": [{"name": "budget.csv", "columns": {"amount": "currency"}}]},
            ("files", 0, "columns", "amount"),
        ),
        ({"delimiter": ";;"}, ("delimiter",)),
    ]

    @pytest.fixture
    def connector(self, tmp_path):
        _write_budget_csv(tmp_path)
        _write_rates_xlsx(tmp_path)
        return _files(tmp_path)

    @pytest.fixture
    def unavailable_connector(self, tmp_path):
        return _files(tmp_path / "not-uploaded-yet")


def test_csv_values_are_typed_and_money_is_decimal(tmp_path):
    _write_budget_csv(tmp_path)
    rows = list(_files(tmp_path).fetch("budget.csv", {}, 100))
    assert rows[0] == {
        "dept": "HQ",
        "account": "travel",
        "amount": Decimal("1200.50"),
        "month": date(2025, 1, 1),
        "headcount": Decimal(12),
    }
    assert rows[1]["amount"] == Decimal("-300.00")  # accounting-style negative
    assert rows[3]["dept"] == "销售部" and rows[3]["month"] == date(2025, 2, 1)
    assert len(rows) == 4  # the blank line is skipped


def test_csv_without_bom_reads_the_same(tmp_path):
    _write_budget_csv(tmp_path, bom=False)
    assert next(_files(tmp_path).fetch("budget.csv", {}, 1))["dept"] == "HQ"


def test_parameters_filter_by_typed_equality(tmp_path):
    _write_budget_csv(tmp_path)
    rows = list(_files(tmp_path).fetch("budget.csv", {"amount": "1200.5"}, 100))
    assert [r["dept"] for r in rows] == ["HQ"]
    rows = list(_files(tmp_path).fetch("budget.csv", {"dept": HOSTILE_VALUE}, 100))
    assert [r["dept"] for r in rows] == [HOSTILE_VALUE]


def test_filtering_on_an_unknown_column_or_with_a_bad_value_is_rejected(tmp_path):
    _write_budget_csv(tmp_path)
    source = _files(tmp_path)
    with pytest.raises(QueryRejected, match="no column region"):
        list(source.fetch("budget.csv", {"region": "east"}, 10))
    with pytest.raises(QueryRejected, match="not a valid money"):
        list(source.fetch("budget.csv", {"amount": "lots"}, 10))


def test_xlsx_is_read_with_declared_types(tmp_path):
    _write_rates_xlsx(tmp_path)
    source = _files(tmp_path)
    rows = list(source.fetch("rates.xlsx", {"currency": "USD"}, 10))
    assert rows == [{"currency": "USD", "rate": Decimal("7.1234"), "valid_from": date(2025, 1, 1)}]
    assert [(c.name, c.type) for c in source.columns("rates.xlsx")] == [
        ("currency", "text"),
        ("rate", "number"),
        ("valid_from", "date"),
    ]


def test_a_bad_cell_makes_the_source_unavailable_with_its_row(tmp_path):
    (tmp_path / "budget.csv").write_text("dept,amount\nHQ,12\nFIN,twelve\n", encoding="utf-8")
    with pytest.raises(SourceUnavailable, match="row 3, amount"):
        list(_files(tmp_path).fetch("budget.csv", {}, 10))


def test_an_undeclared_or_missing_file_is_not_read(tmp_path):
    (tmp_path / "payroll.csv").write_text("name,salary\nA,1\n", encoding="utf-8")
    source = _files(tmp_path)
    with pytest.raises(QueryRejected, match="payroll.csv"):
        source.fetch("payroll.csv", {}, 10)
    with pytest.raises(SourceUnavailable, match="budget.csv has not been uploaded"):
        list(source.fetch("budget.csv", {}, 10))


def test_a_corrupt_workbook_is_source_unavailable(tmp_path):
    (tmp_path / "rates.xlsx").write_bytes(b"not a zip file")
    with pytest.raises(SourceUnavailable, match="not a readable workbook"):
        list(_files(tmp_path).fetch("rates.xlsx", {}, 10))
