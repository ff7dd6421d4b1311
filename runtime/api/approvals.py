"""Approval endpoints of /api/v1 (submit, actions, history, inbox)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from pydantic import BaseModel

from ..approvals import engine
from ..errors import BadRequest
from ..forms import service as forms_service
from ..forms import values as form_values
from ..models import ApprovalEvent, ApprovalTask
from ..openapi import answers, spec
from ..pagination import paginate, parse_page_args
from . import answer_cache, bp
from .serialize import PageQuery, iso
from .submissions import Submission


class SubmitRequest(BaseModel):
    #: Optional: checked when given (409 when someone changed the submission since).
    version: int | None = None


class ActionRequest(BaseModel):
    """``approve`` may carry ``data`` with the fields the current step lets its approvers
    edit; ``delegate`` and ``transfer`` name the user in ``to``."""

    #: approve, reject, return, delegate, transfer, withdraw, comment, add_signer, copy or
    #: amend (an approved submission's submitter: 201 with the new draft revision).
    action: str
    comment: str | None = None
    #: Whom: a username (delegate, transfer), a step key (return), usernames (add_signer),
    #: usernames or role keys (copy).
    to: str | list[str] | None = None
    #: The version read last (409 when stale or missing).
    version: int | None = None
    #: With `add_signer`: `before` or `after` the approver, or `alongside` them.
    position: str | None = None
    #: With `add_signer` alongside: `any` (either decides) or `all` (all must approve).
    mode: str | None = None
    #: With `return`: the earlier step to send the form back to (or `to`).
    step: str | None = None
    #: With `return` to a step: whether the steps between decide again (default true) or
    #: the form comes straight back to the step that returned it.
    again: bool | None = None
    #: With `approve`: the fields the current step lets its approvers edit, changed first.
    data: dict[str, Any] | None = None


class HistoryItem(BaseModel):
    step: str | None
    actor: str | None
    on_behalf_of: str | None
    action: str
    comment: str | None
    at: str | None
    round: int | None = None
    details: Any = None


class HistoryList(BaseModel):
    items: list[HistoryItem]
    page: int
    pages: int
    total: int


class InboxSummary(BaseModel):
    submitter: str
    department: str
    total: str | None


class InboxItem(BaseModel):
    task_id: int
    submission_id: int
    form: str
    step: str
    since: str | None
    due: str | None
    summary: InboxSummary
    number: str | None = None
    version: int | None = None
    step_name: str | None = None
    on_behalf_of: str | None = None
    checks_passed: bool | None = None


class BudgetTask(BaseModel):
    """A department's budget to fill in for an open budget round (预算编制)."""

    round_id: int
    fiscal_year: int
    department: str
    deadline: str
    status: str
    submission_id: int | None
    url: str


class ReviewTask(BaseModel):
    """A grant to keep, revoke or narrow in an open access review."""

    item_id: int
    campaign_id: int
    campaign: str
    grantee: str
    role: str
    department: str | None
    due: str
    url: str


class AlsoWaiting(BaseModel):
    budgets: list[BudgetTask]
    access_reviews: list[ReviewTask]


class InboxList(BaseModel):
    items: list[InboxItem]
    page: int
    pages: int
    total: int
    #: What else waits for the caller besides approval tasks: budgets to fill in and access
    #: review items to decide (the web inbox shows them too).
    also_waiting: AlsoWaiting


class InboxQuery(PageQuery):
    #: -since (default), since, -total, total or due.
    sort: str | None = None


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.content_length:
        raise BadRequest("The body must be a JSON object.")
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _submission_response(submission_id: int):  # type: ignore[no-untyped-def]
    from .submissions import submission_json  # the lead's serializer: one submission shape

    loaded = forms_service.load(current_user, submission_id)
    return jsonify(submission_json(loaded, _locale()))


@bp.post("/submissions/<int:submission_id>/submit")
@login_required
@spec.validate(
    json=SubmitRequest,
    resp=answers(Submission, 400, 401, 403, 404, 409, 422),
    tags=["approvals"],
)
def submit_submission(submission_id: int):  # type: ignore[no-untyped-def]
    """Submit a draft or returned submission: in_review, or approved when the route says so."""
    body = _body()
    engine.submit(current_user, submission_id, body.get("version"), locale=_locale())
    from ..extensions import db

    db.session.commit()
    return _submission_response(submission_id)


