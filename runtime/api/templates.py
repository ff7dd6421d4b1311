"""Template endpoints of /api/v1: list, read versions, validate, save drafts, publish, diff."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy import select

from quire.designer.diff import diff_templates
from quire.designer.model import template_json_schema

from .. import access
from ..access import Permission as P
from ..errors import BadRequest, Detail, NotFound
from ..extensions import db
from ..forms import templates as template_service
from ..models import FormTemplate, TemplateVersion
from ..numbers import query_int
from ..pagination import paginate, parse_page_args
from . import bp
from .auth import json_body
from .serialize import iso


def template_summary(record: FormTemplate) -> dict[str, Any]:
    locale = str(get_locale() or "en")
    return {
        "key": record.key,
        "kind": record.kind,
        "title": record.title(locale),
        "title_zh": record.title_zh,
        "title_en": record.title_en,
        "latest_version": record.latest_version or None,
        "has_draft": record.draft is not None,
    }


def _visible_templates():  # type: ignore[no-untyped-def]
    """Designers see every template; others the published forms they may fill in and the
    reports they may read."""
    stmt = select(FormTemplate)
    if access.can(current_user, P.TEMPLATE_DESIGN):
        return stmt
    kinds = []
    if access.may_fill_forms(current_user) or access.can(current_user, P.SUBMISSION_READ):
        kinds.append("form")
    if access.can(current_user, P.REPORT_READ):
        kinds.append("report")
    return stmt.where(FormTemplate.kind.in_(kinds), FormTemplate.latest_version > 0)


@bp.get("/templates")
@login_required
def list_templates():  # type: ignore[no-untyped-def]
    page, per_page = parse_page_args(request.args)
    stmt = _visible_templates().order_by(FormTemplate.created_at.desc(), FormTemplate.id.desc())
    return jsonify(paginate(stmt, page, per_page).as_dict(template_summary))


@bp.get("/templates/schema")
def template_schema():  # type: ignore[no-untyped-def]
    return jsonify(template_json_schema())


def _visible_record(key: str) -> FormTemplate:
    record = db.session.scalar(_visible_templates().where(FormTemplate.key == key))
    if record is None:
        raise NotFound(f"No template {key!r}.")
    return record


@bp.get("/templates/<key>")
@login_required
def get_template(key: str):  # type: ignore[no-untyped-def]
    record = _visible_record(key)
    version_number = query_int(request.args, "version")
    if request.args.get("draft") in ("1", "true"):
        access.authorize(current_user, P.TEMPLATE_DESIGN)
        if record.draft is None:
            raise NotFound("This template has no unpublished draft.")
        return jsonify(record.draft)
    version = template_service.version_record(record, version_number)
    response = jsonify(version.document)
    response.headers["X-Template-Version"] = str(version.version)
    return response


@bp.get("/templates/<key>/versions")
@login_required
def template_versions(key: str):  # type: ignore[no-untyped-def]
    record = _visible_record(key)
    page, per_page = parse_page_args(request.args)
    stmt = (
        select(TemplateVersion)
        .where(TemplateVersion.template_id == record.id)
        .order_by(TemplateVersion.version.desc())
    )
    return jsonify(
        paginate(stmt, page, per_page).as_dict(
            lambda v: {
                "version": v.version,
                "published_at": iso(v.published_at),
                "published_by": _username(v.published_by_id),
            }
        )
    )


def _username(user_id: int | None) -> str | None:
    from ..models import User

    user = db.session.get(User, user_id) if user_id else None
    return user.username if user else None


@bp.get("/templates/<key>/diff")
@login_required
def template_diff(key: str):  # type: ignore[no-untyped-def]
    record = _visible_record(key)
    old, new = query_int(request.args, "from"), query_int(request.args, "to")
    if old is None or new is None:
        raise BadRequest("Give two versions.", [Detail("from", "and to= must be version numbers")])
    a = template_service.parsed(template_service.version_record(record, old))
    b = template_service.parsed(template_service.version_record(record, new))
    return jsonify(diff_templates(a, b))


@bp.post("/templates/validate")
@login_required
def validate():  # type: ignore[no-untyped-def]
    doc = request.get_json(silent=True)
    if doc is None:
        raise BadRequest("The request body must be JSON.")
    issues = template_service.problems(doc)
    return jsonify(valid=not issues, errors=[i.as_dict() for i in issues])


@bp.post("/templates")
@login_required
def save_template():  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    record = template_service.save_draft(current_user, json_body())
    db.session.commit()
    return jsonify(template_summary(record)), 201


@bp.post("/templates/<key>/publish")
@login_required
def publish_template(key: str):  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = request.get_json(silent=True)
    note = body.get("note") if isinstance(body, dict) else None
    if note is not None and not isinstance(note, str):
        raise BadRequest("The note must be text.", [Detail("note", "must be text")])
    version = template_service.publish(current_user, key, note)
    db.session.commit()
    return jsonify(key=key, version=version.version)
