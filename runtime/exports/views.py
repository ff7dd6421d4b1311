"""Web routes for print copies and offline workbooks.

``exports.submission_pdf`` / ``exports.submission_xlsx`` are the submission page's print
buttons; ``exports.workbook`` is the offline-filling page (GET shows it, POST uploads) and
``exports.blank_workbook`` the blank file it links to.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import BadRequest, Invalid, NotFound, TooLarge
from ..forms import templates as template_service
from . import downloads

bp = Blueprint("exports", __name__)


@bp.get("/submissions/<int:submission_id>/print.pdf")
@login_required
def submission_pdf(submission_id: int):  # type: ignore[no-untyped-def]
    return downloads.print_copy_response(current_user, submission_id, "pdf")


@bp.get("/submissions/<int:submission_id>/print.xlsx")
@login_required
def submission_xlsx(submission_id: int):  # type: ignore[no-untyped-def]
    return downloads.print_copy_response(current_user, submission_id, "xlsx")


@bp.get("/forms/<key>/workbook.xlsx")
@login_required
def blank_workbook(key: str):  # type: ignore[no-untyped-def]
    return downloads.blank_workbook_response(current_user, key)


def _fillable(key: str):  # type: ignore[no-untyped-def]
    record = template_service.template_by_key(key)
    if (
        record.kind != "form"
        or not record.latest_version
        or not access.may_fill_forms(current_user)
    ):
        raise NotFound()
    return record


@bp.route("/forms/<key>/workbook", methods=["GET", "POST"])
@login_required
def workbook(key: str):  # type: ignore[no-untyped-def]
    """Download a blank workbook, fill it in Excel, upload it here to get a draft."""
    record = _fillable(key)
    if request.method == "GET":
        return render_template("exports/upload.html", record=record)
    try:
        submission = downloads.import_upload(current_user, key, request.files.get("file"))
    except (Invalid, TooLarge, BadRequest) as exc:
        return render_template(
            "exports/upload.html", record=record, failed=exc.message, problems=exc.details
        ), exc.status
    flash(_("Draft %(number)s created from the workbook.", number=submission.number), "ok")
    return redirect(url_for("forms.edit", submission_id=submission.id))
