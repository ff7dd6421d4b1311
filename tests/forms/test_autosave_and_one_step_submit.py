"""Issue 20's claimant: drafts saved while typing, and a new claim submitted in one step."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from quire.runtime.extensions import db
from quire.runtime.models import Submission, SubmissionStatus

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
NEW = "/forms/expense-claim/new"


def typed(**more: str) -> dict[str, str]:
    return {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines-0-date": YESTERDAY,
        "lines-0-category": "travel",
        "lines-0-description": "高铁",
        "lines-0-amount": "300",
        **more,
    }


def drafts_of(user) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(func.count()).select_from(Submission).where(Submission.submitter_id == user.id)
    )


def _oob(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" id="form-\w+" value="([^"]*)" hx-swap-oob', html)
    assert match, html
    return match.group(1)


def test_the_first_autosave_makes_a_draft_and_moves_the_address_to_it(signed_in, user):
    browser = signed_in("rd1")
    before = drafts_of(user("rd1"))
    saved = browser.post_form("/forms/expense-claim/autosave", typed(), page=NEW)
    assert saved.status_code == 200, saved.text
    submission_id = int(_oob(saved.text, "_submission"))
    assert saved.headers["HX-Replace-Url"] == f"/submissions/{submission_id}/edit"
    assert "quire-saved" in saved.headers["HX-Trigger"]
    draft = db.session.get(Submission, submission_id)
    assert draft.status == SubmissionStatus.DRAFT and draft.data["payee_name"] == "李明"
    assert drafts_of(user("rd1")) == before + 1
    # The next keystrokes change that draft (with the version the answer gave), never a new one.
    again = browser.post_form(
        "/forms/expense-claim/autosave",
        typed(
            payee_name="李明明",
            _submission=str(submission_id),
            _version=_oob(saved.text, "_version"),
        ),
        page=NEW,
    )
    assert again.status_code == 200, again.text
    assert "HX-Replace-Url" not in again.headers
    db.session.expire_all()
    assert db.session.get(Submission, submission_id).data["payee_name"] == "李明明"
    assert drafts_of(user("rd1")) == before + 1
    # Reloading the draft shows the edit.
    assert "李明明" in browser.get(f"/submissions/{submission_id}/edit").text


def test_half_typed_values_are_left_out_and_named_while_the_rest_is_saved(signed_in):
    browser = signed_in("rd1")
    saved = browser.post_form(
        "/forms/expense-claim/autosave",
        typed(bank_account="6222", **{"lines-0-amount": "12x"}),
        page=NEW,
    )
    assert saved.status_code == 200, saved.text
    assert "bank_account" in saved.text and "lines[0].amount" in saved.text
    draft = db.session.get(Submission, int(_oob(saved.text, "_submission")))
    assert draft.data["payee_name"] == "李明" and draft.data["lines"][0]["description"] == "高铁"
    assert not draft.data.get("bank_account")


def test_an_autosave_on_a_stale_version_is_refused_and_says_so(signed_in):
    browser = signed_in("rd1")
    saved = browser.post_form("/forms/expense-claim/autosave", typed(), page=NEW)
    submission_id = _oob(saved.text, "_submission")
    stale = browser.post_form(
        "/forms/expense-claim/autosave",
        typed(payee_name="王五", _submission=submission_id, _version="99"),
        page=NEW,
    )
    assert stale.status_code == 409
    assert "Reload" in stale.text or "刷新" in stale.text


def test_nobody_autosaves_into_someone_elses_draft(signed_in):
    saved = signed_in("rd1").post_form("/forms/expense-claim/autosave", typed(), page=NEW)
    submission_id = _oob(saved.text, "_submission")
    other = signed_in("sales1").post_form(
        "/forms/expense-claim/autosave",
        typed(payee_name="X", _submission=submission_id, _version="1"),
        page=NEW,
    )
    assert other.status_code == 404
    assert db.session.get(Submission, int(submission_id)).data["payee_name"] == "李明"


def test_a_new_claim_is_submitted_in_one_step(signed_in, user):
    browser = signed_in("sales1")
    before = drafts_of(user("sales1"))
    done = browser.post_form("/forms/expense-claim/submit", typed(), page=NEW)
    assert done.status_code == 303
    db.session.expire_all()
    newest = db.session.scalars(
        select(Submission)
        .where(Submission.submitter_id == user("sales1").id)
        .order_by(Submission.id.desc())
    ).first()
    assert drafts_of(user("sales1")) == before + 1
    assert newest.status in (SubmissionStatus.APPROVED, SubmissionStatus.IN_REVIEW)


def test_a_refused_one_step_submit_keeps_the_draft(signed_in, user):
    browser = signed_in("sales1")
    done = browser.post_form("/forms/expense-claim/submit", typed(payee_name=""), page=NEW)
    assert done.status_code == 303 and "/edit" in done.headers["Location"]
    newest = db.session.scalars(
        select(Submission)
        .where(Submission.submitter_id == user("sales1").id)
        .order_by(Submission.id.desc())
    ).first()
    assert newest.status == SubmissionStatus.DRAFT and newest.data["lines"][0]["amount"] == "300.00"


def test_claimants_are_not_shown_the_template_version(signed_in):
    page = signed_in("sales1").get(NEW).text
    assert "Template version" not in page and "模板版本" not in page
    assert 'id="autosave"' in page and "/forms/expense-claim/submit" in page
