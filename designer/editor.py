"""The designer page: palette, canvas and properties; permissions; route; simulator; preview;
JSON; changes; history. Every change posts one operation (`drafts.apply`), exactly as the API
does, and gets back the re-rendered workspace (htmx swaps it), so the page never holds state
the server does not have.
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
from quire.runtime.errors import BadRequest, Detail, Invalid, NotFound, QuireError
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.forms.presenter import FormPage
from quire.runtime.models import FormTemplate, Role, TemplateVersion, User, UserStatus
from quire.widgets.registry import default_registry

from . import drafts, json_view, workspace
from .approval import ApprovalStep
from .diff import describe_changes
from .formula import FormulaError, parse
from .issue_words import say
from .model import Template
from .simulate import simulate
from .views import bp

TABS = ("form", "permissions", "route", "simulate", "preview", "json", "changes", "history")


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _record(key: str) -> FormTemplate:
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    return template_service.template_by_key(key)


def _roles() -> list[tuple[str, str]]:
    locale = _locale()
    return [(r.key, r.name(locale)) for r in db.session.scalars(select(Role).order_by(Role.key))]


def _people() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.status != UserStatus.LEFT).order_by(User.username)
        )
    )


def _context(
    record: FormTemplate,
    state: drafts.DraftState,
    *,
    tab: str,
    sel: str,
    message: str | None = None,
    problems: list[Detail] | None = None,
    json_text: str | None = None,
) -> dict[str, Any]:
    locale = _locale()
    registry = default_registry()
    template = Template.model_validate(state.document)
    selected = workspace.find_field(template, sel[6:]) if sel.startswith("field:") else None
    step = None
    if sel.startswith("step:") and template.approval:
        step = next((s for s in template.approval.all_steps() if s.key == sel[5:]), None)
    locked = drafts.published_keys(record)
    roles = _roles()
    role_columns, role_rows = workspace.role_matrix(template, roles, registry, locale)
    step_columns, step_rows = workspace.step_matrix(template, registry, locale)
    page = FormPage(
        template,
        {},
        {f.key: "edit" for f in template.fields},
        locale,
    )
    doc_json = (
        json_text
        if json_text is not None
        else json.dumps(state.document, ensure_ascii=False, indent=2)
    )
    problems = problems or []
    json_problems = _json_problems(json_text, problems) if json_text is not None else []
    published = None
    changes: list[str] = []
    if record.latest_version:
        published = template_service.version_record(record).document
        changes = describe_changes(published, state.document, locale)
    return {
        "record": record,
        "state": state,
        "template": template,
        "doc_json": doc_json,
        "json_problems": json_problems,
        "json_issues": json_view.located(doc_json, state.issues) if json_text is None else [],
        "say": say,
        "tab": tab if tab in TABS else "form",
        "sel": sel,
        "selected": selected,
        "selected_step": step,
        "locked": locked,
        "palette": workspace.palette(registry, locale),
        "canvas": workspace.canvas(template, registry, locale),
        "page": page,
        "editors": workspace.property_editors(registry, selected) if selected else [],
        "options_text": workspace.options_text,
        "formula_names": workspace.formula_names(template),
        "tables": [f for f in template.fields if hasattr(f, "columns")],
        "role_columns": role_columns,
        "role_rows": role_rows,
        "step_columns": step_columns,
        "step_rows": step_rows,
        "access_levels": workspace.ACCESS_LEVELS,
        "assignee_kinds": workspace.ASSIGNEE_KINDS,
        "roles": roles,
        "people": _people(),
        "route": workspace.route_tree(template, locale, dict(roles)),
        "changes": changes,
        "publishers": {
            u.id: u.username
            for u in db.session.scalars(
                select(User).join(TemplateVersion, TemplateVersion.published_by_id == User.id)
            )
        },
        "versions": db.session.scalars(
            select(TemplateVersion)
            .where(TemplateVersion.template_id == record.id)
            .order_by(TemplateVersion.version.desc())
        ).all(),
        "message": message,
        # Shown at the top, unless the JSON view shows them at their lines.
        "problems": [] if json_problems else [Detail(p.path, say(p.message)) for p in problems],
        "departments": _departments(),
        "sample_fields": _sample_fields(template),
    }


def _json_problems(text: str, problems: list[Detail]) -> list[json_view.JsonProblem]:
    """A refused JSON save: the syntax error at its line and column, or each problem of the
    document at the line its path names."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return [json_view.syntax_problem(text, exc)]
    return json_view.located(text, problems)


