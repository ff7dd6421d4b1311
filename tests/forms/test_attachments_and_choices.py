"""Issue 20: invoices an approver can open beside the line, duplicates warned at the line,
and choices the server would refuse never offered (and refused when sent anyway)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from quire.runtime.extensions import db
from quire.runtime.models import Submission

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
NEW = "/forms/expense-claim/new"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(browser, content: bytes, name: str) -> str:  # type: ignore[no-untyped-def]
    answer = browser.post_form(
        "/attachments?name=lines-0-invoice",
        {"file": (io.BytesIO(content), name)},
        page=NEW,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.text
    return answer


def claim(api, username: str, invoice: str, amount: str = "25000") -> int:  # type: ignore[no-untyped-def]
    data = {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [
            {
                "date": YESTERDAY,
                "category": "travel",
                "description": "差旅",
                "amount": amount,
                "invoice": invoice,
            }
        ],
    }
    client = api(username)
    created = client.post("/api/v1/forms/expense-claim/submissions", json={"data": data})
    assert created.status_code == 201, created.json
    submitted = client.post(f"/api/v1/submissions/{created.json['id']}/submit", json={})
    assert submitted.status_code == 200, submitted.json
    return created.json["id"]


def test_an_upload_shows_the_file_name_size_and_a_remove_button_not_its_id(signed_in):
    answer = upload(signed_in("sales1"), b"%PDF-1.4 an invoice", "invoice.pdf")
    attachment_id = re.search(
        r'type="hidden" name="lines-0-invoice" id="lines-0-invoice" value="(\d+)"', answer.text
    ).group(1)
    visible = re.sub(r"<[^>]+>", " ", answer.text)
    assert "invoice.pdf" in visible and " B" in visible
    assert attachment_id not in visible.split()
    assert "icon-clip" in answer.text and "📎" not in answer.text
    assert "/attachments/slot?name=lines-0-invoice" in answer.text
    assert answer.headers["HX-Trigger"] == "quire-form-changed"
    empty = signed_in("sales1").get("/attachments/slot?name=lines-0-invoice")
    assert 'type="file"' in empty.text and 'value=""' in empty.text


def test_the_approver_opens_the_invoice_image_beside_the_line(signed_in, api):
    sales1 = signed_in("sales1")
    answer = upload(sales1, PNG, "invoice.png")
    attachment_id = re.search(r'value="(\d+)"', answer.text).group(1)
    submission_id = claim(api, "sales1", attachment_id)
    page = signed_in("salesmgr").get(f"/submissions/{submission_id}").text
    assert f'href="/attachments/{attachment_id}"' in page
    assert f'<img src="/attachments/{attachment_id}/preview" alt="invoice.png"' in page
    preview = signed_in("salesmgr").get(f"/attachments/{attachment_id}/preview")
    assert preview.status_code == 200 and preview.data.startswith(b"\x89PNG")
    assert preview.mimetype == "image/png"
    assert "attachment" not in preview.headers.get("Content-Disposition", "")
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    assert "script" not in preview.headers["Content-Security-Policy"]
    # The same checks as the download: someone who may not read the claim gets nothing.
    assert signed_in("rd1").get(f"/attachments/{attachment_id}/preview").status_code == 404


def test_a_reused_invoice_is_warned_at_the_line_by_number_only_to_who_may_read_it(signed_in, api):
    first = claim(api, "sales1", "INV-2026-0001")
    second = claim(api, "sales2", "inv-2026-0001")
    number = db.session.get(Submission, first).number
    manager = signed_in("salesmgr").get(f"/submissions/{second}").text
    assert f"possible duplicate of {number}".lower() in manager.lower() or number in re.findall(
        r'class="field-warning duplicate"[^>]*><a href="[^"]+">[^<]*?([A-Z]+-\d{4}-\d+)', manager
    )
    own = signed_in("sales2").get(f"/submissions/{second}").text
    assert 'class="field-warning duplicate" data-path="lines[0].invoice"' in own
    assert number not in own


def test_the_department_picker_offers_only_departments_the_claimant_may_file_for(signed_in):
    page = signed_in("rd1").get(NEW).text
    picker = page[page.index('<select name="department"') :].split("</select>")[0]
    values = re.findall(r'<option value="([^"]+)"', picker)
    assert values == ["RD"]


def test_a_project_outside_the_register_is_refused_on_save_with_its_path(api, app):
    from quire.runtime.demo import seed_projects

    seed_projects()
    db.session.commit()
    data = {
        "payee_name": "李明",
        "project": "NOPE",
        "lines": [{"date": YESTERDAY, "category": "office", "description": "纸", "amount": "10"}],
    }
    answer = api("sales1").post("/api/v1/forms/expense-claim/submissions", json={"data": data})
    assert answer.status_code == 422
    assert [d["path"] for d in answer.json["error"]["details"]] == ["project"]
