"""``/api/v1`` endpoints for rights: read a person's grants, ask for a role.

``POST /access-requests`` files an ``access-request`` form and submits it in one
transaction: the same checks as the web form (field paths under ``scope.`` for the scope),
and nothing is kept when any fails.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import get_locale
from flask_login import current_user, login_required
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import access
from ..api import bp
from ..api.auth import json_body
from ..api.serialize import iso
from ..api.submissions import Submission, submission_json
from ..approvals import engine
from ..errors import Detail, Forbidden, Invalid, QuireError
from ..extensions import db
from ..forms import service as forms_service
from ..models import RoleGrant
from ..openapi import answers, spec
from ..org import user_by_username
from .service import ACCESS_REQUEST_FORM


class RequestScope(BaseModel):
    """Where the role applies: a department (its subtree unless ``subtree`` is false; none =
    the whole organisation), optionally only some projects and fiscal months."""

    model_config = ConfigDict(extra="forbid")

    department: str | None = Field(default=None, max_length=32)
    subtree: bool = True
    projects: list[str] | None = Field(default=None, max_length=100)
    #: ``{"from": "2026-01", "until": "2026-06"}``: fiscal months, both included.
    periods: dict[str, str] | None = None


class AccessRequestBody(BaseModel):
    """``POST /api/v1/access-requests``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    role: str = Field(min_length=1, max_length=64)
    scope: RequestScope = Field(default_factory=RequestScope)
    #: ``YYYY-MM-DD``, the last day the grant counts; required for temporary-only roles.
    valid_until: str | None = None
    reason: str = Field(min_length=1, max_length=4000)
    #: Username the role is for; the caller when absent.
    for_: str | None = Field(default=None, alias="for", max_length=64)
    #: Why the business needs a separation-of-duties exception (the CFO decides).
    sod_exception_reason: str | None = Field(default=None, max_length=4000)


class GrantItem(BaseModel):
    role: str
    scope: dict[str, Any]
    valid_from: str | None
    valid_until: str | None
    #: ``request:<number>`` or ``granted_without_request``.
    source: str


class GrantList(BaseModel):
    items: list[GrantItem]


#: Form field -> the API body's path, for error details.
_PATHS = {
    "scope": "scope.department",
    "subtree": "scope.subtree",
    "projects": "scope.projects",
    "periods": "scope.periods",
}


def _month(value: str, path: str) -> str:
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-":
        raise Invalid("Please check the request.", [Detail(path, "a month as YYYY-MM")])
    return f"{value}-01"


def _form_data(body: AccessRequestBody) -> dict[str, Any]:
    scope = body.scope
    data: dict[str, Any] = {
        "role": body.role,
        "reason": body.reason,
        "subtree": scope.subtree,
    }
    if body.for_:
        data["for"] = body.for_
    if scope.department:
        data["scope"] = scope.department
    if scope.projects:
        data["projects"] = scope.projects
    if scope.periods:
        start = _month(scope.periods.get("from", ""), "scope.periods.from")
        end = _month(scope.periods.get("until", ""), "scope.periods.until")
        data["periods"] = {"start": start, "end": end}
    if body.valid_until:
        data["valid_until"] = body.valid_until
    if body.sod_exception_reason:
        data["sod_exception_reason"] = body.sod_exception_reason
    return data


def _api_paths(error: QuireError) -> QuireError:
    error.details = [Detail(_PATHS.get(d.path, d.path), d.message) for d in error.details]
    return error


@bp.post("/access-requests")
@login_required
@spec.validate(
    json=AccessRequestBody,
    resp=answers(Submission, 400, 401, 403, 404, 422, status=201),
    tags=["rights"],
)
def create_access_request():  # type: ignore[no-untyped-def]
    """File and submit an access request: 201 with the submission, in review."""
    try:
        body = AccessRequestBody.model_validate(json_body())
    except ValidationError as exc:
        raise Invalid(
            "Please check the request.",
            [
                Detail(".".join(str(p) for p in e["loc"]).replace("for_", "for"), e["msg"])
                for e in exc.errors()
            ],
        ) from None
    locale = str(get_locale() or "en")
    try:
        submission = forms_service.create(current_user, ACCESS_REQUEST_FORM, _form_data(body))
        engine.submit(current_user, submission.id, submission.version, locale=locale)
    except QuireError as error:
        raise _api_paths(error) from None
    db.session.commit()
    return jsonify(submission_json(forms_service.describe(current_user, submission))), 201


def grant_item(grant: RoleGrant) -> dict[str, Any]:
    request = grant.request_submission_id
    number = None
    if request is not None:
        from ..models import Submission

        found = db.session.get(Submission, request)
        number = found.number if found is not None else str(request)
    return {
        "role": grant.role.key,
        "scope": grant.scope_summary(),
        "valid_from": iso(grant.valid_from),
        "valid_until": iso(grant.valid_until),
        "source": f"request:{number}" if number else "granted_without_request",
    }


@bp.get("/users/<username>/grants")
@login_required
@spec.validate(resp=answers(GrantList, 401, 403, 404), tags=["rights"])
def user_grants(username: str):  # type: ignore[no-untyped-def]
    """The grants that count for ``username`` now, each with where it came from."""
    person = user_by_username(username)
    if not access.may_read_grants_of(current_user, person):
        raise Forbidden("You may not see this person's rights.")
    return jsonify({"items": [grant_item(g) for g in access.current_grants(person)]})
