"""Money is exact end to end: an amount with 17 significant digits survives the database
(SQLite too), lists, the report, the print copies (PDF and Excel) and the report exports."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook

BIG = "112999999999999.99"
SHOWN = "112,999,999,999,999.99"


@pytest.fixture
def big_claim(api):  # type: ignore[no-untyped-def]
    client = api("sales1")
    line = {
        "date": date.today().isoformat(),
        "category": "office",
        "description": "大额采购",
        "amount": BIG,
    }
    made = client.post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": {"lines": [line], "payee_name": "张三", "bank_account": "6222020200001234"}},
    )
    assert made.status_code == 201, made.json
    return client, made.json


def _cells(data: bytes) -> list[object]:
    book = load_workbook(io.BytesIO(data))
    return [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]


def test_a_seventeen_digit_total_is_stored_and_listed_exactly(big_claim):
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    client, made = big_claim
    assert made["data"]["total"] == BIG
    db.session.expire_all()
    assert str(db.session.get(Submission, made["id"]).total) == BIG
    assert client.get(f"/api/v1/submissions/{made['id']}").json["data"]["total"] == BIG
    listed = client.get("/api/v1/submissions?status=draft").json["items"]
    mine = next(i for i in listed if i["id"] == made["id"])
    assert BIG in str(mine)


def test_the_print_copies_show_every_digit(big_claim):
    client, made = big_claim
    pdf = client.get(f"/api/v1/submissions/{made['id']}.pdf")
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert SHOWN in text
    xlsx = client.get(f"/api/v1/submissions/{made['id']}.xlsx")
    assert xlsx.status_code == 200
    values = _cells(xlsx.data)
    # Excel numbers carry 15 significant digits: this amount is kept as exact text.
    assert any(str(v).replace(",", "") == BIG for v in values if v is not None)


def test_the_ledger_report_and_its_exports_keep_every_digit(big_claim, api):
    client, made = big_claim
    submitted = client.post(f"/api/v1/submissions/{made['id']}/submit")
    assert submitted.status_code == 200, submitted.json
    cfo = api("cfo")
    query = f"year={date.today().year}&status=in_review"
    report = cfo.get(f"/api/v1/reports/expense-ledger?{query}")
    assert report.status_code == 200, report.json
    assert any(BIG in str(row.values()) for row in report.json["rows"])
    csv = cfo.get(f"/api/v1/reports/expense-ledger/export?format=csv&{query}")
    assert csv.status_code == 200 and BIG in csv.data.decode("utf-8-sig").replace(",", "")
    xlsx = cfo.get(f"/api/v1/reports/expense-ledger/export?format=xlsx&{query}")
    assert xlsx.status_code == 200
    assert any(str(v).replace(",", "") == BIG for v in _cells(xlsx.data) if v is not None)
    pdf = cfo.get(f"/api/v1/reports/expense-ledger/export?format=pdf&{query}")
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert SHOWN in text
