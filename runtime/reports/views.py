"""Report and dashboard pages: parse the query, ask the engine, render.

Charts travel as Vega-Lite JSON in ``<script type="application/json">`` data blocks that
``static/js/reports.js`` hands to vega-embed (with the expression interpreter, so the
strict CSP needs no ``unsafe-eval``).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import SubmissionStatus
from ..numbers import parse_int
from ..pagination import page_of, parse_page_args
from ..render.values import display_text
from . import dashboard as dashboard_service
from . import engine, export, subscriptions
from .links import web_link

bp = Blueprint("reports", __name__)


def _locale() -> str:
    """``zh_CN`` or ``en`` (Babel may say ``zh_Hans_CN``)."""
    return "en" if str(get_locale() or "zh_CN").startswith("en") else "zh_CN"


@bp.get("/reports")
@login_required
def index():  # type: ignore[no-untyped-def]
    engine.require_reader(current_user)
    locale = _locale()
    reports = [engine.definition(r.key) for r in engine.report_templates()]
    return render_template(
        "reports/index.html",
        reports=reports,
        locale=locale,
        subscriptions=subscriptions.subscriptions_of(current_user),
        titles={r.key: r.title(locale) for r in reports},
        weekdays=WEEKDAYS,
    )


#: ISO weekday (1 = Monday) → its name, for weekly schedules.
WEEKDAYS = {
    1: _l("Monday"),
    2: _l("Tuesday"),
    3: _l("Wednesday"),
    4: _l("Thursday"),
    5: _l("Friday"),
    6: _l("Saturday"),
    7: _l("Sunday"),
}


def _parameter_form(report: engine.ReportDefinition, locale: str) -> list[dict[str, Any]]:
    """What the parameter bar shows: each input with its choices."""
    fields = []
    for p in report.template.parameters:
        choices: list[tuple[str, str]] | None = None
        if p.type == "department":
            choices = [
                (d.code, f"{d.code} {d.name(locale)}")
                for d in engine.departments_in_scope(current_user)
            ]
        elif p.type == "status":
            choices = [(s.value, _(s.value)) for s in SubmissionStatus]
        elif p.type == "month":
            choices = [(str(m), str(m)) for m in range(1, 13)]
        elif p.options:
            choices = [(o.value, o.label.text(locale)) for o in p.options]
        fields.append({"spec": p, "label": p.label.text(locale), "choices": choices})
    return fields


#: Rows on one page of a report (the expense ledger runs to thousands of lines).
PER_PAGE = 100
PAGING_KEYS = frozenset(("page", "per_page"))


@bp.get("/reports/<key>")
@login_required
def view(key: str):  # type: ignore[no-untyped-def]
    report = engine.definition(key)
    engine.require_reader(current_user)
    locale = _locale()
    number, per_page = parse_page_args(request.args, PER_PAGE)
    params = {k: v for k, v in request.args.to_dict().items() if k not in PAGING_KEYS}
    result, error = None, None
    try:
        result = engine.run(current_user, key, params, locale=locale)
    except Invalid as problem:
        error = problem
    values = result.parameters.raw if result else params
    return render_template(
        "reports/view.html",
        report=report,
        result=result,
        page=page_of(result.rows, number, per_page) if result else None,
        error=error,
        fields=_parameter_form(report, locale),
        values=values,
        query=result.parameters.query() if result else {},
        link=web_link,
        show=show,
        locale=locale,
    ), (422 if error else 200)


def show(value: Any, column: engine.ResultColumn) -> str:
    """A cell as people read it: ``25,000.00``, ``91.5%``."""
    return display_text(value, column.as_render_column())


@bp.get("/reports/<key>/download")
@login_required
def download(key: str):  # type: ignore[no-untyped-def]
    """Export from the page: the file itself, or the progress page of a background job."""
    made = export.export(
        current_user,
        key,
        export.params_of(request.args.to_dict()),
        request.args.get("format", ""),
        locale=_locale(),
    )
    if made.job is not None:
        return redirect(url_for("reports.job", token=made.job.token))
    return file_response(made)


def file_response(made: export.Export):  # type: ignore[no-untyped-def]
    """A finished export as a download; the page and the API answer with the same file."""
    assert made.data is not None
    return send_file(
        io.BytesIO(made.data),
        mimetype=made.mimetype,
        as_attachment=True,
        download_name=made.filename,
    )


@bp.get("/exports/jobs/<token>")
@login_required
def job(token: str):  # type: ignore[no-untyped-def]
    """The progress page; htmx polls it and swaps in the fragment until the job is done."""
    found = export.job_for(current_user, token)
    template = "reports/_job.html" if request.headers.get("HX-Request") else "reports/job.html"
    return render_template(template, job=found)


@bp.get("/dashboard")
@login_required
def dashboard():  # type: ignore[no-untyped-def]
    board = dashboard_service.build(current_user, locale=_locale())
    return render_template("reports/dashboard.html", board=board, link=web_link)


@bp.route("/reports/<key>/subscribe", methods=["GET", "POST"])
@login_required
def subscribe(key: str):  # type: ignore[no-untyped-def]
    report = engine.definition(key)
    engine.require_reader(current_user)
    locale = _locale()
    error = None
    if request.method == "POST":
        form = request.form
        params = {p.key: form.get(p.key, "") for p in report.template.parameters}
        try:
            subscriptions.subscribe(
                current_user,
                key,
                params,
                fmt=form.get("format", "xlsx"),
                frequency=form.get("frequency", "monthly"),
                day=_int(_schedule_day(form), "day"),
                hour=_int(form.get("hour"), "hour"),
                minute=_int(form.get("minute"), "minute"),
            )
            db.session.commit()
            flash(_("Subscribed. The report will arrive in your inbox on schedule."), "success")
            return redirect(url_for("reports.index"))
        except Invalid as problem:
            db.session.rollback()
            error = problem
    return render_template(
        "reports/subscribe.html",
        report=report,
        fields=_parameter_form(report, locale),
        values=request.form if request.method == "POST" else request.args,
        error=error,
        locale=locale,
        weekdays=WEEKDAYS,
    ), (422 if error else 200)


def _schedule_day(form: Any) -> Any:
    """Weekly schedules pick a weekday from a list; monthly ones type the day of the month."""
    if form.get("frequency") == "weekly" and form.get("weekday"):
        return form.get("weekday")
    return form.get("day")


def _int(value: Any, name: str) -> int:
    number = parse_int(value or "0")
    if number is None:
        from ..errors import Detail

        raise Invalid("Please check the schedule.", [Detail(name, "must be a whole number")])
    return number


@bp.post("/reports/subscriptions/<int:subscription_id>/cancel")
@login_required
def unsubscribe(subscription_id: int):  # type: ignore[no-untyped-def]
    try:
        subscriptions.unsubscribe(current_user, subscription_id)
    except NotFound:
        raise
    db.session.commit()
    flash(_("Subscription cancelled."), "success")
    return redirect(url_for("reports.index"))
