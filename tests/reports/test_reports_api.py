"""The report API: JSON shape, errors, exports (file or job), downloads only for the owner."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent

from .conftest import YEAR


@pytest.fixture
def finance(budget, claim):  # type: ignore[no-untyped-def]
    budget("SALES", {"travel": 100000, "meals": 20000})
    budget("SALES-E", {"travel": 50000})
    budget("RD", {"training": 10000})
    claim("SALES", [("travel", "25000"), ("meals", "1000.10")], month=2)
    claim("SALES-E", [("travel", "60000")], month=3)
    claim("RD", [("training", "9500")], month=3)
    db.session.commit()


def test_a_report_answers_columns_rows_and_totals_with_money_as_decimal_strings(finance, api):
    response = api("salesmgr").get(f"/api/v1/reports/budget-vs-actual?year={YEAR}")
    assert response.status_code == 200
    body = response.json
    assert {"key": "budget", "label": "预算", "type": "money"} in body["columns"]
    assert body["totals"]["budget"] == "170000.00"
    assert body["totals"]["actual"] == "86000.10"
    assert body["totals"]["execution_rate"] == "0.5059"
    red = next(r for r in body["rows"] if r["department"] == "SALES-E" and not r.get("_style"))
    assert red["execution_rate"] == "1.2000" and red["_flags"] == {"execution_rate": "red"}
    assert red["_links"]["department"].startswith("/api/v1/reports/actual-lines?")


def test_the_report_list_names_each_report_and_its_parameters(app, api):
    body = api("cfo").get("/api/v1/reports").json
    assert {i["key"] for i in body["items"]} >= {
        "budget-vs-actual",
        "approval-efficiency",
        "expense-ledger",
    }
    ledger = next(i for i in body["items"] if i["key"] == "expense-ledger")
    assert [p["key"] for p in ledger["parameters"]] == ["year", "month", "department", "status"]


@pytest.mark.parametrize(
    ("who", "url", "status", "path"),
    [
        ("cfo", "/api/v1/reports/no-such-report", 404, None),
        ("cfo", "/api/v1/reports/budget-vs-actual?year=last", 422, "year"),
        ("cfo", "/api/v1/reports/expense-ledger?month=13", 422, "month"),
        ("cfo", "/api/v1/reports/expense-ledger?status=paid", 422, "status"),
        ("sales1", "/api/v1/reports/budget-vs-actual", 403, None),
        ("salesmgr", "/api/v1/reports/budget-vs-actual?department=RD", 404, None),
        ("cfo", "/api/v1/reports/budget-vs-actual/export?format=docx", 422, "format"),
        ("sales1", "/api/v1/reports/budget-vs-actual/export?format=xlsx", 403, None),
        ("salesmgr", "/api/v1/reports/expense-ledger/export?format=csv&department=RD", 404, None),
    ],
)
def test_errors_name_the_problem(app, api, who, url, status, path):
    response = api(who).get(url)
    assert response.status_code == status, response.json
    error = response.json["error"]
    if path:
        assert [d["path"] for d in error["details"]] == [path]


def test_reading_without_export_right_cannot_export(app, api, user):
    from quire.runtime.org import grant_role, save_role

    role = save_role(
        None,
        key="report_reader",
        name_zh="报表读者",
        name_en="Report reader",
        permissions=["report.read"],
    )
    grant_role(None, user("rd1"), role, department=user("rd1").department, include_subtree=True)
    db.session.commit()
    client = api("rd1")
    assert client.get("/api/v1/reports/expense-ledger").status_code == 200
    assert client.get("/api/v1/reports/expense-ledger/export?format=csv").status_code == 403


def test_an_unauthenticated_request_is_401(client):
    assert client.get("/api/v1/reports/budget-vs-actual").status_code == 401


def test_excel_export_reads_back_with_numbers_a_chart_and_an_audit_event(finance, api, tmp_path):
    response = api("cfo").get(f"/api/v1/reports/budget-vs-actual/export?format=xlsx&year={YEAR}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data), data_only=True)  # cached formula values
    sheet = book.worksheets[0]
    headings = [c.value for c in sheet[1]]
    assert "预算 Budget" in headings and "执行率 Execution rate" in headings
    budget_col = headings.index("预算 Budget") + 1
    rate_col = headings.index("执行率 Execution rate") + 1
    # The table, then a blank row and the note saying how the actuals are counted.
    assert sheet.cell(sheet.max_row - 1, 1).value is None
    assert "实际" in str(sheet.cell(sheet.max_row, 1).value)
    values = [sheet.cell(r, budget_col).value for r in range(2, sheet.max_row - 1)]
    assert all(isinstance(v, (int, float)) for v in values)
    assert values[-1] == 180000  # the grand total row
    assert sheet.cell(2, rate_col).number_format.endswith("%")
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert any(n.startswith("xl/charts/chart") for n in names)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.export"))
    assert event.object_id == "budget-vs-actual" and event.changes["format"] == "xlsx"


def test_csv_export_has_plain_numbers(finance, api):
    response = api("cfo").get("/api/v1/reports/expense-ledger/export?format=csv&department=SALES")
    text = response.data.decode("utf-8-sig")
    assert "25000.00" in text and "1000.10" in text and "60000.00" in text
    assert "9500.00" not in text


def _pdftotext(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(
        [tool, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_pdf_export_has_chinese_text_repeating_headers_and_page_numbers(claim, api, tmp_path):
    for i in range(60):
        claim("SALES", [("travel", 100 + i), ("meals", 10 + i)], month=1 + i % 12)
    db.session.commit()
    response = api("cfo").get("/api/v1/reports/expense-ledger/export?format=pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    path = tmp_path / "ledger.pdf"
    path.write_bytes(response.data)
    pages = _pdftotext(path).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    assert "费用明细" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert "金额" in page  # the table header repeats on every page
        assert f"第 {number} / {len(pages)} 页" in page


@pytest.mark.slow
def test_libreoffice_converts_the_budget_workbook(finance, api, tmp_path):
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("LibreOffice is not installed")
    source = tmp_path / "budget-vs-actual.xlsx"
    source.write_bytes(api("cfo").get("/api/v1/reports/budget-vs-actual/export?format=xlsx").data)
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    text = _pdftotext(tmp_path / "budget-vs-actual.pdf")
    assert "华东销售" in text and "180,000.00" in text


def test_a_large_export_is_a_job_with_progress_that_only_its_owner_downloads(finance, app, api):
    app.config["REPORT_EXPORT_ASYNC_ROWS"] = 2
    owner = api("cfo")
    response = owner.get("/api/v1/reports/expense-ledger/export?format=xlsx")
    assert response.status_code == 202
    job = response.json["job"]
    assert set(job) >= {"id", "status", "progress"}
    status = owner.get(f"/api/v1/jobs/{job['id']}").json
    assert status["status"] == "finished" and status["progress"] == 100
    assert status["download"] == f"/api/v1/jobs/{job['id']}/download"
    assert status["error"] is None
    file = owner.get(status["download"])
    assert file.status_code == 200
    # 4 lines, header, total, a blank row and the note on the statuses counted
    assert load_workbook(io.BytesIO(file.data)).worksheets[0].max_row == 8
    exports = Path(app.config["INSTANCE_PATH"]) / "exports"
    [written] = list(exports.iterdir())  # one file, no partial left behind
    assert written.stat().st_mode & 0o077 == 0  # readable by the server's user only
    assert exports.stat().st_mode & 0o077 == 0
    other = api("finrev")
    assert other.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert other.get(status["download"]).status_code == 404


def test_an_expired_export_is_gone(finance, app, api):
    from datetime import timedelta

    from quire.runtime.models import ExportJob, utcnow
    from quire.runtime.reports.export import purge_expired

    owner = api("cfo")
    job = owner.get("/api/v1/reports/expense-ledger/export?format=csv&async=1").json["job"]
    record = db.session.scalar(select(ExportJob).where(ExportJob.token == job["id"]))
    record.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert purge_expired() == 1
    assert owner.get(f"/api/v1/jobs/{job['id']}/download").status_code == 404


def test_a_failed_job_says_why(app, api, user):
    from quire.runtime.models import ExportJob, JobStatus
    from quire.runtime.reports.export import start_job

    job = start_job(user("cfo"), "budget-vs-actual", {"department": "NOPE"}, "pdf")
    assert job.status == JobStatus.FAILED
    body = api("cfo").get(f"/api/v1/jobs/{job.token}").json
    assert body["status"] == "failed" and body["error"] and body["download"] is None
    assert db.session.get(ExportJob, job.id).file_path is None


def test_the_openapi_description_lists_the_report_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {
        "/api/v1/reports",
        "/api/v1/reports/{key}",
        "/api/v1/reports/{key}/export",
        "/api/v1/jobs/{token}",
    } <= set(paths)
