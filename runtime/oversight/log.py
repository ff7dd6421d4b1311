"""The operation log as rows: one event per row, its action and changes in words, masked as
the reader sees them. Shared by the log page and its Excel and CSV exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .. import audit
from ..audit_query import audit_query
from ..audit_view import shown_changes
from ..audit_words import ChangeLine, Vocabulary, action_words, describe, lines_text, object_words
from ..extensions import db
from ..models import AuditEvent, User
from ..render.document import Column, ReportDocument

#: Events read per round trip while an export streams.
BATCH = 500
#: The most events one export holds; narrow the filters for more.
MAX_EXPORT_ROWS = 100_000

COLUMNS = (
    Column("seq", {"zh": "序号", "en": "No."}, "integer", width=8),
    Column("at", {"zh": "时间", "en": "Time"}, "text", width=17),
    Column("actor", {"zh": "操作人", "en": "User"}, "text", width=12),
    Column("action", {"zh": "操作", "en": "Action"}, "text", width=18),
    Column("action_code", {"zh": "操作代码", "en": "Action code"}, "text", width=18),
    Column("object", {"zh": "对象", "en": "Object"}, "text", width=18),
    Column("changes", {"zh": "变更内容", "en": "What changed"}, "text", width=60),
    Column("ip", {"zh": "地址", "en": "Address"}, "text", width=14),
)


@dataclass(frozen=True)
class EventView:
    """An event as the reader reads it."""

    event: AuditEvent
    action: str
    object: str
    lines: list[ChangeLine]


def views_of(reader: User, events: list[AuditEvent], words: Vocabulary) -> list[EventView]:
    """Events with their action and changes in words, masked for ``reader``."""
    shown = shown_changes(reader, events)
    return [
        EventView(
            event=e,
            action=action_words(e.action, words.locale),
            object=" ".join(
                p for p in (object_words(e.object_type, words.locale), e.object_id or "") if p
            ),
            lines=describe(e, shown[e.id], words),
        )
        for e in events
    ]


def _rows(reader: User, args: Mapping[str, Any], words: Vocabulary) -> Iterator[dict[str, Any]]:
    stmt = audit_query(args, reader)
    last: int | None = None
    sent = 0
    while sent < MAX_EXPORT_ROWS:
        page = stmt if last is None else stmt.where(AuditEvent.seq < last)
        events = list(db.session.scalars(page.limit(min(BATCH, MAX_EXPORT_ROWS - sent))))
        if not events:
            return
        for view in views_of(reader, events, words):
            e = view.event
            yield {
                "seq": e.seq,
                "at": words.when(e.at.isoformat()),
                "actor": e.actor_name,
                "action": view.action,
                "action_code": e.action,
                "object": view.object,
                "changes": lines_text(view.lines),
                "ip": e.ip or "",
            }
        sent += len(events)
        last = events[-1].seq


def log_document(
    reader: User,
    args: Mapping[str, Any],
    words: Vocabulary,
    *,
    company: str,
    now: dt.datetime,
    filters: tuple[tuple[str, str], ...],
) -> ReportDocument:
    """The filtered log as a document the Excel and CSV renderers take; rows stream."""
    return ReportDocument(
        title={"zh": "操作日志", "en": "Audit log"},
        company=company,
        columns=COLUMNS,
        rows=_rows(reader, args, words),
        generated_at=now,
        generated_by=reader.display_name or reader.username,
        template_key="audit-log",
        template_version=1,
        locale="en" if words.locale.startswith("en") else "zh_CN",
        orientation="landscape",
        parameters=filters,
        sheet_name="操作日志 Audit log",
    )


def record_export(reader: User, fmt: str, filters: Mapping[str, str]) -> None:
    """Exporting the log is itself in the log."""
    audit.record(
        reader,
        "audit.export",
        object_type="audit",
        changes={"format": fmt, "filters": dict(filters)},
    )
