"""Issue 10's print copies: the claim as laid out, with lines, total and history, as PDF and
Excel; DRAFT until approved; masked for those who see it masked; nothing fetched."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from quire.runtime.errors import Invalid
from quire.runtime.exports import print as print_copy
from quire.runtime.extensions import db
from quire.runtime.models import ApprovalEvent, AuditEvent, Submission, SubmissionStatus, utcnow
from quire.runtime.render.pdf_form import StaticOnlyFetcher

from .conftest import claim_data, pdf_text

ACCOUNT = "6222 0200 1234 5678"


def _review(sid, user):  # type: ignore[no-untyped-def]
    """sales1 submits; the manager approves with a comment; the claim waits for finance."""
    submission = db.session.get(Submission, sid)
    submission.status = SubmissionStatus.IN_REVIEW
    submission.current_step = "finance"
    start = utcnow() - timedelta(hours=5)
    db.session.add_all(
        [
            ApprovalEvent(
                submission_id=sid,
                step_key="draft",
                round=1,
                actor=user("sales1"),
                action="submit",
                at=start,
            ),
            ApprovalEvent(
                submission_id=sid,
                step_key="manager",
                round=1,
                actor=user("salesmgr"),
                action="approve",
                comment="同意，出差费用合理",
                at=start + timedelta(hours=2),
            ),
        ]
    )
    db.session.commit()


def _approve(sid, user):  # type: ignore[no-untyped-def]
    submission = db.session.get(Submission, sid)
    submission.status = SubmissionStatus.APPROVED
    submission.current_step = None
    db.session.add(
        ApprovalEvent(
            submission_id=sid,
            step_key="finance",
            round=1,
            actor=user("finrev"),
            action="approve",
            comment="OK to pay",
            at=utcnow(),
        )
    )
    db.session.commit()


def test_the_pdf_copy_shows_the_claim_its_lines_total_and_history_with_draft_until_approved(
    api, new_claim, user
):
    sid = new_claim()
    _review(sid, user)
    response = api("finrev").get(f"/api/v1/submissions/{sid}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "费用报销单" in text  # CJK is real, extractable text
    for line in ("上海出差 高铁", "客户午餐", "打印纸", "1,250.50", "99.50"):
        assert line in text
    assert "1,730.00" in text  # the total
    assert "FP-2026-0001" in text  # the invoice, in the line and in the attachments list
    assert "部门经理审批" in text and "同意，出差费用合理" in text  # history: step, comment
    assert user("salesmgr").display_name in text
    assert "审批中 In review · 未批准" in text and "草稿" not in text  # stamped as in review

    _approve(sid, user)
    text = pdf_text(api("finrev").get(f"/api/v1/submissions/{sid}.pdf").data)
    assert "未批准" not in text and "审批中" not in text and "草稿" not in text
    assert "OK to pay" in text and "财务审核" in text


def test_the_manager_sees_the_bank_account_masked_finance_in_full(api, new_claim, user):
    sid = new_claim()
    _review(sid, user)
    manager = pdf_text(api("salesmgr").get(f"/api/v1/submissions/{sid}.pdf").data)
    finance = pdf_text(api("finrev").get(f"/api/v1/submissions/{sid}.pdf").data)
    assert ACCOUNT in finance
    assert ACCOUNT not in manager and "6222 **** **** 5678" in manager


def test_a_copy_outside_your_scope_is_404(api, new_claim, user):
    sid = new_claim()
    assert api("salesmgr").get(f"/api/v1/submissions/{sid}.pdf").status_code == 404  # a draft
    _review(sid, user)
    for who in ("rd1", "admin"):
        for ext in ("pdf", "xlsx"):
            response = api(who).get(f"/api/v1/submissions/{sid}.{ext}")
            assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_the_excel_copy_has_real_numbers_dates_money_format_lines_and_history(api, new_claim, user):
    sid = new_claim()
    _review(sid, user)
    response = api("salesmgr").get(f"/api/v1/submissions/{sid}.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["表单", "费用明细", "审批记录"]  # named in the reader's language
    form = {row[0].value: row[1] for row in book["表单"].iter_rows() if row[0].value}
    assert form["报销总额"].value == 1730 and form["报销总额"].number_format == "#,##0.00"
    assert form["收款账号"].value == "6222 **** **** 5678"  # masked for the manager
    assert "Draft" not in form["状态 Status"].value and "审批中" in form["状态 Status"].value

    assert form["金额合计（大写） Amount in words"].value == "壹仟柒佰叁拾元整"
    lines = book["费用明细"]
    rows = list(lines.iter_rows(min_row=4, values_only=True))
    assert rows[0][0].date().isoformat() == claim_date(0)
    assert [r[3] for r in rows[:3]] == [1250.5, 380, 99.5]
    assert lines["D4"].number_format == "#,##0.00" and lines["A4"].number_format == "yyyy-mm-dd"
    assert rows[0][1] == "差旅费"
    assert rows[3][0] == "合计 Total" and rows[3][3] == 1730

    history = list(book["审批记录"].iter_rows(min_row=2, values_only=True))
    assert [h[4] for h in history] == ["提交", "同意"]
    assert history[1][5] == "同意，出差费用合理" and history[1][0].year == utcnow().year


def claim_date(index: int) -> str:
    return claim_data()["lines"][index]["date"]


def test_formula_like_text_is_neutralised_in_the_excel_copy(api, new_claim):
    lines = [
        {
            "date": claim_date(0),
            "category": "other",
            "description": '=HYPERLINK("http://evil")',
            "amount": "10",
        },
        {"date": claim_date(1), "category": "other", "description": "@SUM(A1)", "amount": "5"},
    ]
    sid = new_claim(lines=lines, payee_name="+86 138 0000 0000")
    book = openpyxl.load_workbook(
        io.BytesIO(api("sales1").get(f"/api/v1/submissions/{sid}.xlsx").data)
    )
    cells = [book["费用明细"]["C4"], book["费用明细"]["C5"]]
    assert [c.value for c in cells] == ['=HYPERLINK("http://evil")', "@SUM(A1)"]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    payee = next(r[1] for r in book["表单"].iter_rows() if r[0].value == "收款人")
    assert payee.data_type == "s" and payee.quotePrefix


def test_hostile_values_are_escaped_and_fetch_nothing(app, new_claim, user):
    lines = [
        {
            "date": claim_date(0),
            "category": "other",
            "amount": "1",
            "description": '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://169.254.169.254/">',
        }
    ]
    sid = new_claim(
        lines=lines,
        payee_name="http://169.254.169.254/latest/meta-data/",
        project="file:///etc/passwd",
    )
    with app.test_request_context():
        copy = print_copy.build(user("sales1"), sid, "zh_CN")
        html = print_copy.render_html(copy)
        fetcher = StaticOnlyFetcher(print_copy.static_root())
        text = pdf_text(print_copy.render_pdf(copy, fetcher=fetcher))
    assert '<img src="file' not in html and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert fetcher.refused == []
    # the stylesheet, its paperclip image and the QR code (a data: URI the copy makes itself)
    assert all(
        url.endswith(("/static/css/print.css", "/static/img/paperclip.svg"))
        or url.startswith("data:image/svg+xml;base64,")
        for url in fetcher.requested
    )
    assert "root:" not in text and "169.254.169.254" in text  # shown as text, never fetched


def test_print_headers_written_by_a_designer_run_in_a_sandbox():
    context = {"submission": {"number": "EC-2026-00001"}}
    header = print_copy.print_text("报销单 {{ submission.number }}", context, "print.header")
    assert header == "报销单 EC-2026-00001"
    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(Invalid) as info:
        print_copy.print_text(hostile, context, "print.header")
    assert [d.path for d in info.value.details] == ["print.header"]
    assert "unsafe" in info.value.details[0].message


HEAVY_HEADERS = [
    '{{ "x" * 10**9 }}',
    "{{ 9**9**9 }}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{% for a in 'x'*2000 %}{% for b in 'y'*2000 %}{% for c in 'z'*2000 %}{% endfor %}"
    "{% endfor %}{% endfor %}",
    "{% for a in range(5000) %}{{ submission.number }}{% endfor %}",
    "{{ '{:>999999999}'.format(1) }}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
]


@pytest.mark.parametrize("header", HEAVY_HEADERS)
def test_a_header_that_cannot_render_within_the_limits_is_refused_at_validation(header):
    from quire.designer.validate import validate_template
    from quire.report_templates import builtin_templates

    doc = builtin_templates()["expense-claim"]
    doc["print"] = {**doc.get("print", {}), "header": header}
    started = time.perf_counter()
    issues = validate_template(doc)
    assert [i.path for i in issues] == ["print.header"]
    assert issues[0].message.startswith("cannot be printed")
    assert time.perf_counter() - started < 20  # bounded, never hung (not a speed target)


def test_a_published_header_that_cannot_render_is_a_clear_error_at_view_time(api, new_claim):
    """A version published before the limits existed: 422 naming the header, not a 500."""
    from quire.runtime.models import TemplateVersion

    sid = new_claim()
    submission = db.session.get(Submission, sid)
    version = db.session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == submission.template_id,
            TemplateVersion.version == submission.template_version,
        )
    )
    document = dict(version.document)
    document["print"] = {**document.get("print", {}), "header": HEAVY_HEADERS[2]}
    db.session.execute(
        sa.update(TemplateVersion).where(TemplateVersion.id == version.id).values(document=document)
    )
    db.session.commit()
    started = time.perf_counter()
    response = api("sales1").get(f"/api/v1/submissions/{sid}.pdf")
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["path"] == "print.header"
    assert time.perf_counter() - started < 30  # bounded, never hung (not a speed target)


def test_downloads_are_audited(api, new_claim):
    sid = new_claim()
    client = api("sales1")
    client.get(f"/api/v1/submissions/{sid}.pdf")
    client.get(f"/api/v1/submissions/{sid}.xlsx")
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "submission.print", AuditEvent.object_id == str(sid)
        )
    ).all()
    assert sorted(e.changes["format"] for e in events) == ["pdf", "xlsx"]
    assert {e.actor_name for e in events} == {"sales1"}


def test_the_submission_page_links_to_its_print_copies(signed_in, new_claim):
    sid = new_claim()
    browser = signed_in("sales1")
    page = browser.get(f"/submissions/{sid}")
    assert (
        f"/submissions/{sid}/print.pdf" in page.text
        and f"/submissions/{sid}/print.xlsx" in page.text
    )
    pdf = browser.get(f"/submissions/{sid}/print.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "费用报销单" in pdf_text(pdf.data)
    assert browser.get(f"/submissions/{sid}/print.xlsx").status_code == 200
    assert signed_in("sales2").get(f"/submissions/{sid}/print.pdf").status_code == 404


def test_through_the_real_route_the_copy_loses_draft_only_when_finance_approves(api, new_claim):
    lines = [
        {
            "date": claim_date(0),
            "category": "travel",
            "description": "北京—深圳 往返",
            "amount": "12000.00",
        }
    ]
    sid = new_claim(lines=lines)
    sales1, manager, finance = api("sales1"), api("salesmgr"), api("finrev")
    body = sales1.post(f"/api/v1/submissions/{sid}/submit", json={"version": 1}).json
    assert body["status"] == "in_review", body
    body = manager.post(
        f"/api/v1/submissions/{sid}/actions",
        json={"action": "approve", "comment": "同意", "version": body["version"]},
    ).json
    assert "审批中" in pdf_text(finance.get(f"/api/v1/submissions/{sid}.pdf").data)
    body = finance.post(
        f"/api/v1/submissions/{sid}/actions",
        json={"action": "approve", "comment": "可以付款", "version": body["version"]},
    ).json
    assert body["status"] == "approved", body
    text = pdf_text(finance.get(f"/api/v1/submissions/{sid}.pdf").data)
    assert "未批准" not in text and "可以付款" in text and "12,000.00" in text


def test_the_openapi_description_lists_the_print_and_workbook_endpoints(api):
    paths = api("sales1").get("/api/v1/openapi.json").json["paths"]
    assert {
        "/api/v1/submissions/{submission_id}.pdf",
        "/api/v1/submissions/{submission_id}.xlsx",
        "/api/v1/forms/{key}/workbook",
    } <= set(paths)
    assert set(paths["/api/v1/forms/{key}/workbook"]) == {"get", "post"}
    pdf = paths["/api/v1/submissions/{submission_id}.pdf"]["get"]["responses"]["200"]
    assert pdf["content"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
