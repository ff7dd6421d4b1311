"""Where Quire keeps the files it writes for users: attachments, export files, data-source
uploads. One small interface, :class:`FileStore`, chosen by ``QUIRE_FILE_STORE``:

- ``instance`` (default): files under the instance folder, owner-only (0600), each written
  to a temporary file in the same folder and renamed, so a reader never sees half a file.
  Right for one machine, or several sharing the folder over a network file system.
- ``database``: files in the ``stored_files`` / ``stored_file_chunks`` tables (bytea on
  PostgreSQL), one-megabyte chunks so memory stays bounded; every web and job worker on
  every machine that uses the database sees the same files. A ``put`` joins the caller's
  transaction: the file appears with the rows that refer to it, or not at all.

Keys are relative, slash-separated paths (``uploads/ab/ab12….pdf``, ``exports/<token>.xlsx``,
``datasources/<source>/<file>``); access to them is decided by the callers through
``access.py``, never here.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

#: The stores a deployment may choose (``QUIRE_FILE_STORE``).
KINDS = ("instance", "database")
#: Key prefix of the `file` data sources' uploads (``datasources/<source>/<file>``).
DATASOURCES = "datasources"
CHUNK = 1024 * 1024
_KEY = re.compile(r"^[\w.\-]+(/[\w.\-]+)*$")


class FileMissing(LookupError):
    """No file is stored under the key (never written, deleted, or expired)."""


@dataclass(frozen=True)
class FileInfo:
    size: int
    modified: datetime


def check_key(key: str) -> str:
    """Refuse keys that could name something outside the store (``..``, absolute paths)."""
    if not _KEY.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"not a file-store key: {key!r}")
    return key


class FileStore(Protocol):
    """What every store does. Writes are atomic; ``open`` gives a binary stream to close."""

    kind: str

    def put(self, key: str, content: bytes | BinaryIO) -> int:
        """Store ``content`` under ``key`` (replacing any file there); returns its size."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the file; :class:`FileMissing` if there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        ...

    def stat(self, key: str) -> FileInfo | None:
        """Size and last change, or None when nothing is stored under ``key``."""
        ...

    def local_folder(self, prefix: str, names: list[str]) -> Path:
        """A folder on this machine holding the files ``prefix/<name>`` (current copies), for
        code that reads a folder itself (the `file` connector)."""
        ...


def exists(store: FileStore, key: str) -> bool:
    return store.stat(key) is not None


def size(store: FileStore, key: str) -> int | None:
    info = store.stat(key)
    return info.size if info else None


def read_bytes(store: FileStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def _chunks(content: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]
        return
    while block := content.read(CHUNK):
        yield block


class InstanceFileStore:
    """Files under the instance folder, owner-only, renamed into place when complete."""

    kind = "instance"

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, content: bytes | BinaryIO) -> int:
        target = self.path(key)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600 in the target's folder, so the rename is atomic.
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for block in _chunks(content):
                    out.write(block)
                    written += len(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise FileMissing(key) from exc

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def stat(self, key: str) -> FileInfo | None:
        path = self.path(key)
        if not path.is_file():
            return None
        result = path.stat()
        return FileInfo(result.st_size, datetime.fromtimestamp(result.st_mtime, UTC))

    def local_folder(self, prefix: str, names: list[str]) -> Path:
        return self.path(prefix)


class _ChunkReader(io.RawIOBase):
    """Reads a database-stored file one chunk (one short query) at a time, on its own
    connection, so a download streams after the request's session has gone."""

    def __init__(self, engine, file_id: int, count: int):  # type: ignore[no-untyped-def]
        self._engine, self._file_id, self._count = engine, file_id, count
        self._seq, self._buffer = 0, b""

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        from sqlalchemy import select

        from ..models import StoredFileChunk

        if self._seq >= self._count:
            return b""
        with self._engine.connect() as conn:
            data = conn.scalar(
                select(StoredFileChunk.data).where(
                    StoredFileChunk.file_id == self._file_id, StoredFileChunk.seq == self._seq
                )
            )
        self._seq += 1
        return bytes(data or b"")

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._buffer:
            if self._seq >= self._count:
                return 0
            self._buffer = self._next_chunk()
        size = min(len(buffer), len(self._buffer))
        buffer[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class DatabaseFileStore:
    """Files in the database, shared by every machine that uses it."""

    kind = "database"

    def __init__(self, cache: Path):
        #: Local copies for :meth:`local_folder`, refreshed when the stored file changes.
        self.cache = cache

    def put(self, key: str, content: bytes | BinaryIO) -> int:
        from sqlalchemy import delete, insert, select, update

        from ..extensions import db
        from ..models import StoredFile, StoredFileChunk, utcnow

        check_key(key)
        session = db.session
        file_id = session.scalar(select(StoredFile.id).where(StoredFile.key == key))
        if file_id is None:
            row = StoredFile(key=key, size=0, sha256="", updated_at=utcnow())
            session.add(row)
            session.flush()
            file_id = row.id
        else:
            session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
        digest, total = hashlib.sha256(), 0
        for seq, block in enumerate(_chunks(content)):
            session.execute(insert(StoredFileChunk).values(file_id=file_id, seq=seq, data=block))
            digest.update(block)
            total += len(block)
        session.execute(
            update(StoredFile)
            .where(StoredFile.id == file_id)
            .values(size=total, sha256=digest.hexdigest(), updated_at=utcnow())
        )
        return total

    def _row(self, key: str):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from ..extensions import db
        from ..models import StoredFile

        return db.session.execute(
            select(StoredFile.id, StoredFile.size, StoredFile.sha256, StoredFile.updated_at).where(
                StoredFile.key == check_key(key)
            )
        ).first()

    def open(self, key: str) -> BinaryIO:
        from ..extensions import db

        row = self._row(key)
        if row is None:
            raise FileMissing(key)
        count = -(-row.size // CHUNK) if row.size else 0
        return io.BufferedReader(_ChunkReader(db.engine, row.id, count), CHUNK)  # type: ignore[return-value]

    def delete(self, key: str) -> None:
        from sqlalchemy import delete

        from ..extensions import db
        from ..models import StoredFile, StoredFileChunk

        row = self._row(key)
        if row is not None:
            db.session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == row.id))
            db.session.execute(delete(StoredFile).where(StoredFile.id == row.id))

    def stat(self, key: str) -> FileInfo | None:
        row = self._row(key)
        return FileInfo(row.size, row.updated_at) if row is not None else None

    def local_folder(self, prefix: str, names: list[str]) -> Path:
        folder = self.cache / check_key(prefix)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        local = InstanceFileStore(self.cache)
        for name in names:
            key = f"{prefix}/{name}"
            row = self._row(key)
            stamp = folder / f".{name}.sha256"
            if row is None:
                local.delete(key)
                stamp.unlink(missing_ok=True)
                continue
            if stamp.is_file() and stamp.read_text() == row.sha256 and (folder / name).is_file():
                continue
            with self.open(key) as stream:
                local.put(key, stream)
            stamp.write_text(row.sha256)
        return folder


def make_store(config: dict) -> FileStore:  # type: ignore[type-arg]
    kind = str(config.get("FILE_STORE") or "instance")
    instance = Path(config["INSTANCE_PATH"])
    if kind == "database":
        return DatabaseFileStore(instance / "cache")
    return InstanceFileStore(instance)


def init_app(app: Flask) -> None:
    app.extensions["quire.files"] = make_store(app.config)


def store() -> FileStore:
    """The app's file store."""
    return current_app.extensions["quire.files"]
