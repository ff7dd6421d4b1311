"""The request side shared by the web pages and the API: one way to answer a download and
to take an upload, so both record the same audit events and apply the same limits."""

from __future__ import annotations

import io
from typing import Literal

from flask import Response, send_file
from flask_babel import get_locale
from werkzeug.datastructures import FileStorage

from ..errors import BadRequest, Detail, Invalid, TooLarge
from ..extensions import db
from ..i18n import current_locale
from ..models import Submission, User
from . import print as print_copy
from . import workbook
from .print_xlsx import write_print_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def locale() -> str:
    return str(get_locale() or "zh_CN")


def _file(content: bytes, mimetype: str, name: str) -> Response:
    response = send_file(
        io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0
    )
    # Print copies carry finance data as one person may see it: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def print_copy_response(user: User, submission_id: int, fmt: Literal["pdf", "xlsx"]) -> Response:
    """The submission's print copy (404 unless the user may read it), audited."""
    copy = print_copy.build(user, submission_id, locale())
    if fmt == "pdf":
        content, mimetype = print_copy.render_pdf(copy), PDF
    else:
        out = io.BytesIO()
        write_print_xlsx(copy, out)
        content, mimetype = out.getvalue(), XLSX
    print_copy.record_download(user, copy, fmt)
    db.session.commit()
    return _file(content, mimetype, f"{copy.filename_stem}.{fmt}")


def blank_workbook_response(user: User, key: str) -> Response:
    blank = workbook.blank_workbook(user, key, current_locale("zh_CN"))
    out = io.BytesIO()
    workbook.write_blank_workbook(blank, out)
    workbook.record_blank_download(user, blank)
    db.session.commit()
    return _file(out.getvalue(), XLSX, blank.filename)


def read_upload(upload: FileStorage | None) -> tuple[bytes, str | None]:
    """The uploaded file's bytes, reading no more than the limit allows."""
    if upload is None or not upload.filename:
        raise BadRequest(
            'Send the filled workbook as the multipart field "file".',
            [Detail("file", "is required")],
        )
    limit = workbook.max_upload_bytes()
    content = upload.stream.read(limit + 1)
    return content, upload.filename


def import_upload(user: User, key: str, upload: FileStorage | None) -> Submission:
    """Create the draft, or raise with every problem by cell; a refused upload is audited."""
    content, filename = read_upload(upload)
    try:
        submission = workbook.import_workbook(user, key, content, filename)
    except (Invalid, TooLarge) as error:
        db.session.rollback()
        workbook.record_rejected_upload(user, key, filename, error)
        db.session.commit()
        raise
    db.session.commit()
    return submission
