"""Issue 4's story: sales1 fills an expense claim; who sees what of it."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, Submission, SubmissionStatus

TODAY = date.today()


def claim_data(**overrides):
    data = {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [
            {
                "date": (TODAY - timedelta(days=3)).isoformat(),
                "category": "travel",
                "description": "上海出差 高铁",
                "amount": "1,250.50",
            },
            {
                "date": (TODAY - timedelta(days=2)).isoformat(),
                "category": "meals",
                "description": "客户午餐",
                "amount": 380,
            },
            {
                "date": (TODAY - timedelta(days=1)).isoformat(),
                "category": "office",
                "description": "打印纸",
                "amount": "99.5",
            },
        ],
    }
    data.update(overrides)
    return data


def test_sales1_creates_a_draft_through_the_api_and_the_server_computes_the_total(api):
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions", json={"data": claim_data(total="1.00")}
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "draft" and body["version"] == 1 and body["form"] == "expense-claim"
    assert body["data"]["total"] == "1730.00"  # 1250.50 + 380 + 99.50, whatever the client sent
    assert body["data"]["lines"][0]["amount"] == "1250.50"
    assert body["department"] == "SALES"  # defaults to the claimant's department
    assert body["data"]["bank_account"] == "6222 0200 1234 5678"  # the claimant sees it in full
    assert body["created_at"].endswith("+00:00")


def test_bad_values_come_back_addressed_by_path_and_nothing_is_saved(api):
    before = db.session.query(Submission).count()
    lines = claim_data()["lines"]
    lines[1]["amount"] = "12.345"
    lines[2]["date"] = (TODAY + timedelta(days=5)).isoformat()
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": claim_data(lines=lines, colour="red")},
    )
    assert response.status_code == 422
    paths = {d["path"] for d in response.json["error"]["details"]}
    assert {"lines[1].amount", "lines[2].date", "colour"} <= paths
    assert db.session.query(Submission).count() == before


def test_patch_with_a_stale_version_is_409(api):
    client = api("sales1")
    created = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": claim_data()}
    ).json
    ok = client.patch(
        f"/api/v1/submissions/{created['id']}",
        json={"data": {"payee_name": "李明明"}, "version": created["version"]},
    )
    assert ok.status_code == 200 and ok.json["version"] == created["version"] + 1
    stale = client.patch(
        f"/api/v1/submissions/{created['id']}",
        json={"data": {"payee_name": "x"}, "version": created["version"]},
    )
    assert stale.status_code == 409 and stale.json["error"]["code"] == "conflict"


def _submitted(api):  # type: ignore[no-untyped-def]
    created = (
        api("sales1")
        .post("/api/v1/forms/expense-claim/submissions", json={"data": claim_data()})
        .json
    )
    submission = db.session.get(Submission, created["id"])
    submission.status = SubmissionStatus.IN_REVIEW
    submission.current_step = "manager"
    db.session.commit()
    return created["id"]


def test_finance_sees_the_bank_account_the_manager_sees_it_masked_rnd_gets_404(api):
    sid = _submitted(api)
    assert (
        api("finrev").get(f"/api/v1/submissions/{sid}").json["data"]["bank_account"]
        == "6222 0200 1234 5678"
    )
    masked = api("salesmgr").get(f"/api/v1/submissions/{sid}").json["data"]["bank_account"]
    assert masked != "6222 0200 1234 5678" and masked.endswith("5678") and "*" in masked
    response = api("rd1").get(f"/api/v1/submissions/{sid}")
    assert response.status_code == 404
    assert api("admin").get(f"/api/v1/submissions/{sid}").status_code == 404  # no finance data


def test_a_draft_is_private_to_its_submitter(api):
    created = (
        api("sales1")
        .post("/api/v1/forms/expense-claim/submissions", json={"data": claim_data()})
        .json
    )
    assert api("salesmgr").get(f"/api/v1/submissions/{created['id']}").status_code == 404
    listed = api("salesmgr").get("/api/v1/submissions?form=expense-claim").json
    assert created["id"] not in [i["id"] for i in listed["items"]]


def test_read_only_fields_ignore_tampered_values_and_it_is_audited(api):
    sid = _submitted(api)
    submission = db.session.get(Submission, sid)
    submission.status = SubmissionStatus.RETURNED
    db.session.commit()
    client = api("sales1")
    body = client.get(f"/api/v1/submissions/{sid}").json
    response = client.patch(
        f"/api/v1/submissions/{sid}", json={"data": {"total": "1.00"}, "version": body["version"]}
    )
    assert response.status_code == 200 and response.json["data"]["total"] == "1730.00"


def test_the_same_invoice_on_two_claims_is_flagged(api):
    client = api("sales1")
    lines = claim_data()["lines"]
    lines[0]["invoice"] = "FP-2026-0001"
    first = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": claim_data(lines=lines)}
    ).json
    lines[0]["invoice"] = "fp-2026-0001"  # the same number in other letters
    second = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": claim_data(lines=lines)}
    ).json
    warnings = client.get(f"/api/v1/submissions/{second['id']}").json["warnings"]
    assert (
        warnings
        and warnings[0]["path"] == "lines[0].invoice"
        and first["number"] in warnings[0]["message"]
    )


def test_lists_are_scoped_and_paged(api):
    _submitted(api)
    mgr = api("salesmgr").get("/api/v1/submissions?status=in_review").json
    assert set(mgr) == {"items", "page", "pages", "total"} and mgr["total"] >= 1
    assert all(i["department"] in ("SALES", "SALES-E") for i in mgr["items"])
    assert "data" not in mgr["items"][0]
    assert api("rdmgr").get("/api/v1/submissions?department=SALES").json["total"] == 0
    assert api("salesmgr").get("/api/v1/submissions?status=bogus").status_code == 422


# --- the web form, as sales1 uses it ------------------------------------------------------------
def test_sales1_fills_the_claim_in_the_browser_form(signed_in):
    browser = signed_in("sales1")
    page = browser.get("/forms/expense-claim/new")
    assert page.status_code == 200 and "费用报销单" in page.text
    form = {
        "payee_name": "李明",
        "bank_account": "6222020012345678",
        "department": "SALES",
        "lines-0-date": (TODAY - timedelta(days=1)).isoformat(),
        "lines-0-category": "travel",
        "lines-0-description": "出租车",
        "lines-0-amount": "88.00",
        "lines-1-date": (TODAY - timedelta(days=1)).isoformat(),
        "lines-1-category": "meals",
        "lines-1-description": "工作餐",
        "lines-1-amount": "45.5",
    }
    response = browser.post_form("/forms/expense-claim/new", form)
    assert response.status_code == 302
    edit_url = response.location
    page = browser.get(edit_url)
    assert "133.50" in page.text  # the total, computed on the server
    assert 'value="工作餐"' in page.text


def test_a_bad_amount_is_shown_at_its_cell_and_what_was_typed_is_kept(signed_in):
    browser = signed_in("sales1")
    response = browser.post_form(
        "/forms/expense-claim/new",
        {
            "payee_name": "李明",
            "bank_account": "6222020012345678",
            "lines-0-date": TODAY.isoformat(),
            "lines-0-category": "travel",
            "lines-0-description": "出租车",
            "lines-0-amount": "eighty",
        },
        page="/forms/expense-claim/new",
    )
    assert response.status_code == 422
    assert 'id="lines-0-amount-error"' in response.text
    assert 'aria-describedby="lines-0-amount-error"' in response.text
    assert 'value="eighty"' in response.text and 'value="出租车"' in response.text


def test_totals_recompute_as_the_user_types(signed_in):
    browser = signed_in("sales1")
    response = browser.post_form(
        "/forms/expense-claim/recompute",
        {"lines-0-amount": "100", "lines-1-amount": "23.45"},
        page="/forms/expense-claim/new",
    )
    assert response.status_code == 200
    assert re.search(r'id="computed-total"[^>]*>123\.45<', response.text)


def test_adding_a_row_redraws_the_table_with_what_was_typed(signed_in):
    browser = signed_in("sales1")
    response = browser.post_form(
        "/forms/expense-claim/table/lines?op=add",
        {"lines-0-description": "出租车", "lines-0-amount": "88"},
        page="/forms/expense-claim/new",
    )
    assert response.status_code == 200
    assert 'name="lines-1-amount"' in response.text and 'value="出租车"' in response.text


def test_an_invoice_scan_is_uploaded_and_downloadable_by_its_owner_only(signed_in):
    browser = signed_in("sales1")
    response = browser.post_form(
        "/attachments?name=lines-0-invoice",
        {"file": (io.BytesIO(b"%PDF-1.4 fake invoice"), "发票.pdf")},
        page="/forms/expense-claim/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    attachment_id = re.search(
        r'name="lines-0-invoice" id="lines-0-invoice" value="(\d+)"', response.text
    ).group(1)
    assert browser.get(f"/attachments/{attachment_id}").data.startswith(b"%PDF")
    assert signed_in("sales2").get(f"/attachments/{attachment_id}").status_code == 404
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "attachment.upload")
    ).first()


def test_an_executable_renamed_to_pdf_is_refused(signed_in):
    browser = signed_in("sales1")
    response = browser.post_form(
        "/attachments?name=x",
        {"file": (io.BytesIO(b"MZ\x90\x00"), "invoice.pdf")},
        page="/forms/expense-claim/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "field-error" in response.text


def test_an_unknown_department_is_reported_with_the_other_mistakes(api):
    lines = claim_data()["lines"]
    lines[0]["amount"] = "abc"
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": claim_data(lines=lines, department="NOPE")},
    )
    assert response.status_code == 422
    paths = {d["path"] for d in response.json["error"]["details"]}
    assert {"lines[0].amount", "department"} <= paths


def test_the_budget_annual_column_is_shown_on_the_submission_page(api, signed_in):
    data = {
        "department": "SALES",
        "fiscal_year": str(TODAY.year + 1),
        "lines": [{"account": "travel", "q1": "100", "q2": "200", "q3": "300", "q4": "400"}],
    }
    created = api("salesmgr").post(
        "/api/v1/forms/department-budget/submissions", json={"data": data}
    )
    assert created.status_code == 201, created.json
    assert created.json["data"]["lines"][0]["annual"] == "1000.00"
    page = signed_in("salesmgr").get(f"/submissions/{created.json['id']}")
    assert "1,000.00" in page.text
    assert 'name="lines-0-q1"' not in page.text  # the view page shows values, not inputs


def test_the_forms_page_offers_the_offline_excel_copy(signed_in):
    page = signed_in("sales1").get("/forms").text
    assert 'href="/forms/expense-claim/workbook"' in page


def test_the_project_picker_lists_projects_from_the_data_source(signed_in, app):
    from quire.runtime.demo import seed_projects

    seed_projects()
    db.session.commit()
    page = signed_in("sales1").get("/forms/expense-claim/new").text
    assert '<option value="P-EAST-01"' in page and "华东渠道拓展" in page


def test_an_unreadable_project_source_leaves_a_text_box_and_says_so(signed_in, app):
    from quire.runtime.demo import seed_projects

    seed_projects()
    db.session.commit()
    import shutil
    from pathlib import Path

    shutil.rmtree(Path(app.config["INSTANCE_PATH"]) / "datasources" / "projects")
    response = signed_in("sales1").get("/forms/expense-claim/new")
    assert response.status_code == 200
    assert 'name="project"' in response.text and "field-error" in response.text


def test_uploads_pass_the_configured_virus_scanner_or_are_refused(signed_in, app, tmp_path):
    import sys

    scanner = tmp_path / "scan.py"
    scanner.write_text(
        "import sys\nsys.exit(1 if b'EICAR' in open(sys.argv[1], 'rb').read() else 0)\n"
    )
    app.config["VIRUS_SCAN_COMMAND"] = f"{sys.executable} {scanner} {{path}}"
    browser = signed_in("sales1")

    def upload(content: bytes):  # type: ignore[no-untyped-def]
        return browser.post_form(
            "/attachments?name=x",
            {"file": (io.BytesIO(content), "invoice.pdf")},
            page="/forms/expense-claim/new",
            content_type="multipart/form-data",
        )

    assert upload(b"%PDF-1.4 clean invoice").status_code == 200
    refused = upload(b"%PDF-1.4 EICAR test")
    assert refused.status_code == 422 and "virus" in refused.text
    app.config["VIRUS_SCAN_COMMAND"] = "/nonexistent/scanner {path}"
    assert upload(b"%PDF-1.4 another").status_code == 422  # no scanner: refused, not kept
