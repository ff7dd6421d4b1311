"""Files of "Uploaded file" sources: upload, replace, delete and preview, on the page and
through the API; kept only in the source's folder, checked before they replace anything."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from flask import current_app
from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent

BASE = "/api/v1/datasources"
RATES = b"currency,rate\nUSD,7.12\nEUR,7.80\n"


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _folder(key: str) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "datasources" / key


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _send(client, key: str, content: bytes, name: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"{BASE}/{key}/files",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_a_finance_admin_uploads_a_csv_and_sees_its_parsed_rows(api, make_source):
    make_source("rates", "file", {})
    finadmin = api("finadmin")
    sent = _send(finadmin, "rates", RATES, "FX rates 2026.csv")
    assert sent.status_code == 201, sent.json
    assert sent.json["file"]["name"] == "FX-rates-2026.csv"
    assert sent.json["preview"]["columns"] == ["currency", "rate"]
    assert sent.json["preview"]["rows"][0] == {"currency": "USD", "rate": "7.12"}
    assert (_folder("rates") / "FX-rates-2026.csv").read_bytes() == RATES
    body = finadmin.get(f"{BASE}/rates").json
    assert body["files"][0]["name"] == "FX-rates-2026.csv" and body["files"][0]["present"]
    assert finadmin.post(f"{BASE}/rates/test").json["ok"] is True
    [event] = _audit("datasource.file.upload")
    assert event.changes["file"] == "FX-rates-2026.csv" and event.changes["size"] == len(RATES)

    newer = b"currency,rate\nUSD,7.20\n"
    replaced = _send(finadmin, "rates", newer, "FX rates 2026.csv")
    assert replaced.status_code == 201
    assert replaced.json["preview"]["rows"] == [{"currency": "USD", "rate": "7.20"}]
    assert len(finadmin.get(f"{BASE}/rates").json["files"]) == 1
    assert _audit("datasource.file.replace")[-1].changes["size"] == len(newer)

    assert finadmin.delete(f"{BASE}/rates/files/FX-rates-2026.csv").status_code == 204
    assert not (_folder("rates") / "FX-rates-2026.csv").exists()
    assert finadmin.get(f"{BASE}/rates").json["files"] == []
    assert _audit("datasource.file.delete")[-1].changes["file"] == "FX-rates-2026.csv"
    assert finadmin.delete(f"{BASE}/rates/files/FX-rates-2026.csv").status_code == 404


def test_an_excel_workbook_is_read_with_its_declared_types(api, make_source):
    make_source(
        "budget-lines",
        "file",
        {"files": [{"name": "lines.xlsx", "columns": {"amount": "money"}}]},
    )
    sent = _send(
        api("finadmin"), "budget-lines", _xlsx([["dept", "amount"], ["RD", 1250.5]]), "lines.xlsx"
    )
    assert sent.status_code == 201, sent.json
    assert sent.json["preview"]["rows"] == [{"dept": "RD", "amount": "1250.5"}]


def test_names_stay_inside_the_folder_and_bad_files_are_refused(api, make_source, app):
    make_source("rates", "file", {"files": [{"name": "rates.csv", "columns": {"rate": "number"}}]})
    finadmin = api("finadmin")
    escaped = _send(finadmin, "rates", RATES, "../../evil.csv")
    assert escaped.status_code == 201 and escaped.json["file"]["name"] == "evil.csv"
    assert (_folder("rates") / "evil.csv").is_file()
    assert not (_folder("rates").parent.parent / "evil.csv").exists()

    def refused(content: bytes, name: str, status: int = 422) -> str:
        response = _send(finadmin, "rates", content, name)
        assert response.status_code == status, response.json
        assert response.json["error"]["details"][0]["path"] == "file"
        return response.json["error"]["details"][0]["message"]

    refused(b"MZ\x90\x00", "tool.exe")
    refused(b"not a zip", "sheet.xlsx")
    refused("currency,rate\nUSD,7.1\n".encode("utf-16"), "rates.csv")
    assert "not a valid number" in refused(b"currency,rate\nUSD,lots\n", "rates.csv")
    refused(b"", "rates.csv")
    app.config["DATASOURCE_FILE_MAX_BYTES"] = 10
    refused(RATES, "rates.csv", status=413)
    assert not (_folder("rates") / "rates.csv").exists()  # nothing half-kept
    # Staged outside the store, so nothing is left beside the real files.
    assert sorted(p.name for p in _folder("rates").iterdir()) == ["evil.csv"]
    missing = finadmin.post(f"{BASE}/rates/files", data={}, content_type="multipart/form-data")
    assert missing.status_code == 400


def test_the_virus_scan_refuses_an_infected_upload(api, make_source, app):
    make_source("rates", "file", {})
    app.config["VIRUS_SCAN_COMMAND"] = "false {path}"
    response = _send(api("finadmin"), "rates", RATES, "rates.csv")
    assert response.status_code == 422
    assert "virus" in response.json["error"]["message"]
    assert not (_folder("rates") / "rates.csv").exists()


def test_only_file_sources_take_files_and_only_finance_admins_send_them(
    api, make_source, erp_ledger
):
    make_source("rates", "file", {})
    make_source("ledger", "erp_ledger", {"url": erp_ledger[0]})
    assert _send(api("sales1"), "rates", RATES, "rates.csv").status_code == 403
    assert api("sales1").delete(f"{BASE}/rates/files/rates.csv").status_code == 403
    assert _send(api("finadmin"), "ledger", RATES, "rates.csv").status_code == 422
    assert _send(api("finadmin"), "nope", RATES, "rates.csv").status_code == 404


def test_the_page_uploads_previews_and_deletes_a_file(signed_in, make_source):
    make_source("rates", "file", {})
    b = signed_in("finadmin")
    assert 'href="/admin/data-sources/rates/files"' in b.get("/admin/data-sources/rates/edit").text
    page = b.get("/admin/data-sources/rates/files")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    sent = b.post_form(
        "/admin/data-sources/rates/files",
        {"file": (io.BytesIO(RATES), "rates.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.text
    shown = b.get(sent.headers["Location"])
    assert shown.status_code == 200 and 'data-testid="preview"' in shown.text
    assert ">USD<" in shown.text and ">7.12<" in shown.text
    bad = b.post_form(
        "/admin/data-sources/rates/files",
        {"file": (io.BytesIO(b"x"), "rates.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "field-error" in bad.text
    gone = b.post_form(
        "/admin/data-sources/rates/files/rates.csv/delete",
        {},
        page="/admin/data-sources/rates/files",
    )
    assert gone.status_code == 302
    assert not (_folder("rates") / "rates.csv").exists()
    assert signed_in("sales1").get("/admin/data-sources/rates/files").status_code == 403
