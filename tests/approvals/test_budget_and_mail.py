"""The budget hint while filling a claim, and notifications in-app and by email."""

from __future__ import annotations

from decimal import Decimal

from .conftest import TODAY


def _remaining(code: str, account: str) -> Decimal:
    from quire.runtime.approvals import budget
    from quire.runtime.org import department_by_code

    check = budget.check(department_by_code(code), TODAY.year, {})
    return next(a.remaining_before for a in check.accounts if a.account == account)


def test_the_claim_form_shows_the_remaining_budget_per_account_as_lines_are_added(org, signed_in):
    browser = signed_in("sales1")
    hint = browser.get(
        "/budget/remaining",
        query_string={
            "department": "SALES",
            "year": TODAY.year,
            "lines-0-category": "travel",
            "lines-0-amount": "1200.00",
            "lines-1-category": "meals",
            "lines-1-amount": "300",
        },
    )
    assert hint.status_code == 200
    assert 'data-testid="budget-hint"' in hint.text
    assert 'data-account="travel"' in hint.text and 'data-account="meals"' in hint.text
    assert "budget-over" not in hint.text


def test_the_hint_warns_at_90_and_at_100_percent(org, signed_in):
    remaining = _remaining("RD", "training")
    browser = signed_in("rd1")

    def hint(amount: Decimal) -> str:
        return browser.get(
            "/budget/remaining",
            query_string={
                "department": "RD",
                "year": TODAY.year,
                "lines-0-category": "training",
                "lines-0-amount": str(amount),
            },
        ).text

    assert 'class="field-warning budget-over"' in hint(remaining + 1)
    from quire.runtime.approvals import budget
    from quire.runtime.org import department_by_code

    check = budget.check(department_by_code("RD"), TODAY.year, {})
    training = next(a for a in check.accounts if a.account == "training")
    ninety = training.budget * Decimal("0.9") - training.spent - training.committed
    if ninety > 0:
        assert "budget-warn" in hint(ninety + 1)


def test_each_line_says_what_is_left_of_its_account_by_name_and_warns_before_saving(org, signed_in):
    remaining = _remaining("RD", "training")
    browser = signed_in("rd1")
    hint = browser.post_form(
        "/budget/remaining?form=expense-claim",
        page="/forms/expense-claim/new",
        data={
            "department": "RD",
            "year": TODAY.year,
            "lines-0-category": "travel",
            "lines-0-amount": "100",
            "lines-1-category": "training",
            "lines-1-amount": str(remaining + 500),
            "lines-2-category": "",
            "lines-2-amount": "",
        },
    )
    assert hint.status_code == 200, hint.text
    text = hint.text
    first = text[text.index('id="line-note-lines-0"') :].split("</small>")[0]
    second = text[text.index('id="line-note-lines-1"') :].split("</small>")[0]
    assert 'data-level="ok"' in first
    assert 'data-level="over"' in second and 'data-account="training"' in second
    assert f"{remaining:,.2f}" in second and "500.00" in second
    # The third row has no line yet: its note is emptied.
    assert '<small id="line-note-lines-2" class="line-note" hx-swap-oob="true"></small>' in text
    # Accounts by the name people read, never the code.
    assert ">training<" not in text and "training:" not in text


def test_the_budget_panel_keeps_asking_after_its_first_answer(org, signed_in):
    """The panel's answer fills it; it never replaces the element that carries the triggers."""
    browser = signed_in("rd1")
    page = browser.get("/forms/expense-claim/new").text
    panel = page[page.index('id="budget-hint"') :].split(">")[0]
    assert 'hx-swap="innerHTML"' in panel and "input from:#quire-form" in panel
    assert "quire-lines-changed from:body" in panel
    new = "/forms/expense-claim/new"
    answer = browser.post_form(
        "/budget/remaining?form=expense-claim", {"department": "RD"}, page=new
    ).text
    assert ' id="budget-hint"' not in answer and 'data-testid="budget-hint"' in answer
    added = browser.post_form(
        "/forms/expense-claim/table/lines?op=add",
        {"lines-0-category": "travel", "lines-0-amount": "1"},
        page=new,
    )
    assert added.headers["HX-Trigger"] == "quire-lines-changed"
    assert 'id="line-note-lines-1"' in added.text


def test_the_budget_of_another_department_is_not_shown_to_staff(org, signed_in):
    assert signed_in("sales1").get("/budget/remaining?department=RD").status_code == 404


def test_the_claim_form_asks_for_the_budget_hint(org, signed_in):
    page = signed_in("sales1").get("/forms/expense-claim/new").text
    assert 'id="budget-hint"' in page and "/budget/remaining" in page


def test_a_new_task_notifies_in_app_and_by_an_eml_file_in_both_languages(claim, submit, app, user):
    from pathlib import Path

    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    c = submit(claim("sales1", 25000))
    note = db.session.scalar(
        select(Notification).where(Notification.submission_id == c.id, Notification.kind == "task")
    )
    assert note.user_id == user("salesmgr").id
    assert note.link.startswith(f"/submissions/{c.id}?task=") and note.link.endswith("#decide")
    assert note.emailed_at is not None

    mails = [p.read_text() for p in (Path(app.config["INSTANCE_PATH"]) / "mail").glob("*.eml")]
    mine = [m for m in mails if c.number in m and "salesmgr@example.com" in m]
    assert mine, "an .eml file for salesmgr"
    assert f"/submissions/{c.id}" in mine[0] and "Waiting for you" in mine[0]


def test_decisions_and_returns_are_told_to_the_submitter(claim, submit, act, user):
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    c = submit(claim("sales1", 25000))
    act("salesmgr", c, "return", comment="invoice missing")
    kinds = db.session.scalars(
        select(Notification.kind).where(
            Notification.submission_id == c.id, Notification.user_id == user("sales1").id
        )
    ).all()
    assert "return" in kinds


def test_mail_goes_through_smtp_when_configured(claim, submit, app, monkeypatch):
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout=None):  # type: ignore[no-untyped-def]
            sent.append(("connect", host, port))

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            return False

        def starttls(self, context=None):  # type: ignore[no-untyped-def]
            sent.append(("starttls",))

        def login(self, user, password):  # type: ignore[no-untyped-def]
            sent.append(("login", user, password))

        def send_message(self, message):  # type: ignore[no-untyped-def]
            sent.append(("send", message["To"]))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["SMTP_URL"] = "smtp://quire:secret@mail.example.com:2525"
    submit(claim("sales1", 25000))

    assert ("connect", "mail.example.com", 2525) in sent and ("login", "quire", "secret") in sent
    assert any(s[0] == "send" and "salesmgr@example.com" in s[1] for s in sent)


def test_a_mail_server_that_is_down_loses_no_mail(claim, submit, app, monkeypatch):
    import smtplib

    from sqlalchemy import func, select

    from quire.runtime.approvals import mail
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    app.config["SMTP_URL"] = "smtp://mail.example.com"
    submit(claim("sales1", 25000))
    pending = (
        select(func.count()).select_from(Notification).where(Notification.emailed_at.is_(None))
    )
    assert db.session.scalar(pending) >= 1

    app.config["SMTP_URL"] = None
    mail.send_pending()
    assert db.session.scalar(pending) == 0
