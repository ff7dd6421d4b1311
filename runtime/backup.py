"""``quire backup`` / ``quire restore``: the database and the instance files, consistent.

A backup is one ``.tar.gz``: ``manifest.json`` (schema revision, row counts), one JSON
Lines file per table read inside a single snapshot transaction, and the instance files
(attachments, data-source files, the instance config with its keys). Rows are written
by column type, not by dialect, so a SQLite backup restores into PostgreSQL and back,
and every value (UTC times, decimals, JSON) comes back exactly: ``quire audit verify``
passes on the restored copy. Restoring needs an empty database; it migrates to the
backup's revision, loads the rows, then migrates to the code's newest revision.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import SAWarning

FORMAT = 1
#: Instance entries that are not data: the SQLite database itself (dumped as rows), the
#: job store, regenerated exports, per-process metrics and sockets, the file-store cache.
SKIPPED_FILES = ("quire.db", "jobs.sqlite3", "exports", "metrics", "gunicorn.ctl", "cache")
BATCH = 1000
#: A database with rows here is in use: restore never writes over it.
PEOPLE_AND_EVENTS = ("users", "audit_events")


class BackupError(RuntimeError):
    """A backup cannot be written or restored; the message says why in one sentence."""


@dataclass(frozen=True)
class Summary:
    revision: str | None
    tables: dict[str, int]
    files: int


# --- values by column type ---------------------------------------------------------------
def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict | list):
        return value
    raise BackupError(f"cannot back up a value of type {type(value).__name__}")


def _decoder(column: Any) -> Any:
    kind = column.type
    impl = getattr(kind, "impl", None)
    if isinstance(kind, JSON) or isinstance(impl, JSON):
        return lambda v: v
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        enum_class = kind.enum_class
        return lambda v: enum_class(v)
    if isinstance(kind, DateTime) or isinstance(impl, DateTime):
        return datetime.fromisoformat
    if isinstance(kind, Date):
        return date.fromisoformat
    if isinstance(kind, Time):
        return time.fromisoformat
    if isinstance(kind, Numeric) and kind.asdecimal:
        return Decimal
    if isinstance(kind, LargeBinary):
        return base64.b64decode
    return lambda v: v


def _row_decoder(table: Table) -> Any:
    decoders = {c.name: _decoder(c) for c in table.columns}

    def decode(raw: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if v is None else decoders[k](v)) for k, v in raw.items()}

    return decode


# --- backup ------------------------------------------------------------------------------
def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction over every table: the backup is one moment of the database."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # a WAL read transaction is a snapshot
        yield conn


def _add_bytes(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(payload))


def _instance_files(instance: Path) -> Iterator[Path]:
    for path in sorted(instance.rglob("*")):
        relative = path.relative_to(instance)
        top = relative.parts[0]
        if any(top == s or top.startswith(s + "-") for s in SKIPPED_FILES):
            continue
        if path.is_file() and not path.is_symlink():
            yield path


def write_backup(engine: Engine, metadata: MetaData, instance: Path, target: Path) -> Summary:
    """Write the backup to ``target`` (created with owner-only permissions)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
    os.close(handle)
    counts: dict[str, int] = {}
    files = 0
    try:
        with tarfile.open(partial, "w:gz") as archive:
            with _snapshot(engine) as conn:
                revision = _revision(conn)
                for table in _in_dependency_order(metadata):
                    if not inspect(conn).has_table(table.name):
                        continue
                    lines = []
                    order = list(table.primary_key.columns) or list(table.columns)[:1]
                    for row in conn.execute(select(table).order_by(*order)).mappings():
                        lines.append(json.dumps({k: _encode(v) for k, v in row.items()}))
                    counts[table.name] = len(lines)
                    payload = ("\n".join(lines) + ("\n" if lines else "")).encode()
                    _add_bytes(archive, f"tables/{table.name}.jsonl", payload)
            for path in _instance_files(instance):
                archive.add(path, f"files/{path.relative_to(instance).as_posix()}")
                files += 1
            manifest = {
                "format": FORMAT,
                "revision": revision,
                "dialect": engine.dialect.name,
                "tables": counts,
                "files": files,
            }
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return Summary(revision, counts, files)


# --- restore -----------------------------------------------------------------------------
def read_manifest(source: Path) -> dict[str, Any]:
    try:
        with tarfile.open(source, "r:gz") as archive:
            member = archive.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest = json.load(member)
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"{source} is not a Quire backup") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} was written by another backup format")
    return manifest


