"""The auditor's pages: the operation log and who can see what.

Each handler: authorize through :mod:`quire.runtime.access` (403) → parse the filters (400
naming the one at fault) → read through the services → render or export (audited).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..access import Permission as P
from ..audit import verify_chain
from ..audit_query import FILTERS, PERMISSION_CATEGORY, audit_query
from ..audit_words import Vocabulary, known_actions, known_object_types
from ..errors import BadRequest, Detail
from ..extensions import db
from ..pagination import paginate, parse_page_args
from ..render.csv import write_report_csv
from ..render.document import ReportDocument
from ..render.excel import write_report_xlsx
from . import log

bp = Blueprint("oversight", __name__, url_prefix="/admin")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
PER_PAGE_CHOICES = (25, 50, 100, 200)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _words() -> Vocabulary:
    return Vocabulary(_locale(), current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def _local_now() -> datetime:
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    return datetime.now(UTC).astimezone(zone)


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip() for k in FILTERS}


def _query(filters: Mapping[str, str]):  # type: ignore[no-untyped-def]
    try:
        return audit_query(filters, current_user)
    except ValueError as exc:
        raise BadRequest(
            _("Please check the filter."), [Detail(str(exc.args[0]), str(exc.args[1]))]
        ) from exc


def download(document: ReportDocument, fmt: str, stem: str) -> Response:
    """A document as an Excel or CSV file (formula-like text neutralised by the renderers)."""
    out = io.BytesIO()
    if fmt == "csv":
        write_report_csv(document, out)
        mimetype = CSV
    else:
        write_report_xlsx(document, out)
        mimetype = XLSX
    out.seek(0)
    response = send_file(out, mimetype=mimetype, as_attachment=True, download_name=f"{stem}.{fmt}")
    response.headers["Cache-Control"] = "no-store"
    return response


def export_format() -> str:
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise BadRequest(_("Please check the filter."), [Detail("format", "must be xlsx or csv")])
    return fmt


# --- the operation log -----------------------------------------------------------------------
@bp.get("/audit")
@login_required
def audit_log():  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.AUDIT_READ)
    page, per_page = parse_page_args(request.args)
    filters = _filters()
    result = paginate(_query(filters), page, per_page)
    words = _words()
    return render_template(
        "oversight/audit_log.html",
        page=result,
        events=log.views_of(current_user, result.items, words),
        filters=filters,
        per_page=per_page,
        per_page_choices=PER_PAGE_CHOICES,
        actions=known_actions(words.locale),
        object_types=known_object_types(words.locale),
        permission_category=PERMISSION_CATEGORY,
        export_args={k: v for k, v in filters.items() if v},
    )


@bp.get("/audit/export")
@login_required
def audit_export():  # type: ignore[no-untyped-def]
    access.authorize(current_user, P.AUDIT_READ)
    fmt = export_format()
    filters = _filters()
    _query(filters)  # a bad filter is a 400 before anything is written
    words = _words()
    shown = tuple((k, v) for k, v in filters.items() if v)
    document = log.log_document(
        current_user,
        filters,
        words,
        company=current_app.config.get("COMPANY_NAME", "Quire"),
        now=_local_now(),
        filters=shown,
    )
    response = download(document, fmt, f"audit-log-{_local_now():%Y%m%d-%H%M}")
    log.record_export(current_user, fmt, dict(shown))
    db.session.commit()
    return response


@bp.get("/audit/chain")
@login_required
def audit_chain():  # type: ignore[no-untyped-def]
    """The state of the hash chain (what `quire audit verify` says), as a page fragment."""
    access.authorize(current_user, P.AUDIT_READ)
    report = verify_chain()
    reasons = {
        "event missing (gap in sequence)": _("an event is missing (gap in the sequence)"),
        "does not link to the previous event": _("it does not link to the previous event"),
        "content changed after it was written": _("its content changed after it was written"),
        "events after this one were removed": _("events after it were removed"),
    }
    reason = reasons.get(report.reason or "", report.reason or "")
    return render_template("oversight/_chain.html", report=report, reason_words=reason)
