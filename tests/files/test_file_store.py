"""Issue 18: attachments, print copies and export files go through one file store, the
instance folder (owner-only, never half-written) or the database (every machine sees the
same files). Each story runs with both stores, on SQLite and, with QUIRE_TEST_DATABASE_URL,
on PostgreSQL."""

from __future__ import annotations

import io
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from quire.runtime import clock, files
from quire.runtime.extensions import db
from quire.runtime.models import Attachment, StoredFile, StoredFileChunk
from tests.conftest import PASSWORD, Browser, base_config

NEW = "/forms/expense-claim/new"
INVOICE = b"%PDF-1.4 invoice FP-88 " + bytes(range(256)) * 8


def _make_app(database_url: str, instance: Path, store: str):  # type: ignore[no-untyped-def]
    from flask import g

    from quire.runtime.app import create_app

    application = create_app({**base_config(instance, database_url), "FILE_STORE": store})

    def forget_previous_request() -> None:
        for name in list(g):
            g.pop(name, None)

    application.before_request_funcs.setdefault(None, []).insert(0, forget_previous_request)
    return application


@pytest.fixture(params=["instance", "database"])
def store_app(request, database_url, tmp_path):  # type: ignore[no-untyped-def]
    application = _make_app(database_url, tmp_path / "instance", request.param)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _upload_invoice(application) -> str:  # type: ignore[no-untyped-def]
    browser = Browser(application.test_client())
    assert browser.login("sales1").status_code == 302
    answer = browser.post_form(
        "/attachments?name=lines-0-invoice",
        {"file": (io.BytesIO(INVOICE), "invoice-fp88.pdf")},
        page=NEW,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.text
    return re.search(r'name="lines-0-invoice" id="lines-0-invoice" value="(\d+)"', answer.text)[1]


def _file_claim(application, attachment_id: str) -> int:  # type: ignore[no-untyped-def]
    client = application.test_client()
    headers = _token(client, "sales1")
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    line = {"date": yesterday, "category": "travel", "description": "差旅 出差上海"}
    data = {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [{**line, "amount": "25000", "invoice": attachment_id}],
    }
    created = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": data}, headers=headers
    )
    assert created.status_code == 201, created.json
    sid = created.json["id"]
    assert client.post(f"/api/v1/submissions/{sid}/submit", json={}, headers=headers).json
    return sid


def _export_job(application) -> tuple[dict[str, str], str]:  # type: ignore[no-untyped-def]
    client = application.test_client()
    headers = _token(client, "cfo")
    answer = client.get(
        "/api/v1/reports/expense-ledger/export?format=xlsx&async=1", headers=headers
    )
    assert answer.status_code == 202, answer.json
    status = client.get(f"/api/v1/jobs/{answer.json['job']['id']}", headers=headers).json
    assert status["status"] == "finished", status
    return headers, status["download"]


def test_an_invoice_its_print_copy_and_an_export_travel_through_the_store(store_app):
    instance = Path(store_app.config["INSTANCE_PATH"])
    attachment_id = _upload_invoice(store_app)
    sid = _file_claim(store_app, attachment_id)

    manager = Browser(store_app.test_client())
    assert manager.login("salesmgr").status_code == 302
    invoice = manager.get(f"/attachments/{attachment_id}")
    assert invoice.status_code == 200 and invoice.data == INVOICE
    # Access is still decided by access.py: someone outside the claim's scope gets nothing.
    outsider = Browser(store_app.test_client())
    assert outsider.login("rd1").status_code == 302
    assert outsider.get(f"/attachments/{attachment_id}").status_code == 404

    client = store_app.test_client()
    copy = client.get(f"/api/v1/submissions/{sid}.pdf", headers=_token(client, "salesmgr"))
    assert copy.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(copy.data)).pages)
    assert "invoice-fp88.pdf" in text  # the attachment is listed on the copy

    headers, download = _export_job(store_app)
    exported = client.get(download, headers=headers)
    assert exported.status_code == 200
    assert load_workbook(io.BytesIO(exported.data)).worksheets[0].max_row > 2

    stored = db.session.get(Attachment, int(attachment_id))
    keys = [f"uploads/{stored.storage_path}"]
    on_disk = [instance / key for key in keys] + list((instance / "exports").glob("*"))
    if store_app.config["FILE_STORE"] == "instance":
        assert all(path.is_file() for path in on_disk) and len(on_disk) == 2
        for path in on_disk:  # owner-only, and no partial file left beside it
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert not list(path.parent.glob("*.part"))
        assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    else:
        assert not (instance / "uploads").exists() and not (instance / "exports").exists()
        stored_keys = set(db.session.scalars(select(StoredFile.key)))
        assert set(keys) < stored_keys and any(k.startswith("exports/") for k in stored_keys)