def _deferred_columns(table: Table, order: dict[str, int]) -> list[str]:
    """Nullable foreign keys to the same table or a later one: loaded as NULL first and
    set once every row exists, so cycles (a manager is a user) load in any order."""
    deferred = []
    for fk in table.foreign_keys:
        referred = fk.column.table.name
        if order.get(referred, -1) >= order[table.name] and fk.parent.nullable:
            deferred.append(fk.parent.name)
    return deferred


def _rows(archive: tarfile.TarFile, table: Table) -> Iterator[dict[str, Any]]:
    try:
        member = archive.extractfile(f"tables/{table.name}.jsonl")
    except KeyError:
        return
    if member is None:
        return
    decode = _row_decoder(table)
    known = set(table.columns.keys())
    for line in io.TextIOWrapper(member, encoding="utf-8"):
        if line.strip():
            yield decode({k: v for k, v in json.loads(line).items() if k in known})


def _in_dependency_order(metadata: MetaData) -> list[Table]:
    with warnings.catch_warnings():
        # departments ↔ users refer to each other; such keys are loaded in a second pass.
        warnings.simplefilter("ignore", SAWarning)
        return list(metadata.sorted_tables)


def _tables_at_backup_revision(conn: Connection, metadata: MetaData) -> list[Table]:
    """The tables as the database has them now (the backup's revision), typed by the code's
    models where a column still exists, so every value decodes to what the model expects."""
    reflected = MetaData()
    reflected.reflect(conn)
    tables = []
    for table in _in_dependency_order(reflected):
        if table.name == "alembic_version":
            continue
        code = metadata.tables.get(table.name)
        for column in table.columns:
            if code is not None and column.name in code.c:
                column.type = code.c[column.name].type
        tables.append(table)
    return tables


def load_rows(conn: Connection, metadata: MetaData, source: Path) -> dict[str, int]:
    """Insert every table's rows into an empty database (one transaction)."""
    tables = _tables_at_backup_revision(conn, metadata)
    order = {t.name: i for i, t in enumerate(tables)}
    for table in tables:
        if (
            table.name in PEOPLE_AND_EVENTS
            and conn.execute(select(func.count()).select_from(table)).scalar()
        ):
            raise BackupError(
                f"the database already holds data (table {table.name}); "
                "restore into a new, empty database"
            )
    for table in reversed(tables):
        conn.execute(table.delete())  # rows that migrations seed (e.g. the audit chain head)
    counts: dict[str, int] = {}
    later: list[tuple[Table, dict[str, Any], dict[str, Any]]] = []
    with tarfile.open(source, "r:gz") as archive:
        for table in tables:
            deferred = _deferred_columns(table, order)
            key = [c.name for c in table.primary_key.columns]
            batch: list[dict[str, Any]] = []
            counts[table.name] = 0
            for row in _rows(archive, table):
                held = {c: row[c] for c in deferred if row.get(c) is not None}
                if held:
                    later.append((table, {k: row[k] for k in key}, held))
                    row = {**row, **dict.fromkeys(held)}
                batch.append(row)
                if len(batch) >= BATCH:
                    conn.execute(table.insert(), batch)
                    batch = []
                counts[table.name] += 1
            if batch:
                conn.execute(table.insert(), batch)
    for table, key, values in later:
        where = [table.c[name] == value for name, value in key.items()]
        conn.execute(update(table).where(*where).values(**values))
    if conn.dialect.name == "postgresql":
        _advance_sequences(conn, tables)
    return counts


def _advance_sequences(conn: Connection, tables: list[Table]) -> None:
    """Rows came with their ids: move each id sequence past the largest one."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        ).scalar()
        if sequence:
            largest = conn.execute(select(func.max(pk[0]))).scalar() or 0
            conn.execute(text("SELECT setval(:s, :v, false)"), {"s": sequence, "v": largest + 1})


def restore_files(source: Path, instance: Path) -> int:
    """Unpack the instance files, refusing any member that would land outside it."""
    count = 0
    root = instance.resolve()
    with tarfile.open(source, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.name.startswith("files/") or not member.isfile():
                continue
            relative = member.name[len("files/") :]
            destination = (root / relative).resolve()
            if not destination.is_relative_to(root):
                raise BackupError(f"the backup names a file outside the instance: {relative}")
            destination.parent.mkdir(parents=True, exist_ok=True)
            stream: IO[bytes] | None = archive.extractfile(member)
            if stream is None:
                continue
            with open(destination, "wb") as out:
                while chunk := stream.read(1 << 20):
                    out.write(chunk)
            os.chmod(destination, 0o600)
            count += 1
    return count
