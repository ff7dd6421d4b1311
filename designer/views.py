"""The designer's pages: templates, their published versions and what changed between two.

(The visual editor itself is a later issue; these pages already let a finance admin see
versions and compare them.)
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from quire.runtime import access
from quire.runtime.access import Permission as P
from quire.runtime.errors import BadRequest, Detail
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.models import FormTemplate, TemplateVersion
from quire.runtime.numbers import parse_int

from .diff import diff_templates

bp = Blueprint("designer", __name__, url_prefix="/designer", template_folder="templates")


@bp.get("/templates")
@login_required
def templates():  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    records = db.session.scalars(
        select(FormTemplate).order_by(FormTemplate.kind, FormTemplate.key)
    ).all()
    return render_template("designer/templates.html", records=records)


@bp.get("/templates/<key>")
@login_required
def template_versions(key: str):  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    record = template_service.template_by_key(key)
    versions = db.session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == record.id)
        .order_by(TemplateVersion.version.desc())
    ).all()
    diff = None
    old, new = request.args.get("from"), request.args.get("to")
    if old and new:
        old_number, new_number = parse_int(old), parse_int(new)
        if old_number is None or new_number is None:
            raise BadRequest("Choose two versions.", [Detail("from", "must be a version number")])
        a = template_service.parsed(template_service.version_record(record, old_number))
        b = template_service.parsed(template_service.version_record(record, new_number))
        diff = diff_templates(a, b)
    return render_template(
        "designer/versions.html", record=record, versions=versions, diff=diff, old=old, new=new
    )


from . import editor, report_editor  # noqa: E402,F401  (the design pages' routes attach to bp)
