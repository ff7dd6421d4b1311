"""Files of "Uploaded file" (`file`) data sources: upload, replace, delete, list.

Files live in the file store under ``datasources/<key>/`` (the instance folder by
default), under a safe
name (letters of any script, digits, ``-``, ``_``, ``.``; ending ``.csv`` or ``.xlsx``). An
upload is refused when it is too large (``DATASOURCE_FILE_MAX_BYTES``), not really CSV
(UTF-8 text) or XLSX (a workbook), fails the virus scan the attachments use, or has a cell
that does not convert to its declared column type: the connector itself reads every row of
the staged file before it replaces the old one, so a source never serves a half-written or
unreadable file. The page and ``/api/v1/datasources/{key}/files`` call these functions; they
audit, the caller commits.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from quire.plugins.base import ConnectorError
from quire.plugins.builtin.file import FileConfig, FileConnector, FileTable

from .. import audit
from .. import files as files_store
from ..errors import Detail, Invalid, NotFound, TooLarge
from ..forms.attachments import scan
from ..models import DataSource, User
from . import service

CONNECTOR = "file"
SUFFIXES = (".csv", ".xlsx")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: Rows the staged file is read to the end of, at most (a 10 MB CSV has fewer).
CHECK_ROWS = 1_000_000
_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int | None
    modified: datetime | None
    #: Whether the declared file is in the folder.
    present: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "modified": self.modified.isoformat() if self.modified else None,
            "present": self.present,
        }


def key_of(source: DataSource, name: str) -> str:
    """The file's key in the file store."""
    return f"{files_store.DATASOURCES}/{source.key}/{name}"


def max_bytes() -> int:
    return int(current_app.config.get("DATASOURCE_FILE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def safe_name(raw: str) -> str:
    """The name a file is kept under: path parts dropped, unsafe characters as ``-``."""
    base = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        raise Invalid(
            "Only CSV and Excel (.xlsx) files can be uploaded.",
            [Detail("file", "upload a .csv or .xlsx file")],
        )
    stem = _UNSAFE.sub("-", stem).strip(".-")[:120]
    if not stem:
        raise Invalid("The file needs a name.", [Detail("file", "give the file a name")])
    return f"{stem}.{suffix.lower()}"


def _entries(source: DataSource) -> list[dict[str, Any]]:
    return [dict(f) for f in (source.config or {}).get("files") or []]


def _entry(source: DataSource, name: str) -> dict[str, Any] | None:
    return next((f for f in _entries(source) if f.get("name") == name), None)


def files(source: DataSource) -> list[StoredFile]:
    """The source's declared files, and whether each is in the file store."""
    store = files_store.store()
    found = []
    for entry in _entries(source):
        name = str(entry.get("name"))
        info = store.stat(key_of(source, name))
        if info is not None:
            found.append(StoredFile(name, info.size, info.modified, True))
        else:
            found.append(StoredFile(name, None, None, False))
    return found


def _require_file_source(source: DataSource) -> None:
    if source.connector != CONNECTOR:
        raise Invalid(
            "Only data sources of type Uploaded file take files.",
            [Detail("file", f"{source.key} reads from {source.connector}, not from files")],
        )


def _checked(staged: Path, name: str, entry: dict[str, Any] | None, delimiter: str) -> None:
    """Read every row of the staged file as the connector will; refuse it on any problem."""
    if name.endswith(".xlsx") and not staged.read_bytes()[:2] == b"PK":
        raise Invalid(
            "The file's content does not match its name.",
            [Detail("file", "is not really an Excel workbook (.xlsx)")],
        )
    if name.endswith(".csv"):
        try:
            staged.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid(
                "The CSV file is not UTF-8 text; save it as “CSV UTF-8” and upload it again.",
                [Detail("file", "is not UTF-8 text")],
            ) from exc
    table = FileTable.model_validate({**(entry or {}), "name": name})
    connector = FileConnector(FileConfig(folder=staged.parent, files=[table], delimiter=delimiter))
    try:
        if not connector.columns(name):
            raise Invalid("The file is empty.", [Detail("file", "has no header row")])
        for _row in connector.fetch(name, {}, CHECK_ROWS):
            pass
    except ConnectorError as exc:
        raise Invalid("The file cannot be read.", [Detail("file", exc.message)]) from exc


def upload(actor: User | None, source: DataSource, upload: FileStorage) -> StoredFile:
    """Keep an uploaded CSV/XLSX file in the source's folder, replacing one of the same name,
    and declare it in the source's settings (its column types kept on a replace)."""
    _require_file_source(source)
    service.check_may_manage(actor, source.key)
    name = safe_name(upload.filename or "")
    limit = max_bytes()
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        megabytes = limit // (1024 * 1024)
        raise TooLarge(
            f"The file is larger than {megabytes} MB.", [Detail("file", f"at most {megabytes} MB")]
        )
    if not content:
        raise Invalid("The file is empty.", [Detail("file", "is empty")])
    entry = _entry(source, name)
    # Checked in a private staging folder first; the store then takes it whole (atomically),
    # so a source never serves a half-written or unreadable file.
    with tempfile.TemporaryDirectory(prefix="quire-upload-") as staging:
        staged = Path(staging) / name
        staged.write_bytes(content)
        scan(staged)
        _checked(staged, name, entry, str((source.config or {}).get("delimiter") or ","))
    store = files_store.store()
    replaced = files_store.exists(store, key_of(source, name))
    store.put(key_of(source, name), content)
    if entry is None:
        source.config = {**(source.config or {}), "files": [*_entries(source), {"name": name}]}
    source.updated_by_id = actor.id if actor else None
    audit.record(
        actor,
        "datasource.file.replace" if replaced else "datasource.file.upload",
        object_type="data_source",
        object_id=source.key,
        changes={
            "file": name,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    service.result_cache().clear_source(source.key)
    return next(f for f in files(source) if f.name == name)


def delete_file(
    actor: User | None, source: DataSource, name: str, *, confirmed: bool = False
) -> None:
    """Remove a file and its declaration; a source published templates use asks first."""
    _require_file_source(source)
    service.check_may_manage(actor, source.key)
    if _entry(source, name) is None:
        raise NotFound(f"Data source {source.key} has no file {name!r}.")
    used = [u for u in service.usages(source.key) if u.published]
    if used and not confirmed:
        raise service.ConfirmationNeeded(used)
    source.config = {
        **(source.config or {}),
        "files": [f for f in _entries(source) if f.get("name") != name],
    }
    source.updated_by_id = actor.id if actor else None
    files_store.store().delete(key_of(source, name))
    audit.record(
        actor,
        "datasource.file.delete",
        object_type="data_source",
        object_id=source.key,
        changes={
            "file": name,
            **({"confirmed_for": [u.template_key for u in used]} if used else {}),
        },
    )
    service.result_cache().clear_source(source.key)
