"""Form pages: fill in a new form, edit a draft, view a submission, list submissions.

Handlers follow one life: load (404) → authorize (access module) → validate → service →
audit. htmx endpoints recompute formulas and add or remove table rows on the server, so
there is one implementation of every rule.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..access import Permission as P
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models import Attachment, FormTemplate, Submission, SubmissionStatus
from ..numbers import query_int
from ..pagination import paginate, parse_page_args
from . import attachments, revisions, service
from . import templates as template_service
from . import values as form_values
from .presenter import PREVIEWS, FormPage, file_size, form_post_to_data

bp = Blueprint("forms", __name__)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


@bp.app_context_processor
def _revision_context() -> dict[str, Any]:
    return {"revision_links": revision_links}


def revision_links(submission: Submission) -> dict[str, tuple[str, str | None]]:
    """The submissions an amendment (变更) ties this one to, as (number, link): the one it
    revises, the approved revision that replaced it, the revision still open. The link is
    there only for a reader who may open that submission."""
    related = {
        "revision_of": submission.supersedes,
        "superseded_by": submission.superseded_by,
        "open_revision": revisions.open_revision(submission)
        if submission.status == SubmissionStatus.APPROVED and submission.superseded_by_id is None
        else None,
    }
    return {
        key: (
            other.number,
            url_for("forms.view", submission_id=other.id)
            if access.may_read_submission(current_user, other)
            else None,
        )
        for key, other in related.items()
        if other is not None
    }


def fillable_forms() -> list[FormTemplate]:
    if not access.may_fill_forms(current_user):
        return []
    return list(
        db.session.scalars(
            select(FormTemplate)
            .where(FormTemplate.kind == "form", FormTemplate.latest_version > 0)
            .order_by(FormTemplate.key)
        )
    )


@bp.get("/forms")
@login_required
def index():  # type: ignore[no-untyped-def]
    mine = db.session.scalars(service.list_query(current_user, mine=True).limit(10)).all()
    return render_template("forms/index.html", forms=fillable_forms(), mine=mine)


def _new_page(key: str, typed: dict[str, Any] | None = None, errors=None):  # type: ignore[no-untyped-def]
    record = template_service.template_by_key(key)
    if record.kind != "form" or not access.may_fill_forms(current_user):
        raise NotFound()
    version, template = template_service.published(key)
    field_access = service.new_form_access(current_user, template)
    outcome = form_values.process(
        template,
        typed or {},
        previous=None,
        access=field_access,
        extra=service.submitter_facts(current_user),
        creating=True,
    )
    page = FormPage(template, outcome.data, field_access, _locale(), errors=errors, typed=typed)
    return record, version, template, page


@bp.route("/forms/<key>/new", methods=["GET", "POST"])
@login_required
def new(key: str):  # type: ignore[no-untyped-def]
    if request.method == "GET":
        record, version, _template, page = _new_page(key)
        return render_template(
            "forms/edit.html", record=record, version=version.version, page=page, submission=None
        )
    autosaved = query_int(request.form, "_submission")
    if autosaved is not None:  # the page was saved as a draft while it was being typed
        return _save_draft(autosaved)
    record, version, template, _page = _new_page(key)
    typed = form_post_to_data(template, request.form, request.form.getlist)
    try:
        submission = service.create(current_user, key, typed)
    except Invalid as exc:
        db.session.rollback()
        page = _new_page(key, typed, exc.details)[3]
        return render_template(
            "forms/edit.html",
            record=record,
            version=version.version,
            page=page,
            submission=None,
            failed=exc.message,
        ), 422
    db.session.commit()
    flash(_("Draft %(number)s saved.", number=submission.number), "ok")
    return redirect(url_for("forms.edit", submission_id=submission.id))


@bp.route("/submissions/<int:submission_id>/edit", methods=["GET", "POST"])
@login_required
def edit(submission_id: int):  # type: ignore[no-untyped-def]
    loaded = service.load(current_user, submission_id)
    submission = loaded.submission
    if not access.may_edit_submission(current_user, submission):
        return redirect(url_for("forms.view", submission_id=submission.id))
    if request.method == "POST":
        return _save_draft(submission_id)
    page = FormPage(loaded.template, submission.data, loaded.access, _locale())
    return render_template(
        "forms/edit.html",
        record=submission.template,
        version=submission.template_version,
        page=_duplicate_warnings(page, submission),
        submission=submission,
    )


def _duplicate_warnings(page: FormPage, submission: Submission) -> FormPage:
    """Invoices used on another live claim, warned at their line: by number when the viewer
    may read that claim, else only that there is one."""
    for found in service.duplicate_vouchers(submission):
        other = db.session.get(Submission, found.other_id)
        if other is not None and access.may_read_submission(current_user, other):
            text = _("Possible duplicate of %(number)s", number=found.other_number)
            link = url_for("forms.view", submission_id=found.other_id)
        else:
            text, link = _("Possible duplicate on another claim"), None
        page.warnings.setdefault(found.path, []).append((text, link))
    return page


def _save_draft(submission_id: int):  # type: ignore[no-untyped-def]
    """Save the posted form into the draft (the person's own, while it is with them)."""
    loaded = service.load(current_user, submission_id)
    submission = loaded.submission
    if not access.may_edit_submission(current_user, submission):
        return redirect(url_for("forms.view", submission_id=submission.id))
    typed = form_post_to_data(loaded.template, request.form, request.form.getlist)
    try:
        service.update(current_user, submission.id, typed, request.form.get("_version"))
    except Invalid as exc:
        db.session.rollback()
        loaded = service.load(current_user, submission_id)
        page = FormPage(
            loaded.template,
            loaded.submission.data,
            loaded.access,
            _locale(),
            errors=exc.details,
            typed=typed,
        )
        return render_template(
            "forms/edit.html",
            record=loaded.submission.template,
            version=loaded.submission.template_version,
            page=page,
            submission=loaded.submission,
            failed=exc.message,
        ), 422
    db.session.commit()
    flash(_("Saved."), "ok")
    return redirect(url_for("forms.edit", submission_id=submission.id))


@bp.get("/submissions/<int:submission_id>")
@login_required
def view(submission_id: int):  # type: ignore[no-untyped-def]
    loaded = service.load(current_user, submission_id)
    page = FormPage(loaded.template, loaded.submission.data, loaded.access, _locale())
    return render_template(
        "forms/view.html",
        submission=loaded.submission,
        loaded=loaded,
        page=_duplicate_warnings(page, loaded.submission),
    )


@bp.get("/submissions")
@login_required
def listing():  # type: ignore[no-untyped-def]
    page_no, per_page = parse_page_args(request.args)
    scope = request.args.get("scope", "mine")
    stmt = service.list_query(
        current_user,
        form=request.args.get("form") or None,
        status=request.args.get("status") or None,
        department=request.args.get("department") or None,
        mine=scope == "mine",
    )
    result = paginate(stmt, page_no, per_page)
    forms = db.session.scalars(select(FormTemplate).where(FormTemplate.kind == "form")).all()
    return render_template(
        "forms/list.html",
        page=result,
        scope=scope,
        forms=forms,
        statuses=list(SubmissionStatus),
        can_read_others=access.can(current_user, P.SUBMISSION_READ),
    )


def _preview_page(key: str):  # type: ignore[no-untyped-def]
    """The form recomputed from what is typed now, for htmx (nothing is saved)."""
    submission_id = query_int(request.args, "submission")
    if submission_id:
        loaded = service.load(current_user, submission_id)
        template, field_access, previous = loaded.template, loaded.access, loaded.submission.data
    else:
        _record, _version, template, _page = _new_page(key)
        field_access, previous = service.new_form_access(current_user, template), None
    typed = form_post_to_data(template, request.form, request.form.getlist)
    outcome = form_values.process(
        template,
        typed,
        previous=previous,
        access=field_access,
        extra=service.submitter_facts(current_user),
        creating=previous is None,
    )
    return FormPage(
        template, outcome.data, field_access, _locale(), errors=outcome.errors, typed=typed
    ), template


@bp.post("/forms/<key>/recompute")
@login_required
def recompute(key: str):  # type: ignore[no-untyped-def]
    page, _template = _preview_page(key)
    return render_template("forms/_computed.html", page=page)


@bp.post("/forms/<key>/table/<table_key>")
@login_required
def table_rows(key: str, table_key: str):  # type: ignore[no-untyped-def]
    """Add a row (``op=add``) or remove row ``row`` (``op=remove``) and redraw the table."""
    page, template = _preview_page(key)
    table = template.field(table_key)
    if table is None or not page.is_table(table) or not page.editable(table_key):
        raise NotFound()
    rows = list(page.typed.get(table_key) or [])
    op = request.args.get("op")
    index = None
    if op == "add" and len(rows) < table.max_rows:
        rows.append({})
    elif op == "remove":
        index = query_int(request.args, "row", minimum=0)
        if index is not None and 0 <= index < len(rows):
            rows.pop(index)
    typed = {**page.typed, table_key: rows}
    outcome = form_values.process(
        template,
        typed,
        previous=None,
        access=page.access,
        extra=service.submitter_facts(current_user),
        creating=True,
    )
    page = FormPage(template, outcome.data, page.access, _locale(), typed=typed)
    page.focus = _focus_after(page, table, op, index if op == "remove" else None)
    html = render_template(
        "forms/_table.html",
        page=page,
        f=table,
        form_key=key,
        submission_id=query_int(request.args, "submission"),
        fragment=True,
    )
    # The budget hint and the autosave listen for this: lines changed without a keystroke.
    return html, {"HX-Trigger": "quire-lines-changed"}


@bp.post("/forms/<key>/autosave")
@login_required
def autosave(key: str):  # type: ignore[no-untyped-def]
    """Save what is typed as a draft while the person types (htmx, debounced): a new form
    becomes a draft on its first save and the address moves to it; the page learns the new
    lock ``version`` out of band, so the next save and Submit go on from it."""
    submission_id = query_int(request.form, "_submission")
    record = template_service.template_by_key(key)
    if record.kind != "form":
        raise NotFound()
    if submission_id is None:
        _version, template = template_service.published(key)
    else:
        template = service.load(current_user, submission_id).template
    typed = form_post_to_data(template, request.form, request.form.getlist)
    try:
        saved = service.autosave(
            current_user, key, submission_id, typed, request.form.get("_version")
        )
    except Conflict as exc:
        db.session.rollback()
        return render_template("forms/_autosave.html", conflict=exc.message), 409
    except Invalid as exc:
        db.session.rollback()
        return render_template("forms/_autosave.html", failed=exc.details), 422
    db.session.commit()
    submission = saved.submission
    headers = {"HX-Trigger": "quire-saved" if not saved.unsaved else "quire-saved-in-part"}
    if saved.created:
        headers["HX-Replace-Url"] = url_for("forms.edit", submission_id=submission.id)
    return render_template(
        "forms/_autosave.html",
        submission=submission,
        saved=saved,
        page=FormPage(template, submission.data, {}, _locale(), errors=saved.unsaved),
    ), headers


def _focus_after(page: FormPage, table: Any, op: str | None, removed: int | None) -> str | None:
    """Where the keyboard is once the table is redrawn: the new row's first input, else the
    remove button that took the removed row's place (the row above it for the last row)."""
    count = len(page.rows(table))
    if op == "add":
        first = next(
            (c for c in table.columns if page.has_value(c) and not page.is_computed(c)), None
        )
        return f"{table.key}-{count - 1}-{first.key}" if first is not None else None
    if removed is not None:
        return f"remove-{table.key}-{min(removed, count - 1)}" if count else f"add-{table.key}"
    return None


@bp.post("/attachments")
@login_required
def upload():  # type: ignore[no-untyped-def]
    """Upload one file; answers the input slot (htmx) with the new attachment's id."""
    name = request.args.get("name", "")
    upload_file = next(iter(request.files.values()), None)
    if upload_file is None:
        abort(400)
    submission_id = request.args.get("submission", type=int)
    submission = service.load(current_user, submission_id).submission if submission_id else None
    try:
        attachment = attachments.store(current_user, upload_file, submission)
    except Invalid as exc:
        return render_template(
            "forms/_attachment_slot.html",
            name=name,
            value="",
            label="",
            error=exc.details[0].message if exc.details else exc.message,
        ), 422
    db.session.commit()
    html = render_template(
        "forms/_attachment_slot.html",
        name=name,
        value=str(attachment.id),
        label=attachment.filename,
        size=file_size(attachment.size),
        error=None,
    )
    return html, {"HX-Trigger": "quire-form-changed"}


@bp.get("/attachments/slot")
@login_required
def attachment_slot():  # type: ignore[no-untyped-def]
    """An empty invoice slot: the upload's "Remove" button (the file stays stored; the form no
    longer names it once saved)."""
    name = request.args.get("name", "")
    if not re.fullmatch(r"[A-Za-z_][\w-]{0,120}", name):
        raise NotFound()
    html = render_template("forms/_attachment_slot.html", name=name, value="", label="", error=None)
    return html, {"HX-Trigger": "quire-form-changed"}


@bp.get("/attachments/<int:attachment_id>/preview")
@login_required
def preview(attachment_id: int):  # type: ignore[no-untyped-def]
    """An image or PDF shown inside the claim page, beside its line: the download's checks,
    served inline only for the types whose content was checked at upload."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not access.may_download_attachment(current_user, attachment):
        raise NotFound()
    if attachment.content_type not in PREVIEWS:
        raise NotFound()
    response = send_file(
        attachments.open_content(attachment),
        mimetype=attachment.content_type,
        as_attachment=False,
        download_name=attachment.filename,
    )
    # Framed by Quire's own pages only; nothing inside may run script.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not access.may_download_attachment(current_user, attachment):
        raise NotFound()
    return send_file(
        attachments.open_content(attachment),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )
