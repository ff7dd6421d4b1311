"""The expense ledger at scale: its web page is paged, its Excel and CSV exports stream from
the database (the same file the engine's rows give, for every reader's scope)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from quire.runtime.reports import engine, export, stream
from quire.runtime.reports.export import company_name

from .conftest import YEAR


def _engine_file(user, params: dict[str, str], fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    """The file the engine's pandas path writes (every row in memory)."""
    result = engine.run(user, "expense-ledger", params, locale="zh_CN")
    out = io.BytesIO()
    export.render(result, fmt, out)
    return out.getvalue()


def _sheet_values(data: bytes) -> list[tuple]:
    book = load_workbook(io.BytesIO(data))
    return [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]


@pytest.mark.parametrize("username", ["cfo", "salesmgr", "rdmgr", "auditor"])
@pytest.mark.parametrize("params", [{}, {"status": "in_review"}, {"department": "SALES"}])
def test_the_streamed_ledger_export_is_the_engines_export_for_each_readers_scope(
    app, user, username, params
):
    reader = user(username)
    if params.get("department") and username == "rdmgr":
        params = {}
    report = engine.definition("expense-ledger")
    assert stream.streamable(report)
    for fmt in ("csv", "xlsx"):
        listing = stream.listing(reader, report, params, "zh_CN")
        out = io.BytesIO()
        export.write(listing.document(company=company_name()), fmt, out)
        expected = _engine_file(reader, params, fmt)
        if fmt == "csv":
            assert out.getvalue() == expected, (username, params)
        else:
            assert _sheet_values(out.getvalue()) == _sheet_values(expected), (username, params)
        assert listing.count() == engine.run(reader, "expense-ledger", params).detail_count


def test_the_demo_ledger_has_lines_in_more_than_one_scope(app, user):
    everyone = engine.run(user("cfo"), "expense-ledger", {"status": ""}).detail_count
    sales = engine.run(user("salesmgr"), "expense-ledger", {"status": ""}).detail_count
    assert everyone > sales > 0


def test_the_ledger_export_streams_rows_before_reading_every_submission(app, user):
    """The generator hands over its first line having read one chunk, not the whole ledger."""
    listing = stream.listing(user("cfo"), engine.definition("expense-ledger"), {}, "zh_CN")
    rows = listing.rows(chunk=2)
    first = next(rows)
    assert first["number"] and isinstance(first["amount"], Decimal)
    # The totals so far are the first line's: the rest has not been read yet.
    assert listing.totals["amount"] == first["amount"]
    rest = list(rows)
    assert len(rest) + 1 == listing.count()
    assert listing.totals["amount"] == first["amount"] + sum(r["amount"] for r in rest)


def test_a_streamed_export_through_the_api_carries_the_totals_and_the_codes_in_csv(app, api):
    response = api("cfo").get(f"/api/v1/reports/expense-ledger/export?format=csv&year={YEAR}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    detail = rows[1:-1]
    assert detail and {r[3] for r in detail} == {"approved"}
    assert Decimal(rows[-1][-1]) == sum(Decimal(r[-1]) for r in detail)


def test_the_ledger_page_is_paged_and_page_two_keeps_the_filters(app, user, signed_in):
    lines = engine.run(user("cfo"), "expense-ledger", {"status": ""}).rows
    assert len(lines) > 40
    browser = signed_in("cfo")
    query = f"year={YEAR}&status=&per_page=20"
    first = browser.get(f"/reports/expense-ledger?{query}")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert html.count('<tr class="">') == 20
    assert "page=2" in html and "per_page=20" in html and "status=&amp;" in html
    second = browser.get(f"/reports/expense-ledger?{query}&page=2")
    assert second.status_code == 200
    text = second.get_data(as_text=True)
    assert text.count('<tr class="">') == 20
    assert "page=1" in text
    shown = [r["number"] for r in lines[20:40]]
    assert [n for n in shown if n in text] == shown
    # The total is the whole ledger's, not the page's.
    assert f"{sum(r['amount'] for r in lines):,}" in text
    # The exports still carry every line: paging is the page's alone.
    assert "page=2" not in text.split('data-testid="export-csv"')[0].rsplit("href=", 1)[1]
    bad = browser.get(f"/reports/expense-ledger?year={YEAR}&page=zero")
    assert bad.status_code == 400
