"""Uploaded files (invoice scans): size and type limits, stored by content hash."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from .. import access, audit, files
from ..errors import Detail, Forbidden, Invalid, NotFound, TooLarge
from ..extensions import db
from ..models import Attachment, Submission, User

MAX_BYTES = 10 * 1024 * 1024
ALLOWED = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".ofd": "application/ofd",
    ".xml": "application/xml",
}
#: First bytes of the allowed kinds, so a renamed executable is refused.
MAGIC = {
    ".pdf": b"%PDF",
    ".png": b"\x89PNG",
    ".jpg": b"\xff\xd8",
    ".jpeg": b"\xff\xd8",
    ".ofd": b"PK",
}


#: Attachments live in the file store under this prefix, by content hash.
PREFIX = "uploads"


def store(user: User, upload: FileStorage, submission: Submission | None = None) -> Attachment:
    """Keep an upload for a form being filled in (``submission``, or a new one); refuse
    who may not change that form, and what is too large or not an invoice-like file."""
    if not access.may_upload_attachment(user, submission):
        raise Forbidden("Only someone filling in this form can attach files to it.")
    name = (upload.filename or "").strip()
    suffix = Path(name).suffix.lower()
    if not name or suffix not in ALLOWED:
        raise Invalid(
            "This file type is not accepted.",
            [Detail("file", "upload a PDF, PNG, JPG, OFD or XML invoice")],
        )
    content = upload.stream.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise TooLarge("The file is larger than 10 MB.", [Detail("file", "at most 10 MB")])
    if not content:
        raise Invalid("The file is empty.", [Detail("file", "is empty")])
    magic = MAGIC.get(suffix)
    if magic and not content.startswith(magic):
        raise Invalid(
            "The file's content does not match its name.",
            [Detail("file", f"is not really a {suffix} file")],
        )
    digest = hashlib.sha256(content).hexdigest()
    relative = f"{digest[:2]}/{digest}{suffix}"
    key = f"{PREFIX}/{relative}"
    if not files.exists(files.store(), key):
        scan_content(content, suffix)
        files.store().put(key, content)  # atomic: never a half-written file under its key
    attachment = Attachment(
        owner_id=user.id,
        filename=secure_filename(name) or f"invoice{suffix}",
        content_type=ALLOWED[suffix] or mimetypes.guess_type(name)[0] or "application/octet-stream",
        size=len(content),
        sha256=digest,
        storage_path=relative,
    )
    db.session.add(attachment)
    db.session.flush()
    audit.record(
        user,
        "attachment.upload",
        object_type="attachment",
        object_id=attachment.id,
        changes={"filename": attachment.filename, "sha256": digest, "size": len(content)},
    )
    return attachment


def scan_content(content: bytes, suffix: str) -> None:
    """:func:`scan` for bytes not yet stored: a private temporary file is what is scanned."""
    if not current_app.config.get("VIRUS_SCAN_COMMAND"):
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="quire-scan-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        scan(path)


def scan(path: Path) -> None:
    """Run the configured virus scanner (``QUIRE_VIRUS_SCAN_COMMAND``, e.g.
    ``clamdscan --no-summary {path}``) on an upload before it is kept.

    Exit 0 means clean. Anything else refuses the file: a finding, and equally a scanner
    that is missing or broken, since an unscanned file must not slip through.
    """
    import shlex
    import subprocess

    command = current_app.config.get("VIRUS_SCAN_COMMAND")
    if not command:
        return
    args = [part.replace("{path}", str(path)) for part in shlex.split(command)]
    if not any("{path}" in part for part in shlex.split(command)):
        args.append(str(path))
    try:
        result = subprocess.run(args, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Invalid(
            "The file could not be checked for viruses; please try again later.",
            [Detail("file", "virus scan unavailable")],
        ) from exc
    if result.returncode != 0:
        raise Invalid(
            "The file did not pass the virus scan.",
            [Detail("file", "refused by the virus scanner")],
        )


def open_content(attachment: Attachment) -> BinaryIO:
    """The attachment's bytes as a stream (the caller has checked access); 404 if gone."""
    try:
        return files.store().open(f"{PREFIX}/{attachment.storage_path}")
    except files.FileMissing as exc:
        raise NotFound("The file of this attachment is missing.") from exc
