"""Email copies of notifications: SMTP when configured, else ``.eml`` files in the instance folder.

Notifications are the outbox: a row whose ``emailed_at`` is empty still has to be mailed.
:func:`send_pending` (a job, run after each commit that created notifications and again
by the periodic sweep) hands them to the backend and stamps them, so a mail server that
is down delays mail but loses none, and nothing is sent before its change is committed. A
message that can never be sent (a header the mail library refuses, an address the server
refuses) leaves the outbox with its reason in ``mail_error``, so it never blocks the messages
behind it.
"""

from __future__ import annotations

import email.errors
import importlib
import logging
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Notification, utcnow

log = logging.getLogger("quire.mail")


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass
class FileBackend:
    """Writes each message as an ``.eml`` file (the default: demos, tests, air-gapped sites)."""

    folder: Path

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        ident = (message["Message-ID"] or "").strip("<>").split("@")[0][-12:]
        (self.folder / f"{stamp}-{ident}.eml").write_bytes(bytes(message))


@dataclass
class SmtpBackend:
    """``smtp://user:password@host:587`` (STARTTLS unless ``?starttls=0``) or ``smtps://host:465``."""

    url: str
    timeout: float = 20.0

    def send(self, message: EmailMessage) -> None:
        parts = urlsplit(self.url)
        options = parse_qs(parts.query)
        host = parts.hostname or "localhost"
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(host, parts.port or 587, timeout=self.timeout)
        with server:
            if parts.scheme != "smtps" and options.get("starttls", ["1"])[0] not in ("0", "false"):
                server.starttls(context=ssl.create_default_context())
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)


def backend() -> MailBackend:
    url = current_app.config.get("SMTP_URL")
    if url:
        return SmtpBackend(url)
    return FileBackend(Path(current_app.config["INSTANCE_PATH"]) / "mail")


def absolute(link: str | None) -> str:
    """``link`` on the address people reach Quire at: ``QUIRE_BASE_URL``, else the address
    ``quire serve`` listens on (it sets the setting for itself and its job consumer)."""
    base = (current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{base}{link}" if link and link.startswith("/") else (link or base)


def one_line(text: str | None) -> str:
    """Header text on one line: control characters (a line break in a template title) become
    spaces, so no text can end a header and start another."""
    return " ".join("".join(" " if _is_control(c) else c for c in (text or "")).split())


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Zl", "Zp"}


def compose(notification: Notification) -> EmailMessage | None:
    """The bilingual email copy (Chinese first, then English), or None without an address.

    Headers are built with the email library's structured API (`Address`, the default policy
    that refuses line breaks in a header), from one-line texts."""
    user = notification.user
    if not user.email:
        return None
    company = current_app.config.get("COMPANY_NAME", "Quire")
    message = EmailMessage()  # the default policy: it refuses CR and LF in header values
    message["Subject"] = one_line(f"{notification.subject_zh} / {notification.subject_en}")
    sender = parseaddr(current_app.config.get("MAIL_FROM") or "")[1] or "quire@localhost"
    message["From"] = Address(display_name=one_line(company), addr_spec=sender)
    message["To"] = Address(display_name=one_line(user.display_name), addr_spec=user.email)
    message["Message-ID"] = make_msgid(idstring=f"n{notification.id}", domain="quire.local")
    link = absolute(notification.link)
    message.set_content(
        "\n".join(
            [
                notification.subject_zh,
                "",
                notification.body_zh or "",
                f"查看：{link}",
                "",
                "——",
                "",
                notification.subject_en,
                "",
                notification.body_en or "",
                f"Open: {link}",
                "",
                f"{company} · Quire",
            ]
        )
    )
    attached = _attachment(notification)
    if attached is not None:
        filename, content, mimetype = attached
        maintype, _, subtype = mimetype.split(";")[0].strip().partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


#: Notification kind → "module:function" returning (file name, bytes, MIME type) or None:
#: the file a notification's email copy carries (a scheduled report's export).
ATTACHMENTS: dict[str, str] = {"report": "quire.runtime.reports.subscriptions:attachment_for"}


def _attachment(notification: Notification) -> tuple[str, bytes, str] | None:
    target = ATTACHMENTS.get(notification.kind)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(notification)


def send_pending(limit: int = 500) -> int:
    """Mail every notification not yet mailed; returns how many were sent."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.emailed_at.is_(None))
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    sender = backend()
    sent = 0
    for notification in rows:
        try:
            message = compose(notification)
        except Exception as exc:  # noqa: BLE001 - whatever this one message's data makes fail
            log.exception("mail %s could not be composed", notification.id)
            _give_up(notification, exc)
            continue
        try:
            if message is not None:
                sender.send(message)
                sent += 1
        except _MESSAGE_FAULTS as exc:
            _give_up(notification, exc)
            continue
        except (OSError, smtplib.SMTPException) as exc:
            notification.mail_error = str(exc)[:500]
            log.warning("mail to user %s failed: %s", notification.user_id, exc)
            db.session.commit()
            break  # the server is down or refusing: try again at the next sweep
        notification.emailed_at = utcnow()
        notification.mail_error = None
        db.session.commit()
    return sent


def _give_up(notification: Notification, exc: BaseException) -> None:
    """This message can never go out (a bad header, an address the server refuses): it leaves
    the outbox marked with its reason, and the others still go."""
    notification.emailed_at = utcnow()
    notification.mail_error = f"not sent: {exc}"[:500]
    log.warning("mail %s to user %s failed: %s", notification.id, notification.user_id, exc)
    db.session.commit()


#: Failures that belong to one message rather than to the mail server.
_MESSAGE_FAULTS = (
    ValueError,
    TypeError,
    UnicodeError,
    email.errors.MessageError,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)
