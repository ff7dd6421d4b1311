"""The data generation: a number that changes whenever Quire's data changes.

Every transaction that writes a watched table (everything but sign-in bookkeeping, the
audit chain and notifications) adds one to the single ``data_generation`` row as its last
statement before commit. The row is shared by every worker and machine, so a reader that
finds the same number as before knows that nothing it could have read has changed; the
answer cache (`runtime.api.answers`) keys its entries by it.

How a write is seen: the engine's ``after_cursor_execute`` marks the connection when an
INSERT, UPDATE or DELETE that changed a row names a watched table (ORM flushes and Core
statements alike);
the session's ``before_commit`` flushes what is pending, then, if the connection is
marked, moves the counter. The counter is always the last row a transaction locks, after
its own rows and the audit head, so writers queue on it briefly and never deadlock.
A rollback clears the mark.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from flask import Flask, g
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from .extensions import db
from .models import DataGeneration

#: Tables whose writes leave the generation as it is: what a GET never answers from.
UNWATCHED = frozenset(
    {
        "data_generation",
        "user_sessions",
        "sign_in_failures",
        "audit_events",  # written with the change it records, which is watched
        "audit_head",
        "notifications",
        "export_jobs",
        "stored_files",  # a file's bytes; the rows that name a file are watched
        "stored_file_chunks",
        "alembic_version",
    }
)

_MARK = "quire.generation.wrote"
# The statement's verb and first table: SQLAlchemy's own SQL, never user text.
_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)


#: Stamps that are bookkeeping, by table: an UPDATE that sets only this column leaves the
#: generation as it is. A token's last use (once a minute per token; its creation and
#: revocation do move it: the token check in `auth.service.user_for_token` is kept by
#: generation) and a grant's last use (once a day per grant; a report showing it may lag by
#: at most ``ANSWER_CACHE_SECONDS``).
STAMPS = {"api_tokens": "last_used_at", "role_grants": "last_used_at"}
_SETS = re.compile(r'\s*UPDATE\s+"?\w+"?\s+SET\s+"?(\w+)"?\s*=', re.I)


def _only_a_stamp(table: str, statement: str) -> bool:
    """``UPDATE <table> SET <stamp>=… WHERE …`` and nothing else set (the bound value is
    spelt per dialect: ``?`` on SQLite, ``%(…)s::TIMESTAMP WITH TIME ZONE`` on PostgreSQL)."""
    stamp = STAMPS.get(table)
    match = _SETS.match(statement) if stamp else None
    if match is None or match.group(1).lower() != stamp:
        return False
    return "," not in statement.upper().partition(" WHERE ")[0]


def _mark_writes(conn, cursor, statement: str, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
    match = _WRITE.match(statement)
    if match is None or match.group(1).lower() in UNWATCHED:
        return
    if not executemany and cursor.rowcount == 0:
        return  # a guarded UPDATE or DELETE that found nothing to change changed nothing
    if _only_a_stamp(match.group(1).lower(), statement):
        return
    conn.info[_MARK] = True


def _forget(conn) -> None:  # type: ignore[no-untyped-def]
    conn.info.pop(_MARK, None)


def _move_on_commit(session: Session) -> None:
    if not session.in_transaction():
        return
    session.flush()  # the pending rows first, so the counter is the last lock taken
    conn = session.connection()
    if conn.info.pop(_MARK, False):
        conn.execute(
            update(DataGeneration).where(DataGeneration.id == 1).values(n=DataGeneration.n + 1)
        )


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if getattr(engine, "_quire_generation", False):
        return
    event.listen(engine, "after_cursor_execute", _mark_writes)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "commit", _forget)
    engine._quire_generation = True  # type: ignore[attr-defined]
    if not getattr(db.session, "_quire_generation", False):
        event.listen(db.session, "before_commit", _move_on_commit)
        db.session._quire_generation = True  # type: ignore[attr-defined]


def current() -> int | None:
    """The generation now, as this transaction sees it (None before the migration)."""
    # Core, not the ORM: this runs on every API request and the ORM's machinery costs more
    # than the query.
    return db.session.connection().execute(_CURRENT).scalar()


def of_request() -> int | None:
    """The generation as this request first saw it: the token check and the answer cache
    read it once between them. Only for reads made before the request writes anything."""
    if "quire_generation" not in g:
        g.quire_generation = current()
    return g.quire_generation  # type: ignore[no-any-return]


_table = DataGeneration.__table__
_CURRENT = select(_table.c.n).where(_table.c.id == 1)


#: Seconds the outside data read in this context may be kept (see `outside_read`).
_outside: ContextVar[list[float] | None] = ContextVar("quire_outside_reads", default=None)


def outside_read(ttl_s: float) -> None:
    """Note that data from outside Quire's database was read, fresh for ``ttl_s`` seconds
    (a data source's cache time; 0: read it again every time). The generation cannot see
    such data change, so an answer built from it is kept no longer than that."""
    seen = _outside.get()
    if seen is not None:
        seen.append(ttl_s)


def watching_outside_reads() -> tuple[list[float], object]:
    """Start collecting `outside_read` calls; give the token back to `stop_watching`."""
    seen: list[float] = []
    return seen, _outside.set(seen)


def stop_watching(token: object) -> None:
    _outside.reset(token)  # type: ignore[arg-type]
