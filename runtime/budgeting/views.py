"""Budget round pages: the rounds, a round's consolidation, one department's part, the
year's budget with its adjustments. Each handler: load (404) → access → parse → service."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from .. import access
from ..approvals import engine
from ..errors import Forbidden, NotFound, QuireError
from ..extensions import db
from ..models import Department, utcnow
from . import lines as budget_lines
from . import service, workbook

bp = Blueprint("budgeting", __name__, url_prefix="/budget")

_LINE_COMMENT = re.compile(r"^line_(\d{1,3})$")

STATUS_LABELS = service.STATUS_LABELS


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def status_label(status: str) -> str:
    zh, en = STATUS_LABELS[status]
    return en if _locale().startswith("en") else zh


@bp.app_context_processor
def _budget_context() -> dict[str, Any]:
    def budget_fill_tasks() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return service.open_tasks(current_user)

    return {
        "budget_fill_tasks": budget_fill_tasks,
        "budget_status_label": status_label,
        "budget_status_of": service.entry_status,
    }


def _flash_error(exc: QuireError) -> None:
    flash(exc.message, "error")
    for detail in exc.details:
        flash(f"{detail.path}: {detail.message}", "error")


@bp.get("/rounds")
@login_required
def rounds():  # type: ignore[no-untyped-def]
    today = engine.local_day(utcnow())
    may_open = access.may_manage_budgets(current_user)
    departments = list(db.session.scalars(select(Department).order_by(Department.path)))
    return render_template(
        "budgeting/rounds.html",
        rounds=service.rounds_for(current_user),
        may_open=may_open,
        departments=departments,
        default_year=today.year + 1,
        default_deadline=(today + timedelta(days=14)).isoformat(),
    )


@bp.post("/rounds")
@login_required
def open_round():  # type: ignore[no-untyped-def]
    if not access.may_manage_budgets(current_user):
        raise Forbidden()
    now = utcnow()
    raw = {k: request.form.get(k) for k in request.form if k != "reference"}
    raw["reference"] = request.form.getlist("reference")
    try:
        parsed = service.parse_request(raw, engine.local_day(now))
        round = service.open_round(current_user, parsed, now=now)
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
        return redirect(url_for("budgeting.rounds"))
    flash(_("The round is open; every department has its task."), "success")
    return redirect(url_for("budgeting.round_page", round_id=round.id))


@bp.get("/rounds/<int:round_id>")
@login_required
def round_page(round_id: int):  # type: ignore[no-untyped-def]
    round = service.load_round(current_user, round_id)
    return render_template(
        "budgeting/round.html",
        round=round,
        view=service.consolidate(current_user, round),
        may_manage=access.may_manage_budgets(current_user, round),
        quarters=("Q1", "Q2", "Q3", "Q4"),
    )


@bp.get("/rounds/<int:round_id>/export.xlsx")
@login_required
def export_round(round_id: int):  # type: ignore[no-untyped-def]
    round = service.load_round(current_user, round_id)
    data = workbook.round_workbook(service.consolidate(current_user, round), _locale())
    filename = f"budget-{round.fiscal_year}-round-{round.id}.xlsx"
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/rounds/<int:round_id>/close")
@login_required
def close_round(round_id: int):  # type: ignore[no-untyped-def]
    round = service.load_round(current_user, round_id)
    try:
        service.close_round(current_user, round, now=utcnow())
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(_("The round is closed: its budgets are the year's budget now."), "success")
    return redirect(url_for("budgeting.round_page", round_id=round_id))


def _entry_page(entry: Any, status_code: int = 200):  # type: ignore[no-untyped-def]
    submission = entry.submission
    editing = budget_lines.lines_for(current_user, entry)
    return render_template(
        "budgeting/entry.html",
        entry=entry,
        round=entry.round,
        status=service.entry_status(entry),
        lines=service.quarter_lines(submission),
        editing=editing,
        may_edit_some=any(line.editable for line in editing),
        may_add_line=access.may_edit_budget_line(current_user, entry, None),
        closed=budget_lines.closed_quarters(entry.round, engine.local_day(utcnow())),
        feedback=service.feedback(entry),
        may_fill=access.may_fill_round_entry(current_user, entry),
        may_manage=access.may_manage_budgets(current_user, entry),
        accounts=ACCOUNTS,
    ), status_code


#: The department budget's accounts, as the line editor offers them for a new line.
ACCOUNTS = ("travel", "meals", "office", "training", "other")


@bp.get("/rounds/<int:round_id>/departments/<code>")
@login_required
def entry_page(round_id: int, code: str):  # type: ignore[no-untyped-def]
    return _entry_page(service.load_entry(current_user, round_id, code))


@bp.post("/rounds/<int:round_id>/departments/<code>/lines")
@bp.post("/rounds/<int:round_id>/departments/<code>/lines/<int:number>")
@login_required
def save_line(round_id: int, code: str, number: int | None = None):  # type: ignore[no-untyped-def]
    """One line saved into the budget as it is now; a save that met another one at the same
    moment is merged again onto the budget that other one left (it is refused only when it
    was the same line)."""
    values = {k: request.form.get(k) for k in ("account", "cost_center", *budget_lines.QUARTERS)}
    values = {k: v for k, v in values.items() if v is not None}
    for _attempt in range(3):
        entry = service.load_entry(current_user, round_id, code)
        try:
            budget_lines.save_line(
                current_user,
                entry,
                number=number,
                base=request.form.get("base"),
                values=values,
                now=utcnow(),
            )
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            continue
        except QuireError as exc:
            db.session.rollback()
            flash(_(exc.message), "error")
            for detail in exc.details:
                flash(f"{detail.path}: {detail.message}", "error")
            return _entry_page(service.load_entry(current_user, round_id, code), exc.status)
        flash(_("Line saved."), "success")
        return redirect(url_for("budgeting.entry_page", round_id=round_id, code=code))
    flash(
        _("Someone else changed this line after you opened it; reload to see their figures."),
        "error",
    )
    return _entry_page(service.load_entry(current_user, round_id, code), 409)


@bp.post("/rounds/<int:round_id>/departments/<code>/start")
@login_required
def start(round_id: int, code: str):  # type: ignore[no-untyped-def]
    entry = service.load_entry(current_user, round_id, code)
    try:
        submission = service.start(current_user, entry, now=utcnow())
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
        return redirect(url_for("budgeting.entry_page", round_id=round_id, code=code))
    if access.may_edit_submission(current_user, submission):
        return redirect(url_for("forms.edit", submission_id=submission.id))
    return redirect(url_for("forms.view", submission_id=submission.id))


@bp.post("/rounds/<int:round_id>/departments/<code>/return")
@login_required
def return_entry(round_id: int, code: str):  # type: ignore[no-untyped-def]
    entry = service.load_entry(current_user, round_id, code)
    line_comments = {}
    for key, value in request.form.items():
        found = _LINE_COMMENT.match(key)
        if found:
            line_comments[int(found.group(1))] = value
    try:
        service.return_with_feedback(
            current_user,
            entry,
            version=request.form.get("version"),
            comment=request.form.get("comment"),
            line_comments=line_comments,
            now=utcnow(),
        )
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(_("Returned to the department with your comments."), "success")
    return redirect(url_for("budgeting.entry_page", round_id=round_id, code=code))


def _department(code: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None or not access.may_see_budget(current_user, department):
        raise NotFound("No such department, or it is outside your scope.")
    return department


@bp.get("/years/<int:year>/<code>")
@login_required
def year_page(year: int, code: str):  # type: ignore[no-untyped-def]
    department = _department(code)
    return render_template(
        "budgeting/year.html", view=service.year_budget(department, year), year=year
    )


@bp.post("/years/<int:year>/<code>/adjust")
@login_required
def adjust(year: int, code: str):  # type: ignore[no-untyped-def]
    department = _department(code)
    try:
        submission = service.start_adjustment(current_user, department, year, now=utcnow())
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        _flash_error(exc)
        return redirect(url_for("budgeting.year_page", year=year, code=code))
    return redirect(url_for("forms.edit", submission_id=submission.id))
