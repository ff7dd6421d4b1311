"""Designer endpoints of /api/v1: the draft's operations, undo/redo, restore, and the simulator.

The designer page uses these same services; each handler is load → authorize → call the
service → answer. A stale `version` answers 409 with the latest state under `latest`.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import get_locale
from flask_login import current_user, login_required
from pydantic import BaseModel, Field

from quire.designer import drafts
from quire.designer.model import Template
from quire.designer.simulate import simulate

from .. import access
from ..access import Permission as P
from ..errors import BadRequest, Detail, Invalid
from ..extensions import db
from ..forms import templates as template_service
from ..openapi import Error, answers, spec
from ..org import user_by_username
from . import bp
from .auth import json_body
from .errors import error_response


class DraftOpsRequest(BaseModel):
    #: The draft's version read last (409 with ``latest`` when stale).
    version: int | None = None
    #: Designer operations, applied in order.
    ops: list[dict[str, Any]] | None = None


class VersionRequest(BaseModel):
    version: int | None = None


class RestoreRequest(BaseModel):
    version: int | None = None
    #: The published version to make the draft again.
    from_version: int = Field(ge=1)


class DraftIssue(BaseModel):
    path: str
    message: str


class DraftState(BaseModel):
    key: str
    #: form or report.
    kind: str
    version: int
    has_draft: bool
    latest_version: int | None
    document: dict[str, Any]
    issues: list[dict[str, Any]]
    can_undo: bool
    can_redo: bool


class DraftConflictError(Error):
    """409: someone changed the draft since; ``latest`` is its state now."""

    latest: dict[str, Any] | None = None


class SimulateRequest(BaseModel):
    #: Sample field values.
    data: dict[str, Any] = Field(default_factory=dict)
    #: The username the sample is submitted as.
    submitter: str = Field(min_length=1)
    #: A published version; default the draft if there is one, else the latest version.
    version: int | None = None


class SimulatedStep(BaseModel):
    key: str
    name: str
    #: will_run, skipped or auto_approved.
    status: str
    assignees: list[str]
    #: Why, in the caller's language.
    reason: str
    #: The parallel group (并行分支) the step is in, and its branch (0, 1…); null outside one.
    group: str | None = None
    branch: int | None = None


class SimulateResponse(BaseModel):
    steps: list[SimulatedStep]


def _draft_answers():  # type: ignore[no-untyped-def]
    responses = answers(DraftState, 400, 401, 403, 404, 422)
    responses.add_model(409, DraftConflictError)
    return responses


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _answer(run: Any):  # type: ignore[no-untyped-def]
    """Run a draft change; commit it, or answer the conflict with the latest state."""
    try:
        result = run()
    except drafts.DraftConflict as conflict:
        db.session.rollback()
        response = error_response(409, conflict.code, conflict.message, conflict.details)
        body = response.get_json()
        body["latest"] = conflict.latest
        response.set_data(jsonify(body).get_data())
        return response
    db.session.commit()
    return jsonify(result.as_dict())


@bp.get("/templates/<key>/draft")
@login_required
@spec.validate(resp=answers(DraftState, 401, 403, 404), tags=["designer"])
def get_draft(key: str):  # type: ignore[no-untyped-def]
    """The draft being designed."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    return jsonify(drafts.state(template_service.template_by_key(key)).as_dict())


@bp.post("/templates/<key>/draft/ops")
@login_required
@spec.validate(json=DraftOpsRequest, resp=_draft_answers(), tags=["designer"])
def draft_ops(key: str):  # type: ignore[no-untyped-def]
    """Apply designer operations to the draft at `version` (409 with `latest` if stale)."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = json_body()
    return _answer(lambda: drafts.apply(current_user, key, body.get("version"), body.get("ops")))


@bp.post("/templates/<key>/draft/undo")
@login_required
@spec.validate(json=VersionRequest, resp=_draft_answers(), tags=["designer"])
def draft_undo(key: str):  # type: ignore[no-untyped-def]
    """Undo the draft's last change."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = json_body()
    return _answer(lambda: drafts.undo(current_user, key, body.get("version")))


@bp.post("/templates/<key>/draft/redo")
@login_required
@spec.validate(json=VersionRequest, resp=_draft_answers(), tags=["designer"])
def draft_redo(key: str):  # type: ignore[no-untyped-def]
    """Redo the change undone last."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = json_body()
    return _answer(lambda: drafts.redo(current_user, key, body.get("version")))


@bp.post("/templates/<key>/draft/restore")
@login_required
@spec.validate(json=RestoreRequest, resp=_draft_answers(), tags=["designer"])
def draft_restore(key: str):  # type: ignore[no-untyped-def]
    """Make a published version the draft again."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = json_body()
    number = body.get("from_version")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise BadRequest(
            "Say which version to restore.", [Detail("from_version", "must be a version number")]
        )
    return _answer(lambda: drafts.restore(current_user, key, body.get("version"), number))


def simulation_template(key: str, version: Any) -> Template:
    """The draft if there is one, else the latest published version, unless `version` is given."""
    record = template_service.template_by_key(key)
    if version is not None:
        if not isinstance(version, int) or isinstance(version, bool):
            raise BadRequest("Invalid version.", [Detail("version", "must be a version number")])
        return template_service.parsed(template_service.version_record(record, version))
    document = drafts.working_document(record)
    try:
        return Template.model_validate(document)
    except ValueError:
        raise Invalid(
            "The draft cannot be simulated until it is a readable template.",
            [Detail(i.path, i.message) for i in template_service.problems(document)],
        ) from None


@bp.post("/templates/<key>/simulate")
@login_required
@spec.validate(
    json=SimulateRequest,
    resp=answers(SimulateResponse, 400, 401, 403, 404, 422),
    tags=["designer"],
)
def simulate_route(key: str):  # type: ignore[no-untyped-def]
    """Which steps would run for sample values, who would be asked, and why others are skipped
    (in the caller's language)."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    body = json_body()
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise BadRequest("The sample must be an object.", [Detail("data", "must be an object")])
    submitter_name = body.get("submitter")
    if not isinstance(submitter_name, str) or not submitter_name:
        raise BadRequest("Say who submits the sample.", [Detail("submitter", "must be a username")])
    template = simulation_template(key, body.get("version"))
    submitter = user_by_username(submitter_name)
    result = simulate(template, data, submitter, locale=_locale())
    return jsonify(result.as_dict())
