"""Template endpoints of /api/v1: list, read versions, validate, save drafts, publish, diff."""

from __future__ import annotations

from typing import Annotated, Any

from flask import jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from pydantic import BaseModel, Field
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
from ..openapi import PUBLIC, ErrorDetail, answers, spec
from ..pagination import paginate, parse_page_args
from . import bp
from .auth import json_body
from .serialize import PageQuery, QueryNumber, iso


class TemplateSummary(BaseModel):
    key: str
    #: form or report.
    kind: str
    #: In the caller's language.
    title: str | None
    title_zh: str | None
    title_en: str | None
    latest_version: int | None
    has_draft: bool


class TemplateList(BaseModel):
    items: list[TemplateSummary]
    page: int
    pages: int
    total: int


class TemplateDocument(BaseModel):
    """A template document; its JSON Schema is at ``GET /api/v1/templates/schema``."""

    model_config = {"extra": "allow"}


class TemplateQuery(BaseModel):
    #: An older published version (default the latest).
    version: QueryNumber = None
    #: ``1`` or ``true``: the unpublished draft (designers only).
    draft: str | None = None


class VersionItem(BaseModel):
    version: int
    published_at: str | None
    published_by: str | None


class VersionList(BaseModel):
    items: list[VersionItem]
    page: int
    pages: int
    total: int


class DiffQuery(BaseModel):
    #: The older version.
    from_: Annotated[QueryNumber, Field(alias="from")] = None
    #: The newer version.
    to: QueryNumber = None


class ValidationResult(BaseModel):
    valid: bool
    errors: list[ErrorDetail]


class PublishRequest(BaseModel):
    #: What changed, for the version history.
    note: str | None = None


class Published(BaseModel):
    key: str
    version: int


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
@spec.validate(query=PageQuery, resp=answers(TemplateList, 400, 401), tags=["templates"])
def list_templates():  # type: ignore[no-untyped-def]
    """Templates I may use or design."""
    page, per_page = parse_page_args(request.args)
    stmt = _visible_templates().order_by(FormTemplate.created_at.desc(), FormTemplate.id.desc())
    return jsonify(paginate(stmt, page, per_page).as_dict(template_summary))


@bp.get("/templates/schema")
@spec.validate(resp=answers(None), tags=["templates"], security=PUBLIC)
def template_schema():  # type: ignore[no-untyped-def]
    """The JSON Schema of a template document."""
    return jsonify(template_json_schema())


def _visible_record(key: str) -> FormTemplate:
    record = db.session.scalar(_visible_templates().where(FormTemplate.key == key))
    if record is None:
        raise NotFound(f"No template {key!r}.")
    return record


@bp.get("/templates/<key>")
@login_required
@spec.validate(
    query=TemplateQuery, resp=answers(TemplateDocument, 400, 401, 403, 404), tags=["templates"]
)
def get_template(key: str):  # type: ignore[no-untyped-def]
    """The latest published template document; `?version=N` for an older one, `?draft=1` for the
    draft."""
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
@spec.validate(query=PageQuery, resp=answers(VersionList, 400, 401, 404), tags=["templates"])
def template_versions(key: str):  # type: ignore[no-untyped-def]
    """Published versions, newest first."""
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
@spec.validate(query=DiffQuery, resp=answers(None, 400, 401, 404), tags=["templates"])
def template_diff(key: str):  # type: ignore[no-untyped-def]
    """What changed between two published versions (`?from=&to=`)."""
    record = _visible_record(key)
    old, new = query_int(request.args, "from"), query_int(request.args, "to")
    if old is None or new is None:
        raise BadRequest("Give two versions.", [Detail("from", "and to= must be version numbers")])
    a = template_service.parsed(template_service.version_record(record, old))
    b = template_service.parsed(template_service.version_record(record, new))
    return jsonify(diff_templates(a, b))


@bp.post("/templates/validate")
@login_required
@spec.validate(json=TemplateDocument, resp=answers(ValidationResult, 400, 401), tags=["templates"])
def validate():  # type: ignore[no-untyped-def]
    """Check a template document: {valid, errors: [{path, message}]}."""
    doc = request.get_json(silent=True)
    if doc is None:
        raise BadRequest("The request body must be JSON.")
    issues = template_service.problems(doc)
    return jsonify(valid=not issues, errors=[i.as_dict() for i in issues])


@bp.post("/templates")
@login_required
@spec.validate(
    json=TemplateDocument,
    resp=answers(TemplateSummary, 400, 401, 403, 409, 422, status=201),
    tags=["templates"],
)
def save_template():  # type: ignore[no-untyped-def]
    """Create or replace the draft of a template (designers only)."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    record = template_service.save_draft(current_user, json_body())
    db.session.commit()
    return jsonify(template_summary(record)), 201


@bp.post("/templates/<key>/publish")
@login_required
@spec.validate(
    json=PublishRequest, resp=answers(Published, 400, 401, 403, 404, 409, 422), tags=["templates"]
)
def publish_template(key: str):  # type: ignore[no-untyped-def]
    """Publish the draft as a new version; published versions never change."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = request.get_json(silent=True)
    note = body.get("note") if isinstance(body, dict) else None
    if note is not None and not isinstance(note, str):
        raise BadRequest("The note must be text.", [Detail("note", "must be text")])
    version = template_service.publish(current_user, key, note)
    db.session.commit()
    return jsonify(key=key, version=version.version)
