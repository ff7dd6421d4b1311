"""Files kept in the database (``QUIRE_FILE_STORE=database``), so every machine sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class StoredFile(Base):
    """One stored file: its key (``uploads/ab/ab….pdf``, ``exports/….xlsx``) and size; the
    bytes are in :class:`StoredFileChunk` rows so no read or write holds a whole file."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The path-like name the rest of Quire uses; unique.
    key: Mapped[str] = mapped_column(String(400), unique=True)
    #: Bytes in all chunks together.
    size: Mapped[int] = mapped_column(BigInteger)
    #: SHA-256 of the content, hex; lets a machine tell its local copy is current.
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<StoredFile {self.key} {self.size}B>"


class StoredFileChunk(Base):
    """Up to one megabyte of a stored file; ``seq`` orders them from 0 (bytea on PostgreSQL)."""

    __tablename__ = "stored_file_chunks"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("stored_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<StoredFileChunk {self.file_id}#{self.seq}>"
