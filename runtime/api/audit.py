"""``GET /audit``: the trail, for auditors only."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required

from .. import access
from ..audit_query import audit_query
from ..audit_view import shown_changes
from ..errors import BadRequest, Detail
from ..openapi import answers, spec
from ..pagination import paginate, parse_page_args
from . import bp
from .serialize import AuditList, PageQuery, audit_json


class AuditQuery(PageQuery):
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    #: From this day or time (ISO 8601).
    since: str | None = None
    #: Up to this day or time (ISO 8601).
    until: str | None = None


@bp.get("/audit")
@login_required
@spec.validate(query=AuditQuery, resp=answers(AuditList, 400, 401, 403), tags=["audit"])
def audit_list():  # type: ignore[no-untyped-def]
    """The audit trail (auditors only), newest first, masked as in every view."""
    access.authorize(current_user, access.Permission.AUDIT_READ)
    page, per_page = parse_page_args(request.args)
    try:
        stmt = audit_query(request.args, current_user)
    except ValueError as exc:
        raise BadRequest("Invalid filter.", [Detail(str(exc.args[0]), str(exc.args[1]))]) from exc
    result = paginate(stmt, page, per_page)
    # Masked as in every other view for this reader; stored events stay as recorded.
    shown = shown_changes(current_user, result.items)
    return jsonify(result.as_dict(lambda e: {**audit_json(e), "changes": shown[e.id]}))