def _departments() -> list[Any]:
    from quire.runtime.models import Department

    return list(db.session.scalars(select(Department).order_by(Department.code)))


def _sample_fields(template: Template) -> list[Any]:
    """Fields a sample for the simulator needs: those the route's conditions read."""
    names: set[str] = set()
    approval = template.approval
    formulas = [approval.auto_approve_when] if approval and approval.auto_approve_when else []
    formulas += [s.when for s in approval.all_steps() if s.when] if approval else []
    formulas += (
        [b.when for g in approval.groups() for b in g.branches if b.when] if approval else []
    )
    for text in formulas:
        try:
            names |= {n.partition(".")[0] for n in parse(text).references}
        except FormulaError:
            continue
    return [f for f in template.fields if f.key in names and f.key != "department"]


@bp.get("/templates/<key>/design")
@login_required
def design(key: str):  # type: ignore[no-untyped-def]
    record = _record(key)
    if record.kind == "report":
        return redirect(url_for("designer.report_design", key=key))
    state = drafts.state(record)
    context = _context(
        record, state, tab=request.args.get("tab", "form"), sel=request.args.get("sel", "")
    )
    if request.args.get("fragment"):
        return render_template("designer/_workspace.html", **context)
    return render_template("designer/design.html", **context)


def _workspace(record: FormTemplate, **kw: Any):  # type: ignore[no-untyped-def]
    return render_template(
        "designer/_workspace.html", **_context(record, drafts.state(record), **kw)
    )


def _coerce(kind: str, form: Any) -> Any:
    """The value of a property editor's input, as the operation wants it."""
    values = form.getlist("value")
    raw = values[-1] if values else None
    if kind == "assignee":
        kind_ = form.get("assignee_kind", "manager_of_submitter")
        rule: dict[str, Any] = {"kind": kind_}
        if kind_ == "role":
            rule["role"] = form.get("assignee_role") or "dept_manager"
            rule["scope"] = form.get("assignee_scope") or "organisation"
            if rule["scope"] == "department_field":
                rule["field"] = form.get("assignee_field") or "department"
        elif kind_ == "user":
            rule["username"] = form.get("assignee_username") or current_user.username
        elif kind_ in (
            "user_field",
            "manager_of_department_field",
            "manager_of_user_field",
            "role_owner",
            "security_approver",
        ):
            rule["field"] = form.get("assignee_field") or ""
        elif kind_ == "department_head":
            levels = form.get("assignee_levels") or "0"
            rule["levels_up"] = int(levels) if levels.isdigit() else 0
        return rule
    if kind == "due":
        amount, unit = form.get("due_amount", "").strip(), form.get("due_unit", "working_days")
        if not amount:
            return None
        if not amount.isdigit():
            raise Invalid(_("Please enter a whole number."), [Detail("due", "whole number")])
        return {unit if unit in ("working_days", "hours") else "working_days": int(amount)}
    if kind == "bool":
        return raw in ("true", "on", "y", "1")
    if raw is None:
        return None
    raw = raw.strip()
    if kind == "text":
        return raw or None
    if kind == "int":
        if not raw:
            return None
        if not raw.lstrip("-").isdigit():
            raise Invalid(_("Please enter a whole number."), [Detail("value", "whole number")])
        return int(raw)
    if kind == "list":
        return [p.strip() for p in raw.split(",") if p.strip()] or None
    if kind == "options":
        return workspace.parse_options(raw) or None
    if kind == "json":
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise Invalid(_("This is not valid JSON."), [Detail("value", "JSON")]) from None
    if kind == "mask":
        return {"preset": raw} if raw else None
    if kind == "place":
        # "" is the route itself; "group:branch" a branch of a parallel group.
        group, _sep, branch = (raw or "").rpartition(":")
        if not raw:
            return {}
        if not group or not branch.isdigit():
            raise Invalid(_("Please choose a place."), [Detail("value", "group:branch")])
        return {"group": group, "branch": int(branch)}
    return raw


