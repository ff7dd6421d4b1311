"""The auditor's pages: the operation log and who can see what.

Each handler: authorize through :mod:`quire.runtime.access` (403) → parse the filters (400
naming the one at fault) → read through the services → render or export (audited).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from quire.widgets.base import localized

from .. import access, audit, clock, org
from ..access import Permission as P
from ..audit import verify_chain
from ..audit_query import FILTERS, PERMISSION_CATEGORY, audit_query
from ..audit_words import Vocabulary, known_actions, known_object_types
from ..errors import BadRequest, Detail, Forbidden, NotFound
from ..extensions import db
from ..models import Department, User, UserStatus
from ..pagination import paginate, parse_page_args
from ..render.csv import write_report_csv
from ..render.document import Column, ReportDocument
from ..render.excel import write_report_xlsx
from . import log, visibility

bp = Blueprint("oversight", __name__, url_prefix="/admin")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"source_text": source_text}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
PER_PAGE_CHOICES = (25, 50, 100, 200)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _words() -> Vocabulary:
    return Vocabulary(_locale(), clock.zone().key)


_local_now = clock.local_now


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


# --- who can see what ------------------------------------------------------------------------
def _require_inspector() -> None:
    if not access.may_inspect_access(current_user):
        raise Forbidden()


def _departments() -> list[Department]:
    where = access.inspectable_departments(current_user)
    stmt = select(Department).where(where, Department.active.is_(True)).order_by(Department.path)
    return list(db.session.scalars(stmt))


def _people() -> list[User]:
    stmt = (
        select(User)
        .where(access.inspectable_people(current_user), User.status != UserStatus.LEFT)
        .order_by(User.username)
    )
    return list(db.session.scalars(stmt))


def _yes(value: bool) -> str:
    return _("yes") if value else ""


@bp.get("/access")
@login_required
def access_index():  # type: ignore[no-untyped-def]
    _require_inspector()
    locale = _locale()
    return render_template(
        "oversight/access_index.html",
        people=_people(),
        departments=_departments(),
        forms=visibility.published_templates("form"),
        reports=visibility.published_templates("report"),
        locale=locale,
    )


@bp.get("/access/user")
@login_required
def access_user():  # type: ignore[no-untyped-def]
    _require_inspector()
    username = request.args.get("username", "").strip()
    if not username:
        raise BadRequest(_("Please choose a person."), [Detail("username", "is required")])
    person = org.user_by_username(username)
    if not access.may_inspect(current_user, person):
        raise NotFound()
    words = _words()
    rows = visibility.rights_of(person, words)
    if request.args.get("format"):
        fmt = export_format()
        document = _table_document(
            {"zh": f"权限明细 {person.username}", "en": f"Rights of {person.username}"},
            RIGHT_COLUMNS,
            [_right_cells(r, words) for r in rows],
            (("用户 User", f"{person.username} {person.display_name}"),),
        )
        response = download(document, fmt, f"rights-{person.username}-{_local_now():%Y%m%d}")
        _record_access_export(fmt, {"user": person.username})
        return response
    return render_template(
        "oversight/access_user.html",
        person=person,
        rows=rows,
        people=_people(),
        words=words,
    )


@bp.get("/access/object")
@login_required
def access_object():  # type: ignore[no-untyped-def]
    _require_inspector()
    key = request.args.get("template", "").strip()
    if not key:
        raise BadRequest(_("Please choose a form or report."), [Detail("template", "is required")])
    record, template = visibility.published(key)
    departments = _departments()
    code = request.args.get("department", "").strip()
    if code:
        department = org.department_by_code(code)
        if not access.may_inspect(current_user, department):
            raise NotFound()
    else:
        own = [d for d in departments if d.id == current_user.department_id]
        department = (own or departments or [None])[0]
        if department is None:
            raise NotFound()
    locale = _locale()
    field_key = request.args.get("field", "").strip() or None
    fields = visibility.field_choices(template, locale) if record.kind == "form" else []
    if field_key is not None and field_key not in dict(fields):
        raise BadRequest(_("Please check the filter."), [Detail("field", "unknown field")])
    if record.kind == "form":
        rows = visibility.form_audience(template, department, locale, field_key=field_key)
    else:
        rows = visibility.report_audience(department)
    title = localized(template.title, locale)
    if request.args.get("format"):
        fmt = export_format()
        shown = [
            ("模板 Template", f"{key} {title}"),
            ("部门 Department", f"{department.code} {department.name(locale)}"),
        ]
        if field_key:
            shown.append(("字段 Field", dict(fields)[field_key]))
        document = _table_document(
            {"zh": f"谁能看到什么 {key}", "en": f"Who can see what: {key}"},
            AUDIENCE_COLUMNS,
            [_audience_cells(r, locale) for r in rows],
            tuple(shown),
        )
        response = download(document, fmt, f"who-can-see-{key}-{department.code}")
        _record_access_export(
            fmt, {"template": key, "department": department.code, "field": field_key}
        )
        return response
    return render_template(
        "oversight/access_object.html",
        record=record,
        title=title,
        department=department,
        departments=departments,
        fields=fields,
        field_key=field_key,
        field_label=dict(fields).get(field_key or ""),
        rows=rows,
        level_words=lambda level: visibility.level_words(level, locale),
        locale=locale,
    )


RIGHT_COLUMNS = (
    Column("permission", {"zh": "权限", "en": "Permission"}, "text", width=20),
    Column("code", {"zh": "权限代码", "en": "Code"}, "text", width=18),
    Column("scope", {"zh": "范围", "en": "Scope"}, "text", width=30),
    Column("counts", {"zh": "是否生效", "en": "In effect"}, "text", width=10),
    Column("source", {"zh": "来源", "en": "Comes from"}, "text", width=40),
    Column("granted_by", {"zh": "授予人", "en": "Granted by"}, "text", width=12),
    Column("valid_until", {"zh": "有效期至", "en": "Valid until"}, "text", width=17),
)
AUDIENCE_COLUMNS = (
    Column("user", {"zh": "用户", "en": "User"}, "text", width=12),
    Column("name", {"zh": "姓名", "en": "Name"}, "text", width=16),
    Column("department", {"zh": "部门", "en": "Department"}, "text", width=10),
    Column("fill", {"zh": "填报", "en": "Fills in"}, "text", width=8),
    Column("read", {"zh": "查看", "en": "Reads"}, "text", width=8),
    Column("approve", {"zh": "审批步骤", "en": "Approves"}, "text", width=24),
    Column("export", {"zh": "导出", "en": "Exports"}, "text", width=8),
    Column("fields", {"zh": "字段", "en": "Fields"}, "text", width=40),
)


def source_text(row: visibility.RightRow) -> str:
    """Where a right comes from, in a sentence fragment."""
    if row.source == "delegation":
        return _("delegation: decides %(name)s's approvals", name=row.acting_for)
    text = _("role %(role)s via grant #%(id)s", role=row.role, id=row.grant_id)
    if row.request:
        return text + " · " + _("access request %(number)s", number=row.request)
    return text + " · " + _("granted without request")


def _right_cells(row: visibility.RightRow, words: Vocabulary) -> dict[str, str]:
    return {
        "permission": row.permission_words,
        "code": row.permission,
        "scope": row.scope,
        "counts": _("yes") if row.counts else _("no: needs an organisation-wide grant"),
        "source": source_text(row),
        "granted_by": row.granted_by,
        "valid_until": words.when(row.valid_until.isoformat()) if row.valid_until else "",
    }


def _audience_cells(row: visibility.AudienceRow, locale: str) -> dict[str, str]:
    return {
        "user": row.user.username,
        "name": row.user.display_name,
        "department": row.user.department.code,
        "fill": _yes(row.fill),
        "read": _yes(row.read),
        "approve": ", ".join(row.steps),
        "export": _yes(row.export),
        "fields": "; ".join(
            f"{context}: {visibility.level_words(level, locale)}" for context, level in row.fields
        ),
    }


def _table_document(
    title: dict[str, str],
    columns: tuple[Column, ...],
    rows: list[dict[str, str]],
    parameters: tuple[tuple[str, str], ...],
) -> ReportDocument:
    return ReportDocument(
        title=title,
        company=current_app.config.get("COMPANY_NAME", "Quire"),
        columns=columns,
        rows=rows,
        generated_at=_local_now(),
        generated_by=current_user.display_name or current_user.username,
        template_key="who-can-see-what",
        template_version=1,
        locale="en" if _locale().startswith("en") else "zh_CN",
        orientation="landscape",
        parameters=parameters,
        sheet_name="谁能看到什么 Who can see what",
    )


def _record_access_export(fmt: str, about: dict[str, Any]) -> None:
    audit.record(
        current_user,
        "access.export",
        object_type="audit",
        changes={"format": fmt, "filters": {k: v for k, v in about.items() if v}},
    )
    db.session.commit()
