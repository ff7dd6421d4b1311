"""The report designer page: data on the left, the report's steps, columns, chart, parameters
and export settings in the middle, a live preview on real data on the right.

It shares the form designer's shell and draft store: every change is an operation
(:mod:`.report_ops`) applied to the draft with its version lock (``drafts.replace``), so
undo, redo, conflict detection, the readable diff, publish and the version history are the
same as for forms. The preview runs the draft in the designer's own REPORT_READ scope, first
rows only, and is fetched again after every change.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from quire.runtime import access
from quire.runtime.access import Permission as P
from quire.runtime.datasources import service as datasource_service
from quire.runtime.errors import Detail, QuireError
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.models import FormTemplate, SubmissionStatus, TemplateVersion, User
from quire.runtime.reports.links import web_link
from quire.runtime.reports.preview import preview as run_preview
from quire.runtime.reports.shapes import source_shape
from quire.runtime.reports.views import _parameter_form, show
from quire.widgets.base import Bilingual

from . import drafts
from .diff import describe_changes
from .model import Template
from .report import ColumnKind
from .report_checks import report_shape
from .report_ops import (
    STEP_TYPES,
    ReportOpError,
    apply_report_ops,
    blank_report,
    new_key,
    parse_report_ops,
    step_fields,
    step_values,
)
from .views import bp

TABS = ("design", "json", "changes", "history")
COLUMN_TYPES: tuple[str, ...] = ColumnKind.__args__  # type: ignore[attr-defined]


def _locale() -> str:
    return "en" if str(get_locale() or "zh_CN").startswith("en") else "zh_CN"


def _record(key: str) -> FormTemplate:
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    record = template_service.template_by_key(key)
    if record.kind != "report":
        raise QuireError("This is not a report.", [])
    return record


def _forms(locale: str) -> list[dict[str, Any]]:
    """Published forms and their tables, for the dataset picker."""
    found = []
    stmt = select(FormTemplate).where(FormTemplate.kind == "form", FormTemplate.latest_version > 0)
    for record in db.session.scalars(stmt.order_by(FormTemplate.key)):
        _, template = template_service.published(record.key)
        tables = [f.key for f in template.fields if hasattr(f, "columns")]
        found.append({"key": record.key, "title": record.title(locale), "tables": tables})
    return found


def _kind_labels() -> dict[str, str]:
    """Column kinds as people read them."""
    return {
        "text": _("Text"),
        "number": _("Number"),
        "money": _("Money"),
        "percent": _("Percent"),
        "date": _("Date"),
        "integer": _("Whole number"),
        "bool": _("Yes/No"),
        "any": _("Known when it runs"),
        "zh": _("Chinese"),
        "en": _("English"),
        "amber": _("Amber from"),
        "red": _("Red from"),
    }


def _issues_at(issues: list[Any], prefix: str) -> list[Any]:
    return [
        i for i in issues if i.path == prefix or i.path.startswith((f"{prefix}.", f"{prefix}["))
    ]


def _context(
    record: FormTemplate,
    state: drafts.DraftState,
    *,
    tab: str,
    message: str | None = None,
    problems: list[Detail] | None = None,
) -> dict[str, Any]:
    locale = _locale()
    document = state.document
    template = Template.model_validate(document)
    source = template.data_sources[0] if template.data_sources else None
    given = source_shape(source) if source is not None else None
    final, _issues = report_shape(template, source_shape)
    issues = state.issues
    changes: list[str] = []
    if record.latest_version:
        published = template_service.version_record(record).document
        changes = describe_changes(published, document, locale)
    steps = [
        {
            "index": index,
            "op": step["op"],
            "label": STEP_TYPES[step["op"]].label.text(locale),  # type: ignore[attr-defined]
            "fields": step_fields(step),
            "issues": _issues_at(issues, f"transforms[{index}]"),
        }
        for index, step in enumerate(document.get("transforms") or [])
    ]
    columns = [
        {"index": i, "spec": c, "issues": _issues_at(issues, f"columns[{i}]")}
        for i, c in enumerate(template.columns)
    ]
    return {
        "record": record,
        "state": state,
        "template": template,
        "tab": tab if tab in TABS else "design",
        "locale": locale,
        "source": source,
        "source_columns": sorted((given.columns if given else {}).items()),
        "source_open": given is None or given.open,
        "final_columns": sorted(final.columns),
        "forms": _forms(locale),
        "datasources": [s.key for s in datasource_service.all_sources()],
        "statuses": [s.value for s in SubmissionStatus],
        "step_types": [(k, m.label.text(locale)) for k, m in STEP_TYPES.items()],  # type: ignore[attr-defined]
        "steps": steps,
        "columns": columns,
        "column_types": COLUMN_TYPES,
        "kind_labels": _kind_labels(),
        "chart": template.charts[0] if template.charts else None,
        "layout": template.report,
        "doc_json": json.dumps(document, ensure_ascii=False, indent=2),
        "issues": issues,
        "chart_issues": _issues_at(issues, "charts"),
        "other_issues": [
            i
            for i in issues
            if i.path.startswith(("report", "parameters", "datasets", "data_sources", "key"))
        ],
        "changes": changes,
        "versions": db.session.scalars(
            select(TemplateVersion)
            .where(TemplateVersion.template_id == record.id)
            .order_by(TemplateVersion.version.desc())
        ).all(),
        "publishers": {
            u.id: u.username
            for u in db.session.scalars(
                select(User).join(TemplateVersion, TemplateVersion.published_by_id == User.id)
            )
        },
        "message": message,
        "problems": problems or [],
    }


def _workspace(record: FormTemplate, **kw: Any):  # type: ignore[no-untyped-def]
    return render_template(
        "designer/_report_workspace.html", **_context(record, drafts.state(record), **kw)
    )


@bp.get("/templates/<key>/report")
@login_required
def report_design(key: str):  # type: ignore[no-untyped-def]
    record = _record(key)
    context = _context(record, drafts.state(record), tab=request.args.get("tab", "design"))
    if request.args.get("fragment"):
        return render_template("designer/_report_workspace.html", **context)
    return render_template("designer/report_design.html", **context)


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


def _bilingual(form: Any, name: str) -> dict[str, str] | None:
    zh, en = _text(form, f"{name}.zh"), _text(form, f"{name}.en")
    if not zh and not en:
        return None
    return {"zh": zh or en, "en": en or zh}


def _lines(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line]
    return {k.strip(): v.strip() for k, v in pairs if k.strip()}


def _index(form: Any) -> int:
    text = _text(form, "index")
    return int(text) if text.isdigit() else -1


def _op_from(form: Any) -> dict[str, Any]:
    """The operation a form of the page sends, from its fields."""
    kind = _text(form, "op")
    if kind == "set_source":
        return {
            "op": kind,
            "kind": _text(form, "kind") or "submissions",
            "form": _text(form, "form") or None,
            "lines": _text(form, "lines") or None,
            "statuses": form.getlist("statuses"),
            "source": _text(form, "source") or None,
        }
    if kind == "add_step":
        return {"op": kind, "type": _text(form, "type")}
    if kind == "set_step":
        return {
            "op": kind,
            "index": _index(form),
            "values": step_values(_text(form, "step_type"), form),
        }
    if kind in ("remove_step", "remove_column"):
        return {"op": kind, "index": _index(form)}
    if kind in ("move_step", "move_column"):
        return {"op": kind, "index": _index(form), "by": -1 if _text(form, "by") == "-1" else 1}
    if kind == "add_column":
        key = _text(form, "key")
        return {
            "op": kind,
            "key": key,
            "label": _bilingual(form, "label"),
            "type": _text(form, "type") or "text",
        }
    if kind == "set_column":
        values: dict[str, Any] = {
            "key": _text(form, "key"),
            "label": _bilingual(form, "label")
            or {"zh": _text(form, "key"), "en": _text(form, "key")},
            "type": _text(form, "type") or "text",
        }
        if _text(form, "formula"):
            values["formula"] = _text(form, "formula")
        if _text(form, "total"):
            values["total"] = _text(form, "total")
        if _text(form, "thresholds.amber") or _text(form, "thresholds.red"):
            values["thresholds"] = {
                "amber": _text(form, "thresholds.amber"),
                "red": _text(form, "thresholds.red") or _text(form, "thresholds.amber"),
            }
        if _text(form, "link.report"):
            values["link"] = {
                "report": _text(form, "link.report"),
                "params": _lines(_text(form, "link.params")),
            }
        return {"op": kind, "index": _index(form), "values": values}
    if kind == "set_chart":
        if form.get("none"):
            return {"op": kind, "values": None}
        chart: dict[str, Any] = {
            "kind": _text(form, "kind") or "bar",
            "category": _text(form, "category"),
            "values": [v.strip() for v in _text(form, "values").split(",") if v.strip()],
            "stacked": bool(form.get("stacked")),
            "rows": _text(form, "rows") or "detail",
        }
        title = _bilingual(form, "title")
        if title:
            chart["title"] = title
        return {"op": kind, "values": chart}
    if kind == "set_layout":
        layout: dict[str, Any] = {
            "totals": bool(form.get("totals")),
            "orientation": _text(form, "orientation") or "landscape",
            "paper": _text(form, "paper") or "A4",
            "subtotals": _text(form, "subtotals") or None,
            "sheet_name": _text(form, "sheet_name") or None,
        }
        if _text(form, "preview_rows").isdigit():
            layout["preview_rows"] = int(_text(form, "preview_rows"))
        return {"op": kind, "values": layout}
    if kind == "set_parameter":
        index = _index(form)
        if form.get("remove"):
            return {"op": kind, "index": index, "values": None}
        parameter: dict[str, Any] = {
            "key": _text(form, "key"),
            "label": _bilingual(form, "label")
            or {"zh": _text(form, "key"), "en": _text(form, "key")},
            "type": _text(form, "type") or "text",
            "required": bool(form.get("required")),
        }
        if _text(form, "default"):
            parameter["default"] = _text(form, "default")
        return {"op": kind, "index": index if index >= 0 else None, "values": parameter}
    if kind == "set_title":
        return {"op": kind, "zh": _text(form, "title.zh"), "en": _text(form, "title.en")}
    return {"op": kind}


@bp.post("/templates/<key>/report/ops")
@login_required
def report_op(key: str):  # type: ignore[no-untyped-def]
    """One change from the page: applied to the draft, answered with the workspace."""
    record = _record(key)
    tab = request.form.get("tab", "design")
    version = request.form.get("version")
    try:
        if request.form.get("op") == "replace_document":
            document = json.loads(request.form.get("document") or "")
        else:
            ops = parse_report_ops([_op_from(request.form)])
            document = apply_report_ops(drafts.working_document(record), ops)
        drafts.replace(current_user, key, version, document)
    except ValueError as error:  # bad JSON, or an operation that does not fit
        db.session.rollback()
        path = error.path if isinstance(error, ReportOpError) else "document"
        text = error.message if isinstance(error, ReportOpError) else _("This is not valid JSON.")
        return _workspace(
            record, tab=tab, message=_("The change cannot be made."), problems=[Detail(path, text)]
        )
    except drafts.DraftConflict:
        db.session.rollback()
        return _workspace(
            record,
            tab=tab,
            message=_(
                "Someone else changed this draft since you opened it. Their changes are shown "
                "now; yours were not applied, so please make them again."
            ),
        )
    except QuireError as error:
        db.session.rollback()
        return _workspace(record, tab=tab, message=_(error.message), problems=error.details)
    db.session.commit()
    return _workspace(record, tab=tab)


def _walk(key: str, step: Any):  # type: ignore[no-untyped-def]
    record = _record(key)
    try:
        step(current_user, key, request.form.get("version"))
    except QuireError as error:
        db.session.rollback()
        return _workspace(record, tab="design", message=_(error.message))
    db.session.commit()
    return _workspace(record, tab=request.form.get("tab", "design"))


@bp.post("/templates/<key>/report/undo")
@login_required
def report_undo(key: str):  # type: ignore[no-untyped-def]
    return _walk(key, drafts.undo)


@bp.post("/templates/<key>/report/redo")
@login_required
def report_redo(key: str):  # type: ignore[no-untyped-def]
    return _walk(key, drafts.redo)


@bp.post("/templates/<key>/report/restore/<int:number>")
@login_required
def report_restore(key: str, number: int):  # type: ignore[no-untyped-def]
    return _walk(key, lambda actor, k, v: drafts.restore(actor, k, v, number))


@bp.get("/templates/<key>/report/preview")
@login_required
def report_preview(key: str):  # type: ignore[no-untyped-def]
    """The live preview: the draft run for the designer, first rows only."""
    record = _record(key)
    locale = _locale()
    document = drafts.working_document(record)
    args = {k: v for k, v in request.args.items() if k != "fragment"}
    found = run_preview(current_user, document, args, locale=locale)
    template = Template.model_validate(document)
    from quire.runtime.reports.parameters import ReportDefinition

    fields = _parameter_form(ReportDefinition(key, 0, template), locale)
    values = found.result.parameters.raw if found.result else args
    return render_template(
        "designer/_report_preview.html",
        record=record,
        found=found,
        result=found.result,
        fields=fields,
        values=values,
        link=web_link,
        show=show,
        locale=locale,
    )


@bp.post("/templates/<key>/report/publish")
@login_required
def report_publish(key: str):  # type: ignore[no-untyped-def]
    record = _record(key)
    if str(record.draft_version or 0) != request.form.get("version"):
        flash(
            _("Someone else changed this draft; check the latest state before publishing."), "error"
        )
        return redirect(url_for("designer.report_design", key=key, tab="changes"))
    try:
        version = template_service.publish(current_user, key, request.form.get("note"))
    except QuireError:
        db.session.rollback()
        flash(_("The draft cannot be published yet: fix the problems listed first."), "error")
        return redirect(url_for("designer.report_design", key=key, tab="changes"))
    db.session.commit()
    flash(_("Published as version %(n)s.", n=version.version), "ok")
    return redirect(url_for("designer.report_design", key=key, tab="history"))


@bp.route("/templates/new-report", methods=["GET", "POST"])
@login_required
def new_report():  # type: ignore[no-untyped-def]
    """Start a report: a title, then the designer (approved expense-claim lines to begin)."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    errors: list[Detail] = []
    if request.method == "POST":
        zh, en = _text(request.form, "title_zh"), _text(request.form, "title_en")
        zh, en = zh or en, en or zh
        if not zh:
            errors.append(Detail("title", _("Give the report a title.")))
        else:
            taken = set(db.session.scalars(select(FormTemplate.key)))
            key = _text(request.form, "key") or new_key(en, taken)
            title = {"zh": zh, "en": en}
            try:
                record = drafts.create(current_user, key, title, kind="report")
                state = drafts.state(record)
                drafts.replace(
                    current_user, key, state.version, blank_report(key, Bilingual(**title))
                )
            except QuireError as error:
                db.session.rollback()
                errors += error.details or [Detail("key", error.message)]
            else:
                db.session.commit()
                return redirect(url_for("designer.report_design", key=key))
    return render_template(
        "designer/new_report.html", errors=errors, form=request.form, locale=_locale()
    )
