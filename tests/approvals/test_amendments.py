"""Amending an approved submission (变更): a numbered draft revision, routed again, and only
the latest approved revision counts in reports and budgets."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from quire.runtime.models import SubmissionStatus as S

from .conftest import NOW, TODAY


def _amend(api_client, submission):  # type: ignore[no-untyped-def]
    return api_client.post(
        f"/api/v1/submissions/{submission.id}/actions",
        json={"action": "amend", "version": submission.version, "comment": "wrong amount"},
    )


def _lower_first_line(username: str, revision_id: int, amount: str, user):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.forms import service

    revision = service.load(user(username), revision_id).submission
    data = dict(revision.data)
    data["lines"] = [{**data["lines"][0], "amount": amount}, *data["lines"][1:]]
    service.update(user(username), revision.id, data, revision.version, today=TODAY)
    db.session.commit()
    return revision


def _ledger_total(user, department: str = "SALES") -> Decimal:  # type: ignore[no-untyped-def]
    from quire.runtime.reports import engine as reports

    ledger = reports.run(
        user("cfo"), "expense-ledger", {"year": str(TODAY.year), "department": department}
    )
    return sum((r["amount"] for r in ledger.rows if not r.get("_style")), Decimal(0))


def test_the_claimant_amends_an_approved_claim_into_a_draft_revision_numbered_r1(
    claim, submit, api, history
):
    original = submit(claim("sales1", 300, 200))
    assert original.status == S.APPROVED

    response = _amend(api("sales1"), original)

    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == f"{original.number}-R1"
    assert body["status"] == "draft" and body["form"] == "expense-claim"
    assert body["revision_of"] == {"id": original.id, "number": original.number}
    assert body["superseded_by"] is None
    assert [line["amount"] for line in body["data"]["lines"]] == ["300.00", "200.00"]
    assert body["data"]["bank_account"] == "6222 0210 0000 1234"
    assert ("amend", "sales1") in [(a, who) for _step, a, who in history(original)]
    read = api("sales1").get(f"/api/v1/submissions/{original.id}").json
    assert read["status"] == "approved" and read["superseded_by"] is None


def test_the_amendment_is_in_the_audit_log(claim, submit, api):
    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent

    original = submit(claim("sales1", 300))
    revision = _amend(api("sales1"), original).json

    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "submission.amend", AuditEvent.object_id == str(original.id)
        )
    )
    assert event is not None and event.changes["revision"] == revision["number"]


def test_a_second_amendment_while_one_is_open_names_the_open_revision(claim, submit, api):
    original = submit(claim("sales1", 300))
    first = _amend(api("sales1"), original).json

    again = _amend(api("sales1"), original)

    assert again.status_code == 409
    assert first["number"] in again.json["error"]["message"]


def test_only_an_approved_claim_can_be_amended(claim, submit, api):
    in_review = submit(claim("sales1", 25000))
    draft = claim("sales1", 100)

    for submission in (in_review, draft):
        response = _amend(api("sales1"), submission)
        assert response.status_code == 409, response.json
        assert "Only an approved submission can be amended" in response.json["error"]["message"]


def test_only_the_claimant_may_amend_and_others_see_nothing_of_it(claim, submit, api):
    original = submit(claim("sales1", 300))

    assert _amend(api("salesmgr"), original).status_code == 403
    assert _amend(api("cfo"), original).status_code == 403
    assert _amend(api("rd1"), original).status_code == 404


def test_a_lower_amended_amount_replaces_the_original_in_reports_and_budgets(
    claim, submit, api, user
):
    from quire.runtime.approvals import budget
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission
    from quire.runtime.org import department_by_code

    before_claim = _ledger_total(user)
    spent_before = budget.used(department_by_code("SALES"), TODAY.year)[0].get("travel", Decimal(0))
    original = submit(claim("sales1", 5000, 1000))
    assert _ledger_total(user) == before_claim + Decimal("6000.00")

    revision_id = _amend(api("sales1"), original).json["id"]
    # While the revision is a draft the original still counts.
    assert _ledger_total(user) == before_claim + Decimal("6000.00")
    revision = _lower_first_line("sales1", revision_id, "3000", user)
    submit(revision)

    assert revision.status == S.APPROVED  # under 10,000 and within budget: routed again
    db.session.refresh(original)
    assert original.status == S.APPROVED and original.superseded_by_id == revision.id
    assert _ledger_total(user) == before_claim + Decimal("4000.00")
    spent_after = budget.used(department_by_code("SALES"), TODAY.year)[0]["travel"]
    assert spent_after == spent_before + Decimal("4000.00")
    listed = db.session.get(Submission, original.id)
    assert listed is not None and listed.superseded_by.number == f"{original.number}-R1"


def test_the_replaced_claim_says_so_and_the_next_amendment_is_r2_of_the_revision(
    claim, submit, api, user, history
):
    original = submit(claim("sales1", 500))
    revision = _lower_first_line("sales1", _amend(api("sales1"), original).json["id"], "400", user)
    submit(revision)

    refused = _amend(api("sales1"), original)
    assert refused.status_code == 409 and revision.number in refused.json["error"]["message"]
    assert ("supersede", None) in [(a, who) for _step, a, who in history(original)]
    read = api("sales1").get(f"/api/v1/submissions/{original.id}").json
    assert read["superseded_by"] == {"id": revision.id, "number": revision.number}

    second = _amend(api("sales1"), revision)
    assert second.status_code == 201
    assert second.json["number"] == f"{original.number}-R2"
    assert second.json["revision_of"]["number"] == revision.number


def test_a_revision_is_routed_again_when_it_needs_approval(claim, submit, api, user, holders):
    original = submit(claim("sales1", 500))
    revision = _lower_first_line(
        "sales1", _amend(api("sales1"), original).json["id"], "25000", user
    )

    submit(revision)

    assert revision.status == S.IN_REVIEW and holders(revision) == ["salesmgr"]


def test_a_revision_quoting_its_originals_invoices_is_no_duplicate(claim, submit, api, user):
    from quire.runtime.approvals.facts import compute_facts
    from quire.runtime.approvals.state import template_of
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    original = submit(claim("sales1", 500))
    revision = db.session.get(Submission, _amend(api("sales1"), original).json["id"])

    facts = compute_facts(revision, template_of(revision))
    assert facts.checks["duplicates"] == []
    assert revision.data["lines"][0]["invoice"] == original.data["lines"][0]["invoice"]


def test_a_revision_is_checked_against_the_budget_without_its_original(claim, submit, api, user):
    from quire.runtime.approvals import budget
    from quire.runtime.approvals.state import template_of
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    original = submit(claim("sales1", 5000))
    revision = db.session.get(Submission, _amend(api("sales1"), original).json["id"])

    check = budget.check_submission(revision, template_of(revision))
    travel = next(a for a in check.accounts if a.account == "travel")
    spent, _committed = budget.used(revision.department, TODAY.year)
    assert travel.spent == spent["travel"] - Decimal("5000.00")


def test_the_action_at_a_past_moment_keeps_the_times_given(claim, submit, user):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db

    original = submit(claim("sales1", 300))
    revision = engine.act(user("sales1"), original.id, "amend", version=original.version, now=NOW)
    db.session.commit()
    assert revision.supersedes_id == original.id and revision.status == S.DRAFT


# --- the web pages and the print copy ------------------------------------------------------------


def test_the_claimant_amends_from_the_page_after_confirming_and_lands_on_the_draft(
    claim, submit, signed_in
):
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    original = submit(claim("sales1", 300))
    browser = signed_in("sales1")
    page = browser.get(f"/submissions/{original.id}").text
    assert 'data-testid="amend"' in page and 'data-testid="confirm-amend"' in page

    response = browser.post_form(
        f"/submissions/{original.id}/act",
        {"action": "amend", "version": original.version, "comment": "wrong amount"},
        page=f"/submissions/{original.id}",
    )

    assert response.status_code == 303
    revision = db.session.scalar(select(Submission).where(Submission.supersedes_id == original.id))
    assert response.headers["Location"].endswith(f"/submissions/{revision.id}/edit")
    draft = browser.get(f"/submissions/{revision.id}/edit").text
    assert 'data-testid="revision-of"' in draft and original.number in draft
    again = browser.get(f"/submissions/{original.id}").text
    assert 'data-testid="open-revision"' in again and revision.number in again
    assert 'data-testid="confirm-amend"' not in again, "one open revision at a time"


def test_nobody_but_the_claimant_sees_the_amend_button(claim, submit, signed_in):
    original = submit(claim("sales1", 300))

    for name in ("salesmgr", "cfo"):
        page = signed_in(name).get(f"/submissions/{original.id}").text
        assert 'data-testid="amend"' not in page


def test_both_pages_link_to_each_other_once_the_revision_is_approved(
    claim, submit, api, user, signed_in
):
    original = submit(claim("sales1", 500))
    revision = _lower_first_line("sales1", _amend(api("sales1"), original).json["id"], "400", user)
    submit(revision)
    browser = signed_in("sales1")

    old = browser.get(f"/submissions/{original.id}").text
    new = browser.get(f"/submissions/{revision.id}").text

    assert 'data-testid="amended-by"' in old and f"/submissions/{revision.id}" in old
    assert 'data-testid="amend"' not in old, "the replaced claim is amended through its revision"
    assert 'data-testid="revision-of"' in new and f"/submissions/{original.id}" in new
    assert 'data-testid="amend"' in new
    listing = browser.get("/submissions").text
    assert listing.count('data-testid="superseded"') == 1


def test_the_print_copy_shows_the_revision_number_and_what_it_amends(claim, submit, api, user):
    from quire.runtime.exports import print as print_copy

    original = submit(claim("sales1", 500))
    revision = _lower_first_line("sales1", _amend(api("sales1"), original).json["id"], "400", user)
    submit(revision)

    new = print_copy.build(user("sales1"), revision.id, "zh_CN")
    old = print_copy.build(user("sales1"), original.id, "zh_CN")
    assert new.number == f"{original.number}-R1" and new.revision_of == original.number
    assert old.superseded_by == revision.number
    assert any("变更为" in (h.comment or "") and revision.number in h.comment for h in old.history)

    pdf = api("sales1").get(f"/api/v1/submissions/{revision.id}.pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert revision.number in text and f"Revision of {original.number}" in text
    for sid, said in (
        (revision.id, "变更自 Revision of"),
        (original.id, "已被变更取代 Replaced by"),
    ):
        book = load_workbook(io.BytesIO(api("sales1").get(f"/api/v1/submissions/{sid}.xlsx").data))
        cells = [c.value for row in book.worksheets[0].iter_rows() for c in row]
        assert said in cells


def test_a_revision_is_made_on_the_forms_latest_version_and_follows_its_route(
    route, capex, submit, api, holders
):
    from .conftest import step

    manager = step("manager", {"kind": "manager_of_submitter"})
    route(manager, auto="total < 100000")  # v1: approved at once under 100,000
    original = submit(capex("sales1", 50000))
    assert original.status == S.APPROVED
    route(manager)  # v2: the manager decides every request

    body = _amend(api("sales1"), original).json

    assert body["template_version"] == original.template_version + 1
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    revision = submit(db.session.get(Submission, body["id"]))
    assert revision.status == S.IN_REVIEW and holders(revision) == ["salesmgr"]


def test_a_revision_keeps_the_invoice_file_and_its_approvers_may_open_it(org, signed_in, api, user):
    import re
    from datetime import date

    from quire.runtime.extensions import db
    from quire.runtime.models import Attachment

    sales1 = signed_in("sales1")
    answer = sales1.post_form(
        "/attachments?name=lines-0-invoice",
        {"file": (io.BytesIO(b"%PDF-1.4 an invoice"), "invoice.pdf")},
        page="/forms/expense-claim/new",
        content_type="multipart/form-data",
    )
    attachment_id = re.search(r'value="(\d+)"', answer.text).group(1)
    line = {
        "date": "2026-11-10",
        "category": "travel",
        "description": "taxi",
        "amount": "500",
        "invoice": attachment_id,
    }
    client = api("sales1")
    body = {"payee_name": "sales1", "bank_account": "6222 0210 0000 1234", "lines": [line]}
    created = client.post("/api/v1/forms/expense-claim/submissions", json={"data": body}).json
    client.post(f"/api/v1/submissions/{created['id']}/submit", json={})
    original = client.get(f"/api/v1/submissions/{created['id']}").json
    assert original["status"] == "approved"

    revision = client.post(
        f"/api/v1/submissions/{original['id']}/actions",
        json={"action": "amend", "version": original["version"]},
    ).json
    assert revision["data"]["lines"][0]["invoice"] == attachment_id
    changed = client.patch(
        f"/api/v1/submissions/{revision['id']}",
        json={"data": {**body, "lines": [{**line, "amount": "25000"}]}, "version": 1},
    )
    assert changed.status_code == 200, changed.json
    submitted = client.post(f"/api/v1/submissions/{revision['id']}/submit", json={})
    assert submitted.json["status"] == "in_review"
    assert db.session.get(Attachment, int(attachment_id)).submission_id == original["id"]

    # rd1 reads the revision only because salesmgr's task reaches them through a delegation.
    manager = user("salesmgr")
    manager.delegate, manager.delegate_from = user("rd1"), date(2000, 1, 1)
    db.session.commit()
    assert signed_in("rd1").get(f"/api/v1/submissions/{original['id']}").status_code == 404
    assert signed_in("rd1").get(f"/attachments/{attachment_id}").status_code == 200
    assert signed_in("hr1").get(f"/attachments/{attachment_id}").status_code == 404


def test_a_budget_is_adjusted_not_amended(org, api):
    from quire.runtime.approvals import budget
    from quire.runtime.org import department_by_code

    approved = budget.budget_submission(department_by_code("SALES"), TODAY.year)
    client = api(approved.submitter.username)

    response = _amend(client, approved)

    assert response.status_code == 409
    assert "budget adjustment" in response.json["error"]["message"]
