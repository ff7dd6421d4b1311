"""Access reviews in the web pages: start, decide from the inbox, follow, export evidence."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from sqlalchemy import select


def _campaign_id(response) -> int:  # type: ignore[no-untyped-def]
    return int(re.search(r"/access-reviews/(\d+)", response.headers["Location"]).group(1))


def test_finadmin_starts_a_review_and_salesmgr_revokes_from_the_inbox(
    app, signed_in, sales_reviewer, user
):
    from quire.runtime import access
    from quire.runtime.access import Permission
    from quire.runtime.extensions import db
    from quire.runtime.models import AccessReviewItem, utcnow
    from quire.runtime.reviews import service

    finadmin = signed_in("finadmin")
    assert "权限复核" in finadmin.get("/access-reviews").text
    due = (service.local_day(utcnow()) + timedelta(days=10)).isoformat()
    started = finadmin.post_form(
        "/access-reviews",
        {"title": "Finance roles Q4", "scope": "finance_roles", "due_date": due},
    )
    assert started.status_code == 303
    campaign_id = _campaign_id(started)

    salesmgr = signed_in("salesmgr")
    inbox = salesmgr.get("/inbox").text
    assert 'data-testid="review-task"' in inbox
    assert "王芳 Wang Fang" in inbox
    item = db.session.scalar(
        select(AccessReviewItem).where(
            AccessReviewItem.campaign_id == campaign_id,
            AccessReviewItem.grant_id == sales_reviewer.id,
        )
    )
    decided = salesmgr.post_form(
        f"/access-reviews/items/{item.id}/decision",
        {"decision": "revoke", "comment": "月末结账已结束", "next": "/inbox"},
        page="/inbox",
    )
    assert decided.status_code == 303 and decided.headers["Location"] == "/inbox"
    db.session.expire_all()
    assert item.decision == "revoke"
    assert not access.can(user("sales2"), Permission.SUBMISSION_APPROVE)
    assert 'data-testid="review-task"' not in salesmgr.get("/inbox").text

    # salesmgr sees only his own item on the campaign page; finadmin sees them all.
    mine = salesmgr.get(f"/access-reviews/{campaign_id}").text
    assert mine.count('data-testid="review-item"') == 1
    assert "evidence.xlsx" not in mine
    everything = finadmin.get(f"/access-reviews/{campaign_id}").text
    assert everything.count('data-testid="review-item"') == len(item.campaign.items)
    assert salesmgr.get(f"/access-reviews/{campaign_id}/evidence.xlsx").status_code == 403


def test_a_person_outside_the_campaign_does_not_learn_it_exists(app, signed_in, start):
    campaign = start()
    assert signed_in("sales1").get(f"/access-reviews/{campaign.id}").status_code == 404
    assert signed_in("admin").get(f"/access-reviews/{campaign.id}/evidence.pdf").status_code == 404


def test_a_bad_due_date_is_named_in_the_users_language(app, signed_in):
    finadmin = signed_in("finadmin")
    response = finadmin.post_form(
        "/access-reviews",
        {"title": "x", "scope": "department", "department": "NOPE", "due_date": "2001-01-01"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "due_date" in response.text and "department" in response.text


def test_the_evidence_reads_back_from_excel_and_pdf(app, signed_in, start, sales_reviewer, user):
    import openpyxl
    from pypdf import PdfReader

    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow
    from quire.runtime.reviews import service

    campaign = start(title='=HYPERLINK("http://evil")')
    item = next(i for i in campaign.items if i.grant_id == sales_reviewer.id)
    decision = service.parse_decision(
        {"decision": "revoke", "comment": "=1+1 no longer needed"}, service.local_day(utcnow())
    )
    service.decide(user("salesmgr"), item, decision, now=utcnow())
    db.session.commit()

    finadmin = signed_in("finadmin")
    xlsx = finadmin.get(f"/access-reviews/{campaign.id}/evidence.xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = rows[0]
    assert header[0] == "用户 User" and "复核结论 Decision" in header
    sales2 = next(r for r in rows if r[0] == "sales2")
    assert sales2[header.index("复核结论 Decision")] == "撤销"
    assert sales2[header.index("决定人 Decided by")] == "salesmgr"
    # Text that looks like a formula stays text: a string cell with Excel's quote prefix.
    at = next(i for i, r in enumerate(rows) if r[0] == "sales2") + 1
    comment = sheet.cell(row=at, column=header.index("意见 Comment") + 1)
    assert comment.value == "=1+1 no longer needed"
    assert comment.data_type == "s" and comment.quotePrefix
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)

    pdf = finadmin.get(f"/access-reviews/{campaign.id}/evidence.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "sales2" in text and "salesmgr" in text and "撤销" in text
