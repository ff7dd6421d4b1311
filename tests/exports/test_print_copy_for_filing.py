"""Issue 20's print copy, as finance files it: 大写金额 beside the figure, the signature boxes
filled from the history, the company's name, names instead of codes, a QR code of the number,
the status stamped in words, and no code or formula text anywhere."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from quire.runtime.exports import print as print_copy
from quire.runtime.extensions import db
from quire.runtime.models import Submission, TemplateVersion

from .conftest import pdf_text

COMPANY = "示例集团有限公司"
RAW = ("condition", "total >=", "within_budget", "in_review", "approved_amount", "lines[", "📎")


def _lines(*amounts: str) -> list[dict[str, str]]:
    day = date.today() - timedelta(days=2)
    return [
        {"date": day.isoformat(), "category": "travel", "description": f"出差 {i}", "amount": a}
        for i, a in enumerate(amounts, 1)
    ]


@pytest.fixture
def routed_claim(app, api):  # type: ignore[no-untyped-def]
    """A 25,380.05 claim on a project by sales1, approved by salesmgr and finrev (CFO skipped)."""
    from quire.runtime.demo import seed_projects

    app.config["COMPANY_NAME"] = COMPANY
    seed_projects()
    db.session.commit()
    sales1 = api("sales1")
    data = {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "project": "P-EAST-01",
        "lines": _lines("25000.00", "380.05"),
    }
    created = sales1.post("/api/v1/forms/expense-claim/submissions", json={"data": data}).json
    sid = created["id"]
    body = sales1.post(f"/api/v1/submissions/{sid}/submit", json={"version": 1}).json
    assert body["status"] == "in_review", body
    return sid, body["version"]


def _decide(api, sid, who, version, comment):  # type: ignore[no-untyped-def]
    body = (
        api(who)
        .post(
            f"/api/v1/submissions/{sid}/actions",
            json={"action": "approve", "comment": comment, "version": version},
        )
        .json
    )
    return body["version"]


def _pdf(api, sid, who="finrev", language="zh-CN") -> str:  # type: ignore[no-untyped-def]
    response = api(who).get(f"/api/v1/submissions/{sid}.pdf", headers={"Accept-Language": language})
    assert response.status_code == 200, response.data[:300]
    return pdf_text(response.data)


def test_an_approved_claim_prints_the_amount_in_words_and_the_signed_boxes(api, routed_claim, user):
    sid, version = routed_claim
    version = _decide(api, sid, "salesmgr", version, "出差费用合理")
    _decide(api, sid, "finrev", version, "可以付款")
    text = _pdf(api, sid)
    flat = text.replace("\n", " ")

    assert "贰万伍仟叁佰捌拾元零伍分" in text and "¥25,380.05" in text  # 大写 beside the figure
    assert "审批签字栏" in text
    boxes = flat[flat.index("审批签字栏") :]
    for step, name, remark in (
        ("部门经理审批", user("salesmgr").display_name, "出差费用合理"),
        ("财务审核", user("finrev").display_name, "可以付款"),
    ):
        assert step in boxes and name in boxes and remark in boxes
    assert boxes.count("同意") >= 2  # each box says the decision
    assert "财务总监审批" not in boxes  # the skipped CFO step signed nothing
    assert COMPANY in text and "Quire" not in text  # the company from the setting
    assert "华东渠道拓展" in text and "P-EAST-01" not in text  # the project by its name
    assert "差旅费" in text
    # the skipped step says why, in words built from the rule
    assert "报销总额低于 100,000，且在预算内" in flat
    for raw in RAW:
        assert raw not in text, raw
    assert "审批中" not in text and "未批准" not in text


def test_an_in_review_claim_is_stamped_in_review_and_a_draft_as_a_draft(
    api, routed_claim, new_claim
):
    sid, _version = routed_claim
    text = _pdf(api, sid)
    assert "审批中 In review · 未批准" in text and "草稿" not in text
    draft = new_claim()
    text = _pdf(api, draft, who="sales1")
    assert "草稿 Draft · 未批准" in text


def test_the_english_copy_reads_in_english_words_too(api, routed_claim):
    sid, version = routed_claim
    version = _decide(api, sid, "salesmgr", version, "fine")
    _decide(api, sid, "finrev", version, "pay")
    text = _pdf(api, sid, language="en")
    flat = text.replace("\n", " ")
    assert "total is under 100,000 and within budget" in flat
    assert "Skipped" in text and "Approved" in text and "in_review" not in text


def test_the_copy_carries_a_qr_code_of_the_claim_number(app, api, routed_claim, user):
    import segno  # noqa: F401 - a dependency; the copy prints without a code only when absent

    sid, _version = routed_claim
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        copy = print_copy.build(user("finrev"), sid, "zh_CN")
        html = print_copy.render_html(copy)
    assert copy.number_qr.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(copy.number_qr.split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and "<path" in svg
    assert f'alt="{copy.number}"' in html and 'id="number-qr"' in html


def test_lines_are_right_aligned_and_the_section_title_is_printed_once(app, routed_claim, user):
    sid, _version = routed_claim
    with app.test_request_context():
        copy = print_copy.build(user("finrev"), sid, "zh_CN")
        html = print_copy.render_html(copy)
    assert '<span class="money">25,000.00</span>' in html
    assert '<legend class="same-as-section">费用明细</legend>' in html  # hidden on paper


def test_attachments_print_with_a_drawn_clip_not_an_emoji(app, api, signed_in, user):
    """A file prints after the static paperclip image: the PDF's fonts have no emoji."""
    import io

    from quire.runtime.models import Attachment

    upload = signed_in("sales1").post_form(
        "/attachments?name=lines-0-invoice",
        {"file": (io.BytesIO(b"%PDF-1.4 invoice"), "invoice.pdf")},
        page="/forms/expense-claim/new",
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    attachment = db.session.scalar(select(sa.func.max(Attachment.id)))
    lines = _lines("100.00")
    lines[0]["invoice"] = str(attachment)
    data = {"payee_name": "李明", "bank_account": "6222 0200 1234 5678", "lines": lines}
    created = api("sales1").post("/api/v1/forms/expense-claim/submissions", json={"data": data})
    assert created.status_code == 201, created.json
    sid = created.json["id"]
    with app.test_request_context():
        copy = print_copy.build(user("sales1"), sid, "zh_CN")
        html = print_copy.render_html(copy)
        text = pdf_text(print_copy.render_pdf(copy))
    assert '<span class="file-name">invoice.pdf</span>' in html
    assert "📎" not in text and "invoice.pdf" in text


def test_header_placeholders_are_filled_in_the_sandbox(app, api, routed_claim):
    sid, _version = routed_claim
    submission = db.session.get(Submission, sid)
    version = db.session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == submission.template_id,
            TemplateVersion.version == submission.template_version,
        )
    )
    document = dict(version.document)
    document["print"] = {
        **document.get("print", {}),
        "header": "{{ company }} · {{ submission.number }} · {{ submission.status }} · "
        "{{ submission.department_name }}",
    }
    db.session.execute(
        sa.update(TemplateVersion).where(TemplateVersion.id == version.id).values(document=document)
    )
    db.session.commit()
    text = _pdf(api, sid)
    assert f"{COMPANY} · {submission.number} · 审批中 · 销售部" in text
    assert "{{" not in text
