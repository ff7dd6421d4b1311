"""Email copies of notifications: SMTP when configured, else ``.eml`` files in the instance folder.

Notifications are the outbox: a row whose ``emailed_at`` is empty still has to be mailed.
:func:`send_pending` (a job, run after each commit that created notifications and again
by the periodic sweep) hands them to the backend and stamps them, so a mail server that
is down delays mail but loses none, and nothing is sent before its change is committed.
"""

from __future__ import annotations

import importlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
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


def compose(notification: Notification) -> EmailMessage | None:
    """The bilingual email copy (Chinese first, then English), or None without an address."""
    user = notification.user
    if not user.email:
        return None
    company = current_app.config.get("COMPANY_NAME", "Quire")
    message = EmailMessage()
    message["Subject"] = f"{notification.subject_zh} / {notification.subject_en}"
    message["From"] = formataddr(
        (company, current_app.config.get("MAIL_FROM") or "quire@localhost")
    )
    message["To"] = formataddr((user.display_name, user.email))
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
        message = compose(notification)
        try:
            if message is not None:
                sender.send(message)
                sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            notification.mail_error = str(exc)[:500]
            log.warning("mail to user %s failed: %s", notification.user_id, exc)
            db.session.commit()
            break  # the server is down or refusing: try again at the next sweep
        notification.emailed_at = utcnow()
        notification.mail_error = None
        db.session.commit()
    return sent
