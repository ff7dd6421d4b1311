"""Access review pages: the campaigns, one campaign's progress and results, deciding an
item (from the campaign page or the inbox), the evidence exports, and grant hygiene.
Each handler: load (404) → access (403) → parse → service → commit."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import Forbidden, QuireError
from ..extensions import db
from ..models import Department, utcnow
from ..render.excel import write_report_xlsx
from ..render.pdf_report import write_report_pdf
from . import evidence, hygiene, service

bp = Blueprint("reviews", __name__, url_prefix="/access-reviews")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _pair(pair: tuple[str, str]) -> str:
    return pair[1] if _locale().startswith("en") else pair[0]


def _local(value: Any) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


@bp.app_context_processor
def _review_context() -> dict[str, Any]:
    def review_tasks() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return service.open_items(current_user)

    return {
        "review_tasks": review_tasks,
        "review_decision_label": lambda d: _pair(service.DECISION_LABELS[d]) if d else "",
        "review_scope_label": lambda k: _pair(service.SCOPE_LABELS[k]),
        "grant_scope_text": lambda s: evidence.scope_text(s or {}, _locale().startswith("en")),
        "may_follow_reviews": lambda: (
            current_user.is_authenticated
            and (access.may_run_some_review(current_user) or bool(service.open_items(current_user)))
        ),
    }


def _flash_error(exc: QuireError) -> None:
    flash(_(exc.message), "error")
    for detail in exc.details:
        flash(f"{detail.path}: {_(detail.message)}", "error")


def _back(default: str) -> Any:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return redirect(target, code=303)
    return redirect(default, code=303)


@bp.get("")
@login_required
def campaigns():  # type: ignore[no-untyped-def]
    today = service.local_day(utcnow())
    return render_template(
        "reviews/campaigns.html",
        campaigns=service.campaigns_for(current_user),
        may_start=access.may_run_some_review(current_user),
        departments=list(db.session.scalars(select(Department).order_by(Department.path))),
        default_due=(today + timedelta(days=14)).isoformat(),
        today=today,
    )


@bp.post("")
@login_required
def start():  # type: ignore[no-untyped-def]
    if not access.may_run_some_review(current_user):
        raise Forbidden()
    now = utcnow()
    try:
        parsed = service.parse_request(request.form, service.local_day(now))
        campaign = service.start_campaign(current_user, parsed, now=now)
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
        return redirect(url_for("reviews.campaigns"), code=303)
    flash(
        _("The access review has started: %(n)s grants to review.", n=len(campaign.items)),
        "success",
    )
    return redirect(url_for("reviews.campaign_page", campaign_id=campaign.id), code=303)


@bp.get("/<int:campaign_id>")
@login_required
def campaign_page(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = service.load_campaign(current_user, campaign_id)
    items = service.visible_items(current_user, campaign)
    today = service.local_day(utcnow())
    return render_template(
        "reviews/campaign.html",
        campaign=campaign,
        items=items,
        progress=service.progress(campaign, items, today),
        counts=service.outcome_counts(items),
        may_manage=access.may_manage_campaign(current_user, campaign),
        may_decide=lambda item: access.may_decide_review_item(current_user, item),
        overdue=service.overdue(campaign, today),
        today=today,
    )


@bp.post("/items/<int:item_id>/decision")
@login_required
def decide(item_id: int):  # type: ignore[no-untyped-def]
    item = service.load_item(current_user, item_id)
    now = utcnow()
    try:
        parsed = service.parse_decision(request.form, service.local_day(now))
        service.decide(current_user, item, parsed, now=now)
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(
            _(
                "%(user)s · %(role)s: %(decision)s",
                user=item.grantee.display_name,
                role=item.role.name(_locale()),
                decision=_pair(service.DECISION_LABELS[item.decision]),
            ),
            "success",
        )
    return _back(url_for("reviews.campaign_page", campaign_id=item.campaign_id))


@bp.post("/<int:campaign_id>/close")
@login_required
def close(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = service.load_campaign(current_user, campaign_id)
    try:
        service.close_campaign(current_user, campaign, now=utcnow())
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
    return redirect(url_for("reviews.campaign_page", campaign_id=campaign.id), code=303)


def _evidence(campaign_id: int) -> Any:
    campaign = service.load_campaign(current_user, campaign_id)
    if not access.may_manage_campaign(current_user, campaign):
        raise Forbidden()
    items = service.visible_items(current_user, campaign)
    return campaign, evidence.document(
        campaign,
        items,
        locale=_locale(),
        company=current_app.config.get("COMPANY_NAME", "Quire"),
        generated_at=utcnow(),
        generated_by=current_user.username,
        local=_local,
    )


@bp.get("/<int:campaign_id>/evidence.xlsx")
@login_required
def evidence_xlsx(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign, document = _evidence(campaign_id)
    out = io.BytesIO()
    write_report_xlsx(document, out)
    return _download(out.getvalue(), XLSX, f"access-review-{campaign.id}.xlsx")


@bp.get("/<int:campaign_id>/evidence.pdf")
@login_required
def evidence_pdf(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign, document = _evidence(campaign_id)
    out = io.BytesIO()
    write_report_pdf(document, out, font_dir=current_app.config.get("FONT_DIR"))
    return _download(out.getvalue(), "application/pdf", f"access-review-{campaign.id}.pdf")


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    from .. import audit

    audit.record(
        current_user,
        "access_review.export",
        object_type="access_review",
        object_id=filename.split("-")[-1].split(".")[0],
        changes={"file": filename},
    )
    db.session.commit()
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/hygiene")
@login_required
def hygiene_page():  # type: ignore[no-untyped-def]
    if not access.may_see_grant_hygiene(current_user):
        raise Forbidden()
    now = utcnow()
    days = hygiene.thresholds(current_app.config)
    return render_template(
        "reviews/hygiene.html",
        dormant=hygiene.dormant_accounts(current_user, now, days.dormant_days),
        unused=hygiene.unused_grants(current_user, now, days.unused_days),
        days=days,
    )


@bp.after_app_request
def _stamp_grant_use(response: Response) -> Response:
    """Grants that allowed something in this request are stamped used (one UPDATE, at most
    once a day per grant); a failure here never fails the request."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        if access.record_grant_use():
            db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
    return response
