"""The data sources admin page. Each handler: load (404) → authorize → validate → service.

Finance administrators (DATASOURCE_MANAGE) get here, and system administrators for the HR
feed only (`access.may_manage_source`). Secrets go in, never out: the edit page shows
that a secret is set and offers a box to replace it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access, hr_sync
from ..errors import Forbidden, Invalid, NotFound, TooLarge
from ..extensions import db
from ..i18n import current_locale
from ..models import DataSource
from . import forms, service, uploads

bp = Blueprint("datasources", __name__, url_prefix="/admin/data-sources")

_FIXED = ("key", "name", "cache_ttl_s", "timeout_s")


def _apply_errors(form: Any, exc: Invalid) -> None:
    for detail in exc.details:
        path = detail.path
        name = path
        if path.startswith("config."):
            top = path[len("config.") :].split(".")[0].split("[")[0]
            name = forms.PREFIX + top
        field = getattr(form, name, None)
        if field is not None and (name in _FIXED or name.startswith(forms.PREFIX)):
            message = _(detail.message)
            if path.startswith("config.") and path != f"config.{name[len(forms.PREFIX) :]}":
                message = f"{path[len('config.') :]}: {message}"
            field.errors = [*field.errors, message]
        else:
            flash(f"{path}: {_(detail.message)}", "error")


def _may_manage(key: str) -> bool:
    return access.may_manage_source(current_user, key, hr_feed=hr_sync.feed_key())


def _authorize(key: str) -> None:
    access.authorize_source(current_user, key, hr_feed=hr_sync.feed_key())


def _authorize_pages() -> None:
    if not access.may_manage_some_source(current_user):
        raise Forbidden()


def _entry_status(connector: str) -> str:
    registry = service.registry()
    return registry.entry(connector).status if connector in registry else _("not installed")


@bp.get("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    _authorize_pages()
    sources = [s for s in service.all_sources() if _may_manage(s.key)]
    return render_template(
        "datasources/index.html",
        sources=sources,
        status={s.key: _entry_status(s.connector) for s in sources},
        used={s.key: service.usages(s.key) for s in sources},
        connectors=list(service.registry()),
    )


@bp.get("/new")
@login_required
def choose():  # type: ignore[no-untyped-def]
    _authorize_pages()
    return render_template("datasources/choose.html", available=service.registry().available())


@bp.route("/new/<connector>", methods=["GET", "POST"])
@bp.route("/<key>/edit", methods=["GET", "POST"])
@login_required
def edit(connector: str | None = None, key: str | None = None):  # type: ignore[no-untyped-def]
    source = service.source_by_key(key) if key else None
    if source is not None:
        _authorize(source.key)
    else:
        _authorize_pages()  # the key typed in is checked by the service
    if source is not None:
        cls = service.connector_class(source.connector)
    else:
        entry = next((e for e in service.registry().available() if e.name == connector), None)
        if entry is None or entry.connector is None:
            raise NotFound(_("No usable connector %(name)s.", name=connector))
        cls = entry.connector
    form_class, fields = forms.form_class(cls, "zh" if current_locale() == "zh_CN" else "en")
    form = form_class()
    if request.method == "GET" and source is not None:
        form.key.data, form.name.data = source.key, source.name
        form.cache_ttl_s.data, form.timeout_s.data = source.cache_ttl_s, source.timeout_s
        forms.fill(form, fields, source.config or {})
    if source is not None:
        form.key.data = source.key  # the key never changes once templates may name it
    status, usages = 200, service.usages(source.key) if source else []
    needs_confirm = False
    if form.validate_on_submit():
        values, secrets, problems = forms.read(form, fields)
        try:
            if problems:
                raise Invalid(_("Please check the form."), problems)
            saved = service.save(
                current_user,
                service.SourceInput(
                    key=form.key.data or "",
                    name=form.name.data or "",
                    connector=cls.type_name,
                    values=values,
                    new_secrets=secrets,
                    cache_ttl_s=form.cache_ttl_s.data or 0,
                    timeout_s=form.timeout_s.data or 15,
                ),
                existing=source,
                confirmed=bool(form.confirm.data),
            )
        except service.ConfirmationNeeded as exc:
            db.session.rollback()
            usages, needs_confirm, status = exc.usages, True, 409
            flash(_("Published templates use this data source: confirm the change."), "warn")
        except Invalid as exc:
            db.session.rollback()
            _apply_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("Data source %(key)s saved.", key=saved.key), "ok")
            return redirect(url_for("datasources.edit", key=saved.key))
    elif request.method == "POST":
        status = 422
    return render_template(
        "datasources/edit.html",
        form=form,
        fields=fields,
        source=source,
        connector=cls,
        secrets_set=set((source.secrets or {}) if source else ()),
        usages=usages,
        needs_confirm=needs_confirm,
        preview_form=forms.PreviewForm(formdata=None),
    ), status


@bp.post("/<key>/test")
@login_required
def test(key: str):  # type: ignore[no-untyped-def]
    source = service.source_by_key(key)
    _authorize(source.key)
    outcome = service.test_source(source, current_user)
    db.session.commit()  # the audit event of the test
    if outcome.ok:
        flash(_("Connection works: the source answered."), "ok")
    else:
        flash(_("Source unavailable: %(reason)s", reason=outcome.message), "error")
    return redirect(url_for("datasources.edit", key=key))


@bp.route("/<key>/preview", methods=["GET", "POST"])
@login_required
def preview(key: str):  # type: ignore[no-untyped-def]
    source = service.source_by_key(key)
    _authorize(source.key)
    form = forms.PreviewForm()
    result, error, status = None, None, 200
    if form.validate_on_submit():
        params, bad = forms.parse_params(form.params.data)
        if bad:
            form.params.errors = [_("Write one name=value per line: %(line)s", line=bad[0])]
            status = 422
        else:
            try:
                result = service.preview(current_user, source, form.query.data or "", params)
            except service.SourceUnavailableError as exc:
                error = _("Source unavailable: %(reason)s", reason=_reason(exc))
                status = 503
            except Invalid as exc:
                error = _("The source refused the query: %(reason)s", reason=_reason(exc))
                status = 422
            db.session.commit()  # the audit event of the preview, whatever its outcome
    elif request.method == "POST":
        status = 422
    return render_template(
        "datasources/preview.html", source=source, form=form, result=result, error=error
    ), status


def _reason(exc: Any) -> str:
    return "; ".join(d.message for d in exc.details) or exc.message


@bp.route("/<key>/delete", methods=["GET", "POST"])
@login_required
def delete(key: str):  # type: ignore[no-untyped-def]
    source: DataSource = service.source_by_key(key)
    _authorize(source.key)
    form = forms.ConfirmForm()
    usages = service.usages(key)
    status = 200
    if form.validate_on_submit():
        try:
            service.delete(current_user, source, confirmed=bool(form.confirm.data))
        except service.ConfirmationNeeded:
            db.session.rollback()
            flash(_("Published templates use this data source: confirm to delete it."), "warn")
            status = 409
        else:
            db.session.commit()
            flash(_("Data source %(key)s deleted.", key=key), "ok")
            return redirect(url_for("datasources.index"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "datasources/delete.html", source=source, form=form, usages=usages
    ), status


# --- files of Uploaded-file sources -------------------------------------------------------------


def _file_source(key: str) -> DataSource:
    source = service.source_by_key(key)
    _authorize(source.key)
    if source.connector != uploads.CONNECTOR:
        raise NotFound(_("Only data sources of type Uploaded file take files."))
    return source


def _files_page(source: DataSource, form: Any, status: int = 200, needs_confirm: str = ""):  # type: ignore[no-untyped-def]
    return render_template(
        "datasources/files.html",
        source=source,
        form=form,
        files=uploads.files(source),
        max_mb=uploads.max_bytes() // (1024 * 1024),
        delete_form=forms.ConfirmForm(formdata=None),
        needs_confirm=needs_confirm,
    ), status


@bp.route("/<key>/files", methods=["GET", "POST"])
@login_required
def files(key: str):  # type: ignore[no-untyped-def]
    source = _file_source(key)
    form = forms.UploadForm()
    if form.validate_on_submit():
        try:
            stored = uploads.upload(current_user, source, form.file.data)
        except (Invalid, TooLarge) as exc:
            db.session.rollback()
            form.file.errors = [_(exc.message), *(_(d.message) for d in exc.details)]
            return _files_page(source, form, exc.status)
        db.session.commit()
        flash(_("File %(name)s uploaded.", name=stored.name), "ok")
        return redirect(url_for("datasources.file_rows", key=key, name=stored.name))
    return _files_page(source, form, 422 if request.method == "POST" else 200)


@bp.get("/<key>/files/<name>")
@login_required
def file_rows(key: str, name: str):  # type: ignore[no-untyped-def]
    """The first parsed rows of one uploaded file."""
    source = _file_source(key)
    result, error, status = None, None, 200
    try:
        result = service.preview(current_user, source, name, {})
    except service.SourceUnavailableError as exc:
        error, status = _("Source unavailable: %(reason)s", reason=_reason(exc)), 503
    except Invalid as exc:
        error, status = _("The source refused the query: %(reason)s", reason=_reason(exc)), 422
    db.session.commit()  # the audit event of the preview
    return render_template(
        "datasources/file_rows.html", source=source, name=name, result=result, error=error
    ), status


@bp.post("/<key>/files/<name>/delete")
@login_required
def delete_file(key: str, name: str):  # type: ignore[no-untyped-def]
    source = _file_source(key)
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        return _files_page(source, forms.UploadForm(formdata=None), 422)
    try:
        uploads.delete_file(current_user, source, name, confirmed=bool(form.confirm.data))
    except service.ConfirmationNeeded:
        db.session.rollback()
        flash(_("Published templates use this data source: confirm to delete it."), "warn")
        return _files_page(source, forms.UploadForm(formdata=None), 409, needs_confirm=name)
    db.session.commit()
    flash(_("File %(name)s deleted.", name=name), "ok")
    return redirect(url_for("datasources.files", key=key))
