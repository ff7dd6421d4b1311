"""Print-copy and workbook endpoints of /api/v1."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required
from pydantic import BaseModel, Field

from ..exports import downloads
from ..forms import service
from ..openapi import answers, spec
from . import bp
from .submissions import Submission, submission_json


class WorkbookUpload(BaseModel):
    #: The filled .xlsx workbook.
    file: bytes = Field(json_schema_extra={"format": "binary"})


@bp.get("/submissions/<int:submission_id>.pdf")
@login_required
@spec.validate(resp=answers(None, 401, 404, files=("pdf",)), tags=["print copies"])
def submission_pdf(submission_id: int):  # type: ignore[no-untyped-def]
    """The print copy as PDF: the form as laid out, lines, totals, attachments, history."""
    return downloads.print_copy_response(current_user, submission_id, "pdf")


@bp.get("/submissions/<int:submission_id>.xlsx")
@login_required
@spec.validate(resp=answers(None, 401, 404, files=("xlsx",)), tags=["print copies"])
def submission_xlsx(submission_id: int):  # type: ignore[no-untyped-def]
    """The print copy as an Excel workbook with real numbers and dates."""
    return downloads.print_copy_response(current_user, submission_id, "xlsx")


@bp.get("/forms/<key>/workbook")
@login_required
@spec.validate(resp=answers(None, 401, 403, 404, files=("xlsx",)), tags=["print copies"])
def form_workbook(key: str):  # type: ignore[no-untyped-def]
    """A blank, protected workbook of the form's latest version, for filling offline."""
    return downloads.blank_workbook_response(current_user, key)


@bp.post("/forms/<key>/workbook")
@login_required
@spec.validate(
    form=WorkbookUpload,
    resp=answers(Submission, 400, 401, 403, 404, 413, 422, status=201),
    tags=["print copies"],
)
def upload_form_workbook(key: str):  # type: ignore[no-untyped-def]
    """A filled workbook (multipart ``file``) → 201 with the new draft, or 422 by cell."""
    submission = downloads.import_upload(current_user, key, request.files.get("file"))
    return jsonify(submission_json(service.describe(current_user, submission))), 201