def _op_from(form: Any) -> dict[str, Any]:
    try:
        op = json.loads(form.get("op") or "")
    except ValueError:
        raise BadRequest(_("The change could not be read.")) from None
    if not isinstance(op, dict):
        raise BadRequest(_("The change could not be read."))
    kind = op.pop("value_kind", None)
    into = op.pop("value_into", None)
    if kind is not None:
        value = _coerce(kind, form)
        if kind == "place":
            op.update(value)  # where a step moves: the route, or a group's branch
        elif into:
            # The input fills another part of the operation (a permission's access, a preset,
            # the table a field moves into).
            target = op
            *parents, last = str(into).split(".")
            for name in parents:
                target = target.setdefault(name, {})
            target[last] = value
        else:
            op["value"] = value
    if op.get("op") == "replace_document":
        try:
            op["document"] = json.loads(form.get("document") or "")
        except json.JSONDecodeError as exc:
            problem = json_view.syntax_problem(exc.doc, exc)
            where = _("line %(line)s, column %(column)s", line=exc.lineno, column=exc.colno)
            raise Invalid(
                _("This is not valid JSON."), [Detail("document", f"{where}: {problem.message}")]
            ) from None
        if not isinstance(op["document"], dict):
            raise Invalid(
                _("This is not valid JSON."),
                [Detail("", _("a template must be a JSON object"))],
            )
    return op


def _run(key: str, change: Any):  # type: ignore[no-untyped-def]
    """Apply a change from the page; answer the workspace, with what went wrong if anything."""
    record = _record(key)
    tab, sel = request.form.get("tab", "form"), request.form.get("sel", "")
    keys_before = _field_keys(drafts.working_document(record))
    try:
        state = change(record)
    except drafts.DraftConflict:
        db.session.rollback()
        return _workspace(
            record,
            tab=tab,
            sel=sel,
            message=_(
                "Someone else changed this draft since you opened it. Their changes are shown "
                "now; yours were not applied, so please make them again."
            ),
        )
    except QuireError as error:
        db.session.rollback()
        # The JSON view keeps what was typed and shows each problem at its line in it.
        json_text = request.form.get("document") if tab == "json" else None
        return _workspace(
            record,
            tab=tab,
            sel=sel,
            message=_(error.message) if error.message else None,
            problems=error.details,
            json_text=json_text,
        )
    db.session.commit()
    new_sel = request.form.get("select_after") or sel
    if new_sel == "last" and state.document.get("fields"):
        new_sel = "field:" + state.document["fields"][-1]["key"]
    keys_after = _field_keys(state.document)
    if new_sel.startswith("field:") and new_sel[6:] not in keys_after:
        # The selected field was renamed (its key follows its label): keep it selected.
        index = keys_before.index(new_sel[6:]) if new_sel[6:] in keys_before else -1
        renamed = len(keys_before) == len(keys_after) and 0 <= index
        new_sel = f"field:{keys_after[index]}" if renamed else ""
    return _workspace(record, tab=tab, sel=new_sel)


def _field_keys(document: dict[str, Any]) -> list[str]:
    from .ops import field_keys

    return field_keys(document)


@bp.post("/templates/<key>/design/ops")
@login_required
def design_op(key: str):  # type: ignore[no-untyped-def]
    version = request.form.get("version")
    return _run(
        key, lambda record: drafts.apply(current_user, key, version, [_op_from(request.form)])
    )


@bp.post("/templates/<key>/design/undo")
@login_required
def design_undo(key: str):  # type: ignore[no-untyped-def]
    version = request.form.get("version")
    return _run(key, lambda record: drafts.undo(current_user, key, version))


@bp.post("/templates/<key>/design/redo")
@login_required
def design_redo(key: str):  # type: ignore[no-untyped-def]
    version = request.form.get("version")
    return _run(key, lambda record: drafts.redo(current_user, key, version))


