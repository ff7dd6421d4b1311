"""Submission endpoints of /api/v1: create, list, read, patch, print copies."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from ..extensions import db
from ..forms import service
from ..forms import values as form_values
from ..pagination import paginate, parse_page_args
from . import bp
from .auth import json_body
from .serialize import iso


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
    return body


@bp.post("/forms/<key>/submissions")
@login_required
def create_submission(key: str):  # type: ignore[no-untyped-def]
    body = json_body()
    submission = service.create(current_user, key, body.get("data", {}))
    db.session.commit()
    return jsonify(submission_json(service.describe(current_user, submission))), 201


@bp.get("/submissions")
@login_required
def list_submissions():  # type: ignore[no-untyped-def]
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
def get_submission(submission_id: int):  # type: ignore[no-untyped-def]
    loaded = service.load(current_user, submission_id)
    body = submission_json(loaded)
    duplicates = service.duplicate_vouchers(loaded.submission)
    body["warnings"] = [
        {"path": d.path, "message": f"invoice already used on {d.other_number}"} for d in duplicates
    ]
    return jsonify(body)


@bp.patch("/submissions/<int:submission_id>")
@login_required
def patch_submission(submission_id: int):  # type: ignore[no-untyped-def]
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