@bp.post("/submissions/<int:submission_id>/actions")
@login_required
@spec.validate(
    json=ActionRequest,
    resp=answers(Submission, 400, 401, 403, 404, 409, 422, also={201: Submission}),
    tags=["approvals"],
)
def submission_action(submission_id: int):  # type: ignore[no-untyped-def]
    """Approve, reject, return, delegate, transfer, withdraw, comment, add signers or copy,
    at `version`; `amend` answers 201 with the new draft revision of an approved submission."""
    body = _body()
    result = engine.act(
        current_user,
        submission_id,
        body.get("action"),
        version=body.get("version"),
        comment=body.get("comment"),
        to=body.get("to"),
        data=body.get("data"),
        position=body.get("position"),
        mode=body.get("mode"),
        step=body.get("step"),
        again=body.get("again"),
    )
    from ..extensions import db

    db.session.commit()
    if result.id != submission_id:  # amend: the new revision
        return _submission_response(result.id), 201
    return _submission_response(submission_id)


def history_json(event: ApprovalEvent, loaded: Any = None) -> dict[str, Any]:
    """One history item; an approver's edit lists its changes as the caller may see them
    (hidden fields left out, masked ones masked)."""
    details = event.details
    if loaded is not None and isinstance(details, dict) and "changes" in details:
        details = {
            **details,
            "changes": form_values.changes_for_viewer(
                loaded.template, details["changes"], loaded.access
            ),
        }
    return {
        "step": event.step_key,
        "actor": event.actor.username if event.actor else None,
        "on_behalf_of": event.on_behalf_of.username if event.on_behalf_of else None,
        "action": event.action,
        "comment": event.comment,
        "at": iso(event.at),
        "round": event.round,
        "details": details,
    }


@bp.get("/submissions/<int:submission_id>/history")
@login_required
@spec.validate(query=PageQuery, resp=answers(HistoryList, 400, 401, 404), tags=["approvals"])
def submission_history(submission_id: int):  # type: ignore[no-untyped-def]
    """Every step, actor, action, comment and time, oldest first."""
    loaded = forms_service.load(current_user, submission_id)
    page, per_page = parse_page_args(request.args, default_per_page=100)
    result = paginate(engine.history_query(loaded.submission), page, per_page)
    return jsonify(result.as_dict(lambda event: history_json(event, loaded)))


def inbox_json(task: ApprovalTask, locale: str) -> dict[str, Any]:
    submission = task.submission
    template = engine.template_of(submission)
    return {
        "task_id": task.id,
        "submission_id": submission.id,
        "form": submission.template.key,
        "step": task.step_key,
        "since": iso(task.created_at),
        "due": iso(task.due_at),
        "summary": {
            "submitter": submission.submitter.username,
            "department": submission.department.code,
            "total": str(submission.total) if submission.total is not None else None,
        },
        "number": submission.number,
        "version": submission.version,
        "step_name": engine.step_name(template, task.step_key, locale),
        "on_behalf_of": task.on_behalf_of.username if task.on_behalf_of else None,
        "checks_passed": bool((task.checks or {}).get("passed", True)),
    }


INBOX_API_SORTS = {
    "-since": "-since",
    "since": "since",
    "-total": "-total",
    "total": "total",
    "due": "due",
}


@bp.get("/inbox")
@login_required
@spec.validate(query=InboxQuery, resp=answers(InboxList, 400, 401, 422), tags=["approvals"])
@answer_cache.kept
def inbox():  # type: ignore[no-untyped-def]
    """Tasks waiting for me, including those delegated to me."""
    sort = request.args.get("sort", "-since")
    page, per_page = parse_page_args(request.args)
    stmt = engine.inbox_query(current_user, engine.local_day(engine.utcnow()), sort)
    locale = _locale()
    body = paginate(stmt, page, per_page).as_dict(lambda t: inbox_json(t, locale))
    body["also_waiting"] = also_waiting(current_user)
    return jsonify(body)


def also_waiting(user: Any) -> dict[str, Any]:
    """Budgets the user is asked to fill in and access-review items waiting for them."""
    from ..budgeting import service as budgeting
    from ..reviews import service as reviews

    budgets = [
        {
            "round_id": e.round_id,
            "fiscal_year": e.round.fiscal_year,
            "department": e.department.code,
            "deadline": e.round.deadline.isoformat(),
            "status": budgeting.entry_status(e),
            "submission_id": e.submission_id,
            "url": url_for("budgeting.entry_page", round_id=e.round_id, code=e.department.code),
        }
        for e in budgeting.open_tasks(user)
    ]
    items = [
        {
            "item_id": i.id,
            "campaign_id": i.campaign_id,
            "campaign": i.campaign.title,
            "grantee": i.grantee.username,
            "role": i.role.key,
            "department": i.grant.department.code if i.grant.department else None,
            "due": i.campaign.due_date.isoformat(),
            "url": url_for("reviews.campaign_page", campaign_id=i.campaign_id),
        }
        for i in reviews.open_items(user)
    ]
    return {"budgets": budgets, "access_reviews": items}