@bp.post("/templates/<key>/design/restore/<int:number>")
@login_required
def design_restore(key: str, number: int):  # type: ignore[no-untyped-def]
    version = request.form.get("version")
    return _run(key, lambda record: drafts.restore(current_user, key, version, number))


@bp.post("/templates/<key>/design/publish")
@login_required
def design_publish(key: str):  # type: ignore[no-untyped-def]
    record = _record(key)
    if str(record.draft_version or 0) != request.form.get("version"):
        flash(
            _("Someone else changed this draft; check the latest state before publishing."), "error"
        )
        return redirect(url_for("designer.design", key=key, tab="changes"))
    try:
        version = template_service.publish(current_user, key, request.form.get("note"))
    except QuireError:
        db.session.rollback()
        flash(_("The draft cannot be published yet: fix the problems listed first."), "error")
        return redirect(url_for("designer.design", key=key, tab="form"))
    db.session.commit()
    flash(_("Published as version %(n)s.", n=version.version), "ok")
    return redirect(url_for("designer.design", key=key, tab="history"))


@bp.get("/templates/<key>/design/formula")
@login_required
def design_formula(key: str):  # type: ignore[no-untyped-def]
    """Checks a formula as it is typed: a sentence saying what it means, or what is wrong."""
    record = _record(key)
    text = request.args.get("value", "")
    state = drafts.state(record)
    template = Template.model_validate(state.document)
    names = set(workspace.formula_names(template))
    error = None
    meaning = None
    if text.strip():
        try:
            formula = parse(text)
            facts = {"submitter", "department"}  # the engine's facts take any attribute
            unknown = sorted(
                n for n in formula.references if n not in names and n.split(".")[0] not in facts
            )
            if unknown:
                error = _("Unknown name: %(names)s", names=", ".join(unknown))
            else:
                from .sentences import describe

                meaning = describe(text, state.document, _locale())
        except FormulaError as exc:
            error = getattr(exc, "message", None) or str(exc)
    return render_template("designer/_formula_check.html", error=error, meaning=meaning)


@bp.post("/templates/<key>/design/simulate")
@login_required
def design_simulate(key: str):  # type: ignore[no-untyped-def]
    record = _record(key)
    template = Template.model_validate(drafts.state(record).document)
    data: dict[str, Any] = {}
    for name, value in request.form.items():
        if name.startswith("data-") and value.strip():
            data[name[5:]] = value.strip()
    budget = request.form.get("within_budget")
    if budget in ("yes", "no"):
        data["within_budget"] = budget == "yes"
    from quire.runtime.org import user_by_username

    try:
        submitter = user_by_username(request.form.get("submitter") or "")
    except NotFound:
        return render_template(
            "designer/_simulation.html", error=_("Choose who submits the sample."), result=None
        )
    result = simulate(template, data, submitter, locale=_locale())
    simulated = {s.key: s for s in result.steps}

    def box(step: ApprovalStep) -> workspace.RouteNode:
        s = simulated[step.key]
        return workspace.RouteNode(
            s.key,
            s.name,
            ", ".join(u.display_name for u in s.assignees),
            status=s.status,
            people=[u.username for u in s.assignees],
            reason=s.reason,
        )

    skipped = [s.key for s in result.steps if s.status == "skipped"]
    route = workspace.chain(
        [
            workspace.RouteNode(
                "start", _("Submitted"), submitter.display_name, status="done", css="rt-start"
            ),
            *workspace.route_items(template, _locale(), box, skipped),
            workspace.RouteNode("end", _("approved"), css="rt-end"),
        ]
    )
    return render_template("designer/_simulation.html", result=result, route=route, error=None)


