"""Submission endpoints of /api/v1: create, list, read, patch, print copies."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from pydantic import BaseModel, Field

from ..extensions import db
from ..forms import service
from ..forms import values as form_values
from ..openapi import ErrorDetail, answers, spec
from ..pagination import paginate, parse_page_args
from . import answer_cache, bp
from .auth import json_body
from .serialize import PageQuery, iso


class SubmissionSummary(BaseModel):
    """A list row: no field data, so lists never leak hidden or masked values."""

    id: int
    number: str | None
    #: The template's key.
    form: str
    template_version: int
    #: The optimistic-lock counter that PATCH, submit and actions send back.
    version: int
    #: draft, in_review, approved, rejected, returned or withdrawn.
    status: str
    #: The department's code.
    department: str
    #: The submitter's username.
    submitter: str
    current_step: str | None
    #: Money as a decimal string with two places.
    total: str | None
    created_at: str | None
    updated_at: str | None


class SubmissionLink(BaseModel):
    """Another submission named by this one."""

    id: int
    number: str


class Submission(SubmissionSummary):
    """Data as the caller may see it: hidden fields absent, masked fields masked."""

    data: dict[str, Any]
    #: The approved submission this one amends (变更), if it is a revision.
    revision_of: SubmissionLink | None = None
    #: The approved revision that replaced this submission: it no longer counts in reports
    #: or budgets (its status stays ``approved``).
    superseded_by: SubmissionLink | None = None


class SubmissionRead(Submission):
    #: Things approvers should look at, such as an invoice already used on another claim.
    warnings: list[ErrorDetail] = []


class SubmissionList(BaseModel):
    items: list[SubmissionSummary]
    page: int
    pages: int
    total: int


class SubmissionCreate(BaseModel):
    #: Field values by key (money as decimal strings or numbers, dates ``YYYY-MM-DD``).
    data: dict[str, Any] = Field(default_factory=dict)


class SubmissionChange(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)
    #: The version read last (409 when someone changed it since).
    version: int | None = None


class SubmissionQuery(PageQuery):
    #: A template key.
    form: str | None = None
    status: str | None = None
    #: A department code.
    department: str | None = None
    #: ``1`` or ``true``: only my own.
    mine: str | None = None


def _locale() -> str:
    return str(get_locale() or "en")


def summary_json(s) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A list row: no field data, so lists never leak hidden or masked values."""
    return {
        "id": s.id,
        "number": s.number,
        "form": s.template.key,
        "template_version": s.template_version,
        "version": s.version,
        "status": s.status.value,
        "department": s.department.code,
        "submitter": s.submitter.username,
        "current_step": s.current_step,
        "total": str(s.total) if s.total is not None else None,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
    }


def submission_json(loaded: service.Loaded, locale: str | None = None) -> dict[str, Any]:
    """The contract's submission shape; data as this caller may see it."""
    body = summary_json(loaded.submission)
    body["data"] = form_values.present(
        loaded.template, loaded.submission.data, loaded.access, locale or _locale()
    )
    body["revision_of"] = _link(loaded.submission.supersedes)
    body["superseded_by"] = _link(loaded.submission.superseded_by)
    return body


def _link(other) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    return {"id": other.id, "number": other.number} if other is not None else None


@bp.post("/forms/<key>/submissions")
@login_required
@spec.validate(
    json=SubmissionCreate,
    resp=answers(Submission, 400, 401, 403, 404, 422, status=201),
    tags=["submissions"],
)
def create_submission(key: str):  # type: ignore[no-untyped-def]
    """Create a draft of a form: 201 with the submission as the caller may see it."""
    body = json_body()
    submission = service.create(current_user, key, body.get("data", {}))
    db.session.commit()
    return jsonify(submission_json(service.describe(current_user, submission))), 201


@bp.get("/submissions")
@login_required
@spec.validate(query=SubmissionQuery, resp=answers(SubmissionList, 400, 401), tags=["submissions"])
@answer_cache.kept
def list_submissions():  # type: ignore[no-untyped-def]
    """Submissions in the caller's scope, newest first (no field data)."""
    page, per_page = parse_page_args(request.args)
    stmt = service.list_query(
        current_user,
        form=request.args.get("form") or None,
        status=request.args.get("status") or None,
        department=request.args.get("department") or None,
        mine=request.args.get("mine") in ("1", "true"),
    )
    return jsonify(paginate(stmt, page, per_page).as_dict(summary_json))


@bp.get("/submissions/<int:submission_id>")
@login_required
@spec.validate(resp=answers(SubmissionRead, 401, 404), tags=["submissions"])
@answer_cache.kept
def get_submission(submission_id: int):  # type: ignore[no-untyped-def]
    """One submission: hidden fields absent, masked fields masked."""
    loaded = service.load(current_user, submission_id)
    body = submission_json(loaded)
    duplicates = service.duplicate_vouchers(loaded.submission)
    body["warnings"] = [
        {"path": d.path, "message": f"invoice already used on {d.other_number}"} for d in duplicates
    ]
    return jsonify(body)


@bp.patch("/submissions/<int:submission_id>")
@login_required
@spec.validate(
    json=SubmissionChange,
    resp=answers(Submission, 400, 401, 403, 404, 409, 422),
    tags=["submissions"],
)
def patch_submission(submission_id: int):  # type: ignore[no-untyped-def]
    """Change a draft or returned submission (or, in review, the fields the current step lets its
    approvers edit), at `version`."""
    body = json_body()
    loaded = service.load(current_user, submission_id)
    if loaded.is_approver:
        # In review, the current step's approver changes what their step lets them edit.
        from ..approvals import engine

        submission = engine.edit_at_step(
            current_user, submission_id, body.get("data", {}), version=body.get("version")
        )
    else:
        submission = service.update(
            current_user, submission_id, body.get("data", {}), body.get("version")
        )
    db.session.commit()
    return jsonify(submission_json(service.describe(current_user, submission)))
