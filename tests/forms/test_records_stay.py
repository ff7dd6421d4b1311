"""Records that must not change: an attachment stays with the submission that first used it,
a reused invoice or file is flagged to approvers, and the audit log shows a submission's
values as every other view does (a masked bank account stays masked), field by field."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from quire.runtime import audit
from quire.runtime.extensions import db
from quire.runtime.forms import attachments
from quire.runtime.models import Attachment, AuditEvent

TODAY = date.today()


def _claim(invoice: str, amount: str = "120.00", **extra) -> dict:
    return {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [
            {
                "date": (TODAY - timedelta(days=2)).isoformat(),
                "category": "office",
                "description": "打印纸",
                "amount": amount,
                "invoice": invoice,
            }
        ],
        **extra,
    }


def _upload(user, content: bytes = b"%PDF-1.4 invoice 0001") -> int:
    stored = attachments.store(
        user, FileStorage(stream=io.BytesIO(content), filename="invoice.pdf")
    )
    db.session.commit()
    return stored.id


@pytest.fixture
def approved_claim(api, user):  # type: ignore[no-untyped-def]
    """sales1's approved claim (under 10,000: approved at submit) with an uploaded invoice."""
    attachment_id = _upload(user("sales1"))
    client = api("sales1")
    created = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim(str(attachment_id))}
    )
    assert created.status_code == 201, created.json
    submitted = client.post(f"/api/v1/submissions/{created.json['id']}/submit", json={})
    assert submitted.json["status"] == "approved", submitted.json
    return created.json["id"], attachment_id


def test_another_draft_cannot_take_an_approved_claims_invoice(api, approved_claim):
    claim_id, attachment_id = approved_claim
    client = api("sales1")
    response = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim(str(attachment_id))}
    )
    assert response.status_code == 422
    assert [d["path"] for d in response.json["error"]["details"]] == ["lines[0].invoice"]

    draft = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim("FP-NEW-1")}
    ).json
    patched = client.patch(
        f"/api/v1/submissions/{draft['id']}",
        json={"data": _claim(str(attachment_id)), "version": draft["version"]},
    )
    assert patched.status_code == 422
    assert patched.json["error"]["details"][0]["path"] == "lines[0].invoice"

    assert db.session.get(Attachment, attachment_id).submission_id == claim_id
    auditor = api("auditor")
    assert auditor.get(f"/api/v1/submissions/{claim_id}").status_code == 200
    assert api("sales1").get(f"/attachments/{attachment_id}").status_code == 200


def test_a_draft_may_keep_quoting_its_own_attachment(api, user):
    attachment_id = _upload(user("sales1"), b"%PDF-1.4 own")
    client = api("sales1")
    draft = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim(str(attachment_id))}
    ).json
    again = client.patch(
        f"/api/v1/submissions/{draft['id']}",
        json={"data": _claim(str(attachment_id), amount="130"), "version": draft["version"]},
    )
    assert again.status_code == 200, again.json


def test_a_reused_file_or_invoice_number_is_flagged_to_approvers(api, user, approved_claim):
    claim_id, attachment_id = approved_claim
    number = api("sales1").get(f"/api/v1/submissions/{claim_id}").json
    same_file = _upload(user("sales1"))  # the same bytes uploaded again: a new attachment
    assert same_file != attachment_id
    client = api("sales1")
    second = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim(str(same_file))}
    ).json
    warnings = client.get(f"/api/v1/submissions/{second['id']}").json["warnings"]
    assert warnings and warnings[0]["path"] == "lines[0].invoice"
    assert number["data"]["lines"][0]["invoice"] == str(attachment_id)
    by_number = client.post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": _claim("FP-2026-0077")},
    ).json
    third = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim("fp2026-0077")}
    ).json
    assert client.get(f"/api/v1/submissions/{third['id']}").json["warnings"]
    assert by_number["id"] != third["id"]


def test_the_audit_log_masks_what_the_reader_sees_masked_and_says_what_changed(api):
    client = api("sales1")
    draft = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim("FP-1")}
    ).json
    client.patch(
        f"/api/v1/submissions/{draft['id']}",
        json={
            "data": _claim("FP-1", amount="150", bank_account="6222 0200 9999 4321"),
            "version": draft["version"],
        },
    )
    client.post(f"/api/v1/submissions/{draft['id']}/submit", json={})

    def update_event(reader: str) -> dict:
        items = (
            api(reader)
            .get(f"/api/v1/audit?action=submission.update&object_id={draft['id']}")
            .json["items"]
        )
        assert len(items) == 1
        return items[0]["changes"]

    seen = update_event("auditor")
    assert seen["lines[0].amount"] == ["120.00", "150.00"]
    old, new = seen["bank_account"]
    assert "5678" in old and "4321" in new
    assert "0200" not in old and "9999" not in new  # masked as on the claim itself
    # the record itself is unchanged, so the chain still verifies
    stored = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "submission.update", AuditEvent.object_id == str(draft["id"])
        )
    )
    assert stored.changes["bank_account"][1] == "6222 0200 9999 4321"
    assert audit.verify_chain().ok


def test_the_auditors_web_page_masks_the_same_way(api, signed_in):
    client = api("sales1")
    draft = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim("FP-2")}
    ).json
    client.patch(
        f"/api/v1/submissions/{draft['id']}",
        json={"data": _claim("FP-2", bank_account="6222 0200 9999 4321"), "version": 1},
    )
    client.post(f"/api/v1/submissions/{draft['id']}/submit", json={})
    page = signed_in("auditor").get("/admin/audit?action=submission.update").text
    assert "4321" in page and "6222 0200 9999 4321" not in page
