"""Data source endpoints of /api/v1: list, create, change, delete, test and preview sources.

Finance administrators only (``access.may_manage_source``; the HR feed is a system
administrator's). The endpoints call the same service as the admin page, so validation
(``config.<field>`` paths → 422), audit and the rule for a source published templates use
are the same: changing or deleting such a source answers 409 listing the templates, unless
the request says ``?confirm=1``. Secrets are write-only: a source shows each secret field as
``"set"`` or ``"unset"``, never its value.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required
from pydantic import BaseModel, Field

from .. import access, hr_sync
from ..datasources import service, uploads
from ..errors import BadRequest, Detail, Forbidden, Invalid
from ..extensions import db
from ..models import DataSource
from ..openapi import answers, spec
from . import bp
from .auth import json_body
from .serialize import iso


class StoredFileBody(BaseModel):
    name: str
    size: int | None
    modified: str | None
    present: bool


class SourceUsage(BaseModel):
    template: str
    published: bool
    paths: list[str]


class DataSourceBody(BaseModel):
    """A data source; ``files`` only for an Uploaded-file source."""

    key: str
    name: str
    connector: str
    #: The connector's settings (its config model), secrets left out.
    config: dict[str, Any]
    #: Each secret field of the connector: ``"set"`` or ``"unset"``, never the value.
    secrets: dict[str, str]
    cache_ttl_s: int
    timeout_s: int
    used_by: list[SourceUsage]
    files: list[StoredFileBody] | None = None
    created_at: str | None
    updated_at: str | None


class DataSourceList(BaseModel):
    items: list[DataSourceBody]


class DataSourceCreate(BaseModel):
    key: str
    name: str
    connector: str
    config: dict[str, Any] = {}
    #: New secret values by field name (write-only).
    secrets: dict[str, str] = {}
    clear_secrets: list[str] = []
    cache_ttl_s: int = 0
    timeout_s: int = 15


class DataSourceChange(BaseModel):
    name: str = ""
    #: Settings to change; those left out keep their value.
    config: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    clear_secrets: list[str] = []
    cache_ttl_s: int = 0
    timeout_s: int = 15


class TestResult(BaseModel):
    ok: bool
    message: str


TestResult.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class PreviewRows(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]


class UploadedFile(BaseModel):
    file: StoredFileBody
    preview: PreviewRows


class ConfirmQuery(BaseModel):
    #: ``1``: go ahead although published templates use the source.
    confirm: str | None = None


class PreviewQuery(BaseModel):
    """Every query argument other than ``query`` is a connector parameter."""

    model_config = {"extra": "allow"}

    #: The connector's query (a table, SQL statement, path or file name).
    query: str | None = None


class FileUpload(BaseModel):
    #: A CSV or XLSX file.
    file: bytes = Field(json_schema_extra={"format": "binary"})


#: Query arguments of the preview that are not connector parameters.
PREVIEW_ARGS = frozenset({"query"})


def _may_manage(key: str) -> bool:
    return access.may_manage_source(current_user, key, hr_feed=hr_sync.feed_key())


def _managed(key: str) -> DataSource:
    """The source, or 404 for an unknown key and 403 for one the caller may not manage."""
    if not access.may_manage_some_source(current_user):
        raise Forbidden()
    source = service.source_by_key(key)
    access.authorize_source(current_user, source.key, hr_feed=hr_sync.feed_key())
    return source


def _confirmed() -> bool:
    return request.args.get("confirm", "").lower() in ("1", "true", "yes")


def source_json(source: DataSource) -> dict[str, Any]:
    """A source as the API shows it: settings without secrets, each secret set or unset."""
    try:
        secret_names = sorted(service.connector_class(source.connector).secret_fields())
    except service.SourceUnavailableError:  # the connector's plugin is not installed
        secret_names = sorted(source.secrets or {})
    stored = source.secrets or {}
    return {
        "key": source.key,
        "name": source.name,
        "connector": source.connector,
        "config": source.config or {},
        "secrets": {name: "set" if name in stored else "unset" for name in secret_names},
        "cache_ttl_s": source.cache_ttl_s,
        "timeout_s": source.timeout_s,
        "used_by": [
            {"template": u.template_key, "published": u.published, "paths": u.paths}
            for u in service.usages(source.key)
        ],
        **(
            {"files": [f.as_dict() for f in uploads.files(source)]}
            if source.connector == uploads.CONNECTOR
            else {}
        ),
        "created_at": iso(source.created_at),
        "updated_at": iso(source.updated_at),
    }


def _text(data: dict[str, Any], name: str, default: str, problems: list[Detail]) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        problems.append(Detail(name, "must be text"))
        return default
    return value


def _number(data: dict[str, Any], name: str, default: int, problems: list[Detail]) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(Detail(name, "must be a whole number"))
        return default
    return value


def _source_input(data: dict[str, Any], existing: DataSource | None) -> service.SourceInput:
    """The request body as the service's input. On a change (PATCH) what is left out keeps its
    stored value, and ``config`` is merged over the stored settings one field at a time."""
    problems: list[Detail] = []
    allowed = {"key", "name", "connector", "config", "secrets", "clear_secrets"}
    allowed |= {"cache_ttl_s", "timeout_s"}
    problems.extend(Detail(k, "is not a data source field") for k in data if k not in allowed)
    if existing is not None:
        if "key" in data and data["key"] != existing.key:
            problems.append(Detail("key", "cannot change: templates name the source by it"))
        if "connector" in data and data["connector"] != existing.connector:
            problems.append(Detail("connector", "cannot change: create a new source instead"))
        key, connector = existing.key, existing.connector
        name = _text(data, "name", existing.name, problems)
        ttl = _number(data, "cache_ttl_s", existing.cache_ttl_s, problems)
        timeout = _number(data, "timeout_s", existing.timeout_s, problems)
    else:
        problems.extend(
            Detail(k, "is required") for k in ("key", "name", "connector") if k not in data
        )
        key = _text(data, "key", "", problems)
        connector = _text(data, "connector", "", problems)
        name = _text(data, "name", "", problems)
        ttl = _number(data, "cache_ttl_s", 0, problems)
        timeout = _number(data, "timeout_s", 15, problems)
    config = data.get("config", {})
    if not isinstance(config, dict):
        problems.append(Detail("config", "must be an object of settings"))
        config = {}
    secrets = data.get("secrets", {})
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        problems.append(Detail("secrets", "must be an object of text values"))
        secrets = {}
    clear = data.get("clear_secrets", [])
    if not isinstance(clear, list) or not all(isinstance(v, str) for v in clear):
        problems.append(Detail("clear_secrets", "must be a list of secret field names"))
        clear = []
    if problems:
        raise Invalid("Please check the data source.", problems)
    values = {**((existing.config or {}) if existing is not None else {}), **config}
    return service.SourceInput(
        key=key,
        name=name,
        connector=connector,
        values=values,
        new_secrets={k: v for k, v in secrets.items() if v},
        clear_secrets=frozenset(clear),
        cache_ttl_s=ttl,
        timeout_s=timeout,
    )


def _saved(data: dict[str, Any], existing: DataSource | None) -> DataSource:
    try:
        return service.save(
            current_user, _source_input(data, existing), existing=existing, confirmed=_confirmed()
        )
    except service.ConfirmationNeeded as exc:
        raise _needs_confirmation(exc) from exc


def _needs_confirmation(exc: service.ConfirmationNeeded) -> service.ConfirmationNeeded:
    """The 409 says which published templates use the source and how to go ahead."""
    exc.message = (
        "Published templates use this data source; send the request again with ?confirm=1 "
        "to go ahead."
    )
    exc.details = [Detail(f"used_by.{u.template_key}", ", ".join(u.paths)) for u in exc.usages]
    return exc


@bp.get("/datasources")
@login_required
@spec.validate(resp=answers(DataSourceList, 401, 403), tags=["data sources"])
def list_datasources():  # type: ignore[no-untyped-def]
    """Data sources the caller manages (finance admins); secrets shown as set or unset."""
    if not access.may_manage_some_source(current_user):
        raise Forbidden()
    sources = [s for s in service.all_sources() if _may_manage(s.key)]
    return jsonify(items=[source_json(s) for s in sources])


@bp.post("/datasources")
@login_required
@spec.validate(
    json=DataSourceCreate,
    resp=answers(DataSourceBody, 400, 401, 403, 409, 422, status=201),
    tags=["data sources"],
)
def create_datasource():  # type: ignore[no-untyped-def]
    """Create a data source; 422 with `config.<field>` paths when a setting is wrong."""
    if not access.may_manage_some_source(current_user):
        raise Forbidden()
    source = _saved(json_body(), None)
    db.session.commit()
    return jsonify(source_json(source)), 201


@bp.get("/datasources/<key>")
@login_required
@spec.validate(resp=answers(DataSourceBody, 401, 403, 404), tags=["data sources"])
def get_datasource(key: str):  # type: ignore[no-untyped-def]
    """One data source."""
    return jsonify(source_json(_managed(key)))


@bp.patch("/datasources/<key>")
@login_required
@spec.validate(
    query=ConfirmQuery,
    json=DataSourceChange,
    resp=answers(DataSourceBody, 400, 401, 403, 404, 409, 422),
    tags=["data sources"],
)
def update_datasource(key: str):  # type: ignore[no-untyped-def]
    """Change a data source (fields left out keep their value); 409 when published templates use
    it, unless `?confirm=1`."""
    source = _managed(key)
    saved = _saved(json_body(), source)
    db.session.commit()
    return jsonify(source_json(saved))


@bp.delete("/datasources/<key>")
@login_required
@spec.validate(
    query=ConfirmQuery, resp=answers(None, 401, 403, 404, 409, status=204), tags=["data sources"]
)
def delete_datasource(key: str):  # type: ignore[no-untyped-def]
    """Delete a data source; 409 when published templates use it, unless `?confirm=1`."""
    source = _managed(key)
    try:
        service.delete(current_user, source, confirmed=_confirmed())
    except service.ConfirmationNeeded as exc:
        raise _needs_confirmation(exc) from exc
    db.session.commit()
    return "", 204


@bp.post("/datasources/<key>/test")
@login_required
@spec.validate(resp=answers(TestResult, 401, 403, 404), tags=["data sources"])
def test_datasource(key: str):  # type: ignore[no-untyped-def]
    """Whether the source answers: 200 either way, ``ok`` and the reason in ``message``."""
    source = _managed(key)
    outcome = service.test_source(source, current_user)
    db.session.commit()  # the audit event of the test
    return jsonify(ok=outcome.ok, message=outcome.message)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@bp.get("/datasources/<key>/preview")
@login_required
@spec.validate(
    query=PreviewQuery,
    resp=answers(PreviewRows, 400, 401, 403, 404, 422, 503),
    tags=["data sources"],
)
def preview_datasource(key: str):  # type: ignore[no-untyped-def]
    """The first rows of ``?query=``; every other query argument is a parameter."""
    source = _managed(key)
    params = {k: v for k, v in request.args.items() if k not in PREVIEW_ARGS}
    try:
        result = service.preview(current_user, source, request.args.get("query", ""), params)
    except (service.SourceUnavailableError, Invalid):
        db.session.commit()  # the audit event of the preview, whatever its outcome
        raise
    db.session.commit()
    return jsonify(_rows_json(result))


def _rows_json(result: service.Preview) -> dict[str, Any]:
    return {
        "columns": result.columns,
        "rows": [{k: _cell(v) for k, v in row.items()} for row in result.rows],
    }


@bp.post("/datasources/<key>/files")
@login_required
@spec.validate(
    form=FileUpload,
    resp=answers(UploadedFile, 400, 401, 403, 404, 413, 422, status=201),
    tags=["data sources"],
)
def upload_datasource_file(key: str):  # type: ignore[no-untyped-def]
    """A CSV/XLSX file (multipart ``file``) for an Uploaded-file source: kept (a file of the
    same name is replaced) and answered with the first parsed rows."""
    source = _managed(key)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise BadRequest(
            "Send the file as multipart/form-data field `file`.", [Detail("file", "is required")]
        )
    stored = uploads.upload(current_user, source, sent)
    result = service.preview(current_user, source, stored.name, {})
    db.session.commit()
    return jsonify(file=stored.as_dict(), preview=_rows_json(result)), 201


@bp.delete("/datasources/<key>/files/<name>")
@login_required
@spec.validate(
    query=ConfirmQuery, resp=answers(None, 401, 403, 404, 409, status=204), tags=["data sources"]
)
def delete_datasource_file(key: str, name: str):  # type: ignore[no-untyped-def]
    """Delete an uploaded file; 409 when published templates use the source, unless `?confirm=1`."""
    source = _managed(key)
    try:
        uploads.delete_file(current_user, source, name, confirmed=_confirmed())
    except service.ConfirmationNeeded as exc:
        raise _needs_confirmation(exc) from exc
    db.session.commit()
    return "", 204
