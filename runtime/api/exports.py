"""Print-copy and workbook endpoints of /api/v1."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required

from ..exports import downloads
from ..forms import service
from ..openapi import ENDPOINTS, Endpoint
from . import bp
from .submissions import submission_json


@bp.get("/submissions/<int:submission_id>.pdf")
@login_required
def submission_pdf(submission_id: int):  # type: ignore[no-untyped-def]
    """The print copy as PDF: the form as laid out, lines, totals, attachments, history."""
    return downloads.print_copy_response(current_user, submission_id, "pdf")


@bp.get("/submissions/<int:submission_id>.xlsx")
@login_required
def submission_xlsx(submission_id: int):  # type: ignore[no-untyped-def]
    """The print copy as an Excel workbook with real numbers and dates."""
    return downloads.print_copy_response(current_user, submission_id, "xlsx")


@bp.get("/forms/<key>/workbook")
@login_required
def form_workbook(key: str):  # type: ignore[no-untyped-def]
    """A blank, protected workbook of the form's latest version, for filling offline."""
    return downloads.blank_workbook_response(current_user, key)


@bp.post("/forms/<key>/workbook")
@login_required
def upload_form_workbook(key: str):  # type: ignore[no-untyped-def]
    """A filled workbook (multipart ``file``) → 201 with the new draft, or 422 by cell."""
    submission = downloads.import_upload(current_user, key, request.files.get("file"))
    return jsonify(submission_json(service.describe(current_user, submission))), 201


ENDPOINTS.extend(
    [
        Endpoint(
            "get",
            "/submissions/{id}.pdf",
            "Print copy (application/pdf): the form as laid out, lines, totals, attachments and "
            "the approval history; DRAFT until approved; masked fields masked for the caller",
        ),
        Endpoint(
            "get",
            "/submissions/{id}.xlsx",
            "Print copy as an Excel workbook: the same fields, lines and history as real numbers "
            "and dates",
        ),
        Endpoint(
            "get",
            "/forms/{key}/workbook",
            "Blank, protected Excel workbook of the form's latest version, for filling offline",
            errors=(401, 403, 404),
        ),
        Endpoint(
            "post",
            "/forms/{key}/workbook",
            "Upload a filled workbook (multipart/form-data, field `file`, .xlsx only): 201 with "
            "the new draft submission, or 422 with every problem addressed by cell (`Lines!D9`)",
            status=201,
            errors=(400, 401, 403, 404, 413, 422),
        ),
    ]
)