def test_the_database_store_keeps_large_files_in_bounded_chunks_and_replaces_atomically(
    store_app,
):
    store = files.store()
    big = bytes(range(256)) * (files.CHUNK // 256 * 2 + 100)  # a bit over two chunks
    assert store.put("exports/big.bin", io.BytesIO(big)) == len(big)
    db.session.commit()
    assert files.size(store, "exports/big.bin") == len(big)
    with store.open("exports/big.bin") as stream:
        assert stream.read(10) == big[:10]
        assert stream.read() == big[10:]
    store.put("exports/big.bin", b"small now")
    db.session.rollback()  # a put not committed leaves the old file whole (database store)
    if store.kind == "database":
        assert files.read_bytes(store, "exports/big.bin") == big
        chunks = db.session.scalar(select(func.count()).select_from(StoredFileChunk))
        assert chunks == 3
    store.put("exports/big.bin", b"small now")
    db.session.commit()
    assert files.read_bytes(store, "exports/big.bin") == b"small now"
    store.delete("exports/big.bin")
    db.session.commit()
    assert not files.exists(store, "exports/big.bin")
    with pytest.raises(files.FileMissing):
        store.open("exports/big.bin")
    for bad in ("../quire.toml", "/etc/passwd", "uploads/../../x", ""):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_two_machines_sharing_the_database_see_each_others_files(database_url, tmp_path):
    machine_a = _make_app(database_url, tmp_path / "machine-a", "database")
    machine_b = _make_app(database_url, tmp_path / "machine-b", "database")
    try:
        with machine_a.app_context():
            attachment_id = _upload_invoice(machine_a)
            sid = _file_claim(machine_a, attachment_id)
            headers, download = _export_job(machine_a)
            finadmin = _token(machine_a.test_client(), "finadmin")
            sent = machine_a.test_client().post(
                "/api/v1/datasources/projects/files",
                data={"file": (io.BytesIO("code,name\nP-77,东区仓库\n".encode()), "projects.csv")},
                headers=finadmin,
                content_type="multipart/form-data",
            )
            assert sent.status_code in (200, 201), sent.json
        with machine_b.app_context():
            manager = Browser(machine_b.test_client())
            assert manager.login("salesmgr").status_code == 302
            assert manager.get(f"/attachments/{attachment_id}").data == INVOICE
            assert manager.get(f"/submissions/{sid}").status_code == 200
            exported = machine_b.test_client().get(download, headers=headers)
            assert exported.status_code == 200 and exported.data.startswith(b"PK")
            preview = machine_b.test_client().get(
                "/api/v1/datasources/projects/preview?query=projects.csv", headers=finadmin
            )
            assert preview.status_code == 200, preview.json
            assert "东区仓库" in preview.get_data(as_text=True)
        for machine in ("machine-a", "machine-b"):
            assert not (tmp_path / machine / "uploads").exists()
            assert not (tmp_path / machine / "exports").exists()
    finally:
        for machine in (machine_a, machine_b):
            with machine.app_context():
                db.session.remove()
                db.engine.dispose()
