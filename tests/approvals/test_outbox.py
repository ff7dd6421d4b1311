"""One bad message never blocks the outbox, and headers are built so no text can break them;
one-line texts of a template (titles, labels, names) refuse control characters up front."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import select

from quire.designer.validate import validate_template
from quire.runtime.approvals import mail
from quire.runtime.extensions import db
from quire.runtime.models import Notification


def _note(user, subject: str) -> Notification:
    note = Notification(
        user_id=user.id,
        kind="task",
        subject_zh=subject,
        subject_en=subject,
        body_zh="正文",
        body_en="Body",
        link="/inbox",
    )
    db.session.add(note)
    return note


def test_a_message_that_cannot_be_sent_is_marked_failed_and_the_rest_go_out(app, user):
    folder = Path(app.config["INSTANCE_PATH"]) / "mail"
    broken_user = user("sales2")
    broken_user.email = "not an address\r\nBcc: everyone@example.com"
    first = _note(user("salesmgr"), "报销单\r\nBcc: attacker@example.com")
    second = _note(broken_user, "报销单 EC-1")
    third = _note(user("rdmgr"), "报销单 EC-2")
    db.session.commit()

    sent = mail.send_pending()
    db.session.expire_all()
    assert db.session.get(Notification, third.id).mail_error is None
    assert db.session.get(Notification, third.id).emailed_at is not None
    failed = db.session.get(Notification, second.id)
    assert failed.emailed_at is not None and failed.mail_error.startswith("not sent:")
    # a line break in a subject is folded into the line, never a new header
    mails = [p.read_bytes() for p in folder.glob("*.eml")]
    assert sent == 2 and len(mails) == 2
    for raw in mails:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert parsed["Bcc"] is None and parsed["Subject"]
    assert db.session.get(Notification, first.id).mail_error is None
    assert not db.session.scalars(
        select(Notification).where(Notification.emailed_at.is_(None))
    ).all()


def _form(title_en: str, label_en: str = "Amount", description: str | None = None) -> dict:
    doc = {
        "key": "one-line",
        "kind": "form",
        "title": {"zh": "表单", "en": title_en},
        "fields": [{"key": "amount", "type": "money", "label": {"zh": "金额", "en": label_en}}],
    }
    if description is not None:
        doc["description"] = {"zh": description, "en": description}
    return doc


@pytest.mark.parametrize(
    "bad", ["Claim\nBcc: x@example.com", "Claim\r", "Tab\there", "NUL\x00", "LS\u2028"]
)
def test_one_line_texts_refuse_control_characters_with_their_path(bad):
    issues = validate_template(_form(bad))
    assert [i.path for i in issues] == ["title.en"]
    assert "one line" in issues[0].message
    issues = validate_template(_form("Claim", label_en=bad))
    assert [i.path for i in issues] == ["fields[0].label.en"]


def test_a_description_may_have_line_breaks_but_no_other_control_characters():
    assert validate_template(_form("Claim", description="line one\nline two")) == []
    issues = validate_template(_form("Claim", description="bell\x07"))
    assert [i.path for i in issues] == ["description.zh", "description.en"]
