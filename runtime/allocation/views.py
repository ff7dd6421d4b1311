"""Cost allocation pages: the rules, a new rule, one rule with its runs, running a month.
Finance administrators only (``budget.manage``); the shares are read in reports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import Forbidden, QuireError
from ..extensions import db
from ..models import AllocationRule, Department, utcnow
from . import service

bp = Blueprint("allocation", __name__, url_prefix="/allocation")

DRIVER_LABELS = {
    "fixed": ("固定比例", "Fixed percentages"),
    "headcount": ("人数", "Headcount"),
    "measure": ("数据源指标（如面积）", "A measure from a data source (e.g. m²)"),
    "form_shares": ("分摊单上的比例", "The form's own percentages"),
}


@bp.app_context_processor
def _allocation_context() -> dict[str, Any]:
    from flask_babel import get_locale

    def driver_label(driver: str) -> str:
        zh, en = DRIVER_LABELS.get(driver, (driver, driver))
        return en if str(get_locale() or "zh_CN").startswith("en") else zh

    return {"driver_label": driver_label}


def _require_manager() -> None:
    if not access.may_manage_budgets(current_user):
        raise Forbidden("Only finance administrators keep allocation rules.")


def _flash_error(exc: QuireError) -> None:
    flash(exc.message, "error")
    for detail in exc.details:
        flash(f"{detail.path}: {detail.message}", "error")


@bp.get("/rules")
@login_required
def rules():  # type: ignore[no-untyped-def]
    _require_manager()
    return render_template(
        "allocation/rules.html",
        rules=list(db.session.scalars(select(AllocationRule).order_by(AllocationRule.key))),
        departments=list(db.session.scalars(select(Department).order_by(Department.path))),
        drivers=service.DRIVERS,
    )


@bp.post("/rules")
@login_required
def create_rule():  # type: ignore[no-untyped-def]
    _require_manager()
    raw: dict[str, Any] = {k: request.form.get(k) for k in request.form if k != "receivers"}
    raw["receivers"] = request.form.getlist("receivers")
    try:
        rule = service.save_rule(current_user, raw)
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
        return redirect(url_for("allocation.rules"))
    return redirect(url_for("allocation.rule_page", rule_id=rule.id))


@bp.get("/rules/<int:rule_id>")
@login_required
def rule_page(rule_id: int):  # type: ignore[no-untyped-def]
    _require_manager()
    rule = service.rule_by_id(rule_id)
    from ..approvals.routing import local_today

    return render_template(
        "allocation/rule.html",
        rule=rule,
        runs=service.runs_of(rule),
        default_month=f"{local_today():%Y-%m}",
    )


@bp.post("/rules/<int:rule_id>/run")
@login_required
def run(rule_id: int):  # type: ignore[no-untyped-def]
    _require_manager()
    rule = service.rule_by_id(rule_id)
    try:
        period = service.parse_month(request.form.get("month"))
        done = service.run(current_user, rule, period, now=utcnow())
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(
            _(
                "%(month)s allocated: %(amount)s in %(n)s shares.",
                month=f"{done.period:%Y-%m}",
                amount=f"{done.source_amount:,.2f}",
                n=sum(1 for line in done.lines if line.kind == "in"),
            ),
            "success",
        )
    return redirect(url_for("allocation.rule_page", rule_id=rule_id))