@bp.post("/templates/<key>/design/preview")
@login_required
def design_preview(key: str):  # type: ignore[no-untyped-def]
    """The draft as a chosen person sees it at a chosen step, with sample values."""
    from quire.runtime.org import user_by_username

    record = _record(key)
    template = Template.model_validate(drafts.state(record).document)
    try:
        viewer = user_by_username(request.form.get("viewer") or "")
        submitter = user_by_username(request.form.get("submitter") or viewer.username)
    except NotFound:
        return render_template("designer/_preview.html", error=_("Choose a person."), page=None)
    step = request.form.get("step") or "draft"
    steps = [s.key for s in template.approval.all_steps()] if template.approval else []
    if step not in ("draft", *steps):
        step = "draft"
    field_access = access.field_access(
        viewer,
        template,
        department=submitter.department,
        submitter_id=submitter.id,
        step=step,
        is_approver=step != "draft" and viewer.id != submitter.id,
    )
    data = sample_data(template, submitter)
    page = FormPage(template, data, field_access, _locale())
    step_name = (
        next((s.name.text(_locale()) for s in template.approval.steps if s.key == step), _("draft"))
        if template.approval
        else _("draft")
    )
    return render_template(
        "designer/_preview.html", page=page, error=None, viewer=viewer, step=step_name, key=key
    )


def sample_data(template: Template, submitter: User) -> dict[str, Any]:
    """Plausible values for every field, so a preview shows masking and totals at work.

    Each widget is offered a few candidate values and keeps the first it accepts, so no
    widget type is named here (a new widget gets a sample too)."""
    from quire.runtime.approvals.routing import local_today
    from quire.runtime.forms import values as form_values
    from quire.runtime.forms.service import submitter_facts
    from quire.widgets.base import FieldValueError, ParseContext

    registry = default_registry()
    day = local_today()  # the instance's time zone, like every date a user files
    today = day.isoformat()
    bank_account = "6222 0212 3456 1234"
    candidates: list[Any] = [
        _("Sample text"),
        bank_account,
        "2500.00",
        today,
        {"start": today, "end": today},
        today[:7],
        True,
    ]

    def sample(f: Any) -> Any:
        widget = registry[f.type]
        if not widget.has_value or widget.computed:
            return None
        options = getattr(f, "options", None)
        first = [options[0].value] if options else []
        if getattr(f, "mask", None):
            first.append(bank_account)  # a masked field shows its masking on a real-looking value
        for raw in first + candidates:
            try:
                if widget.parse(f, raw) is not None:
                    return raw
            except (FieldValueError, TypeError, ValueError):
                continue
        return None

    data: dict[str, Any] = {}
    for f in template.fields:
        columns = getattr(f, "columns", None)
        if columns:
            data[f.key] = [{c.key: sample(c) for c in columns} for _ in range(2)]
            continue
        value = sample(f)
        if value is not None:
            data[f.key] = value
    extra = submitter_facts(submitter)
    values = form_values.to_python(template, data)
    form_values.apply_defaults(template, values, extra, ParseContext())
    form_values.compute(template, values, extra, day)
    return form_values.to_json(template, values)


@bp.route("/templates/new", methods=["GET", "POST"])
@login_required
def new_template():  # type: ignore[no-untyped-def]
    """Start a form from scratch, or from a copy of another (a built-in one, say)."""
    access.authorize(current_user, P.TEMPLATE_DESIGN)
    sources = db.session.scalars(
        select(FormTemplate).where(FormTemplate.kind == "form").order_by(FormTemplate.key)
    ).all()
    errors: list[Detail] = []
    if request.method == "POST":
        key = (request.form.get("key") or "").strip()
        title = {
            "zh": (request.form.get("title_zh") or "").strip(),
            "en": (request.form.get("title_en") or "").strip(),
        }
        if not title["zh"] and title["en"]:
            title["zh"] = title["en"]
        if not title["en"] and title["zh"]:
            title["en"] = title["zh"]
        copy_of = request.form.get("copy_of") or None
        if not title["zh"]:
            errors.append(Detail("title", _("Give the form a title.")))
        if not errors:
            try:
                drafts.create(current_user, key, title, copy_of=copy_of)
                db.session.commit()
                return redirect(url_for("designer.design", key=key))
            except QuireError as error:
                db.session.rollback()
                errors = error.details or [Detail("key", _(error.message))]
    return render_template("designer/new.html", sources=sources, errors=errors, form=request.form)
