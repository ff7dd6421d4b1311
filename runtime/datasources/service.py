"""Data sources: create, change, delete, test and preview them; find where they are used.

Services take the acting user and raise domain errors; the admin page, the report engine and
the HR sync call them. Every connector call goes through
:class:`quire.plugins.cache.GuardedSource`, so a slow or broken source becomes
:class:`SourceUnavailableError` ("source unavailable", HTTP 503), never a hang or a 500.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from pydantic import SecretStr
from sqlalchemy import select

from quire.plugins.base import (
    ConfigInvalid,
    Connector,
    ConnectorError,
    QueryRejected,
    SourceUnavailable,
)
from quire.plugins.cache import GuardedSource, ResultCache
from quire.plugins.reach import Reach, parse_networks
from quire.plugins.registry import ConnectorRegistry, UnknownConnector, discover
from quire.widgets.base import control_characters

from .. import audit, generation
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound, QuireError
from ..extensions import db
from ..models import DataSource, FormTemplate, TemplateVersion, User
from . import vault

log = logging.getLogger(__name__)

#: Template data-source connectors the report engine serves itself, scoped in SQL; any other
#: connector named in a template reads a configured data source.
SCOPED_PROVIDERS = frozenset(
    {
        "submissions",
        "actuals",
        "approvals",
        "budget_rounds",
        "allocations",
        "permission_changes",
        "access_grants",
    }
)
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
PREVIEW_ROWS = 20
#: Keyword-only constructor arguments the runtime can give a connector.
RUNTIME_SERVICES = ("session", "actor", "permission", "reach")


class SourceUnavailableError(QuireError):
    """A data source did not answer (down, slow, refused): the page says so and goes on."""

    status, code = 503, "source_unavailable"


class ConfirmationNeeded(Conflict):
    """Changing or deleting a source that published templates use needs an explicit yes."""

    def __init__(self, usages: list[Usage]) -> None:
        names = ", ".join(u.template_key for u in usages)
        super().__init__(f"Published templates use this data source: {names}.", [])
        self.usages = usages


# --- the connector registry and cache of this app ---------------------------------------------


def registry() -> ConnectorRegistry:
    """The connector types found when this app first needed them (entry points, loaded once
    per process, never at import time)."""
    found = current_app.extensions.get("quire.connectors")
    if found is None:
        found = discover()
        current_app.extensions["quire.connectors"] = found
    return found


def result_cache() -> ResultCache:
    cache = current_app.extensions.get("quire.source_cache")
    if cache is None:
        cache = current_app.extensions["quire.source_cache"] = ResultCache()
    return cache


# --- reading ----------------------------------------------------------------------------------


def all_sources() -> list[DataSource]:
    return list(db.session.scalars(select(DataSource).order_by(DataSource.key)))


def find_source(key: str) -> DataSource | None:
    return db.session.scalar(select(DataSource).where(DataSource.key == key))


def source_by_key(key: str) -> DataSource:
    found = find_source(key)
    if found is None:
        raise NotFound(f"No data source {key!r}.")
    return found


def connector_class(name: str) -> type[Connector]:
    try:
        return registry().get(name)
    except UnknownConnector as exc:
        raise SourceUnavailableError(exc.message) from exc


def runtime_fields(cls: type[Connector]) -> frozenset[str]:
    """Config fields the runtime fills in (the file connector's folder), not the admin."""
    names = set()
    for name, info in cls.Config.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, Mapping) and extra.get("runtime") is True:
            names.add(name)
    return frozenset(names)


#: Connectors whose files are uploaded through Quire, so they live in the file store; other
#: folder connectors (the HR directory) read files the operator puts in the instance folder.
UPLOADED_FILES = frozenset({"file"})


def source_folder(key: str, names: list[str] | None = None, *, uploaded: bool = True) -> Path:
    """This machine's folder of data source `key`'s files. For uploaded files it holds
    current copies of ``names`` from the file store (which may be the database that several
    machines share)."""
    from .. import files

    if not uploaded:
        return Path(current_app.config["INSTANCE_PATH"]) / files.DATASOURCES / key
    return files.store().local_folder(f"{files.DATASOURCES}/{key}", list(names or []))


def _declared_files(config: Mapping[str, Any] | None) -> list[str]:
    entries = (config or {}).get("files") or []
    return [str(f["name"]) for f in entries if isinstance(f, Mapping) and f.get("name")]


def _runtime_values(
    cls: type[Connector], key: str, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in runtime_fields(cls):
        if name == "folder":
            uploaded = cls.type_name in UPLOADED_FILES
            values[name] = str(source_folder(key, _declared_files(config), uploaded=uploaded))
    return values


def reach_for(key: str, connector: str | None = None) -> Reach:
    """What data source `key` may not touch on this server: Quire's own database and instance
    folder (except the source's own folder), and private networks the operator did not allow."""
    instance = Path(current_app.config["INSTANCE_PATH"])
    return Reach(
        instance_folder=instance,
        own_folder=source_folder(key, uploaded=connector in UPLOADED_FILES),
        own_database=current_app.config["DATABASE_URL"],
        allowed_networks=parse_networks(current_app.config.get("CONNECTOR_ALLOWED_NETWORKS")),
    )


def _made(cls: type[Connector], config: Any, key: str, **services: Any) -> Connector:
    """A connector with the runtime services its constructor accepts."""
    services = {"session": db.session, "reach": reach_for(key, cls.type_name), **services}
    accepted = inspect.signature(cls.__init__).parameters
    runtime = {k: v for k, v in services.items() if k in accepted and k in RUNTIME_SERVICES}
    return cls(config, **runtime)


def full_config(source: DataSource) -> dict[str, Any]:
    """The connector configuration with secrets decrypted: for making a connector only."""
    cls = connector_class(source.connector)
    config = {**(source.config or {}), **_runtime_values(cls, source.key, source.config)}
    for name, token in (source.secrets or {}).items():
        try:
            config[name] = vault.decrypt(token)
        except vault.SecretUnreadable as exc:
            raise SourceUnavailableError(
                f"The stored {name} of data source {source.key!r} cannot be decrypted "
                "(was the connector secret key changed?); please enter it again."
            ) from exc
    return config


def guarded(
    source: DataSource, *, actor: User | None = None, permission: Any = None
) -> GuardedSource:
    """The source ready to call: connector made, deadline and cache around it."""
    cls = connector_class(source.connector)
    try:
        connector = _made(cls, full_config(source), source.key, actor=actor, permission=permission)
    except ConfigInvalid as exc:
        raise SourceUnavailableError(
            f"The data source {source.key!r} is not configured correctly: {exc.message}"
        ) from exc
    ttl_s = float(source.cache_ttl_s or 0)
    if source.connector != "submissions":  # anything but Quire's own database
        generation.outside_read(ttl_s)
    return GuardedSource(
        source=source.key,
        connector=connector,
        timeout_s=float(source.timeout_s or 15),
        cache=result_cache(),
        ttl_s=ttl_s,
    )


def fetch(
    source: DataSource,
    query: str,
    params: Mapping[str, Any],
    limit: int,
    *,
    actor: User | None = None,
    permission: Any = None,
) -> list[dict[str, Any]]:
    """Rows of one query, parameters bound by the connector; connector errors become domain
    errors (503 source unavailable, 422 query refused)."""
    try:
        return guarded(source, actor=actor, permission=permission).fetch_rows(query, params, limit)
    except SourceUnavailable as exc:
        log.warning("data source %s unavailable: %s", source.key, exc.message)
        raise SourceUnavailableError(
            f"The data source {source.name} is unavailable right now.",
            [Detail(source.key, exc.message)],
        ) from exc
    except QueryRejected as exc:
        raise Invalid(
            f"The data source {source.name} refused the query.", [Detail("query", exc.message)]
        ) from exc
    except ConnectorError as exc:
        raise SourceUnavailableError(
            f"The data source {source.name} is unavailable right now.",
            [Detail(source.key, exc.message)],
        ) from exc


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    message: str


def test_source(source: DataSource, actor: User | None = None) -> TestOutcome:
    """Does the source answer with its stored configuration? Audited, answer included, since
    a test reaches out from the server (the caller commits)."""
    try:
        guarded(source, actor=actor).test_connection()
    except (SourceUnavailableError, ConnectorError) as exc:
        outcome = TestOutcome(False, exc.message)
    else:
        outcome = TestOutcome(True, "The source answered.")
    audit.record(
        actor,
        "datasource.test",
        object_type="data_source",
        object_id=source.key,
        changes={"ok": outcome.ok, "message": outcome.message},
    )
    return outcome


test_source.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


@dataclass
class Preview:
    columns: list[str]
    rows: list[dict[str, Any]]


def preview(actor: User, source: DataSource, query: str, params: Mapping[str, Any]) -> Preview:
    """The first rows of a query, for the admin checking a new source. Audited before it runs
    (query and parameters), so a refused or failing preview is on record too (the caller
    commits)."""
    audit.record(
        actor,
        "datasource.preview",
        object_type="data_source",
        object_id=source.key,
        changes={"query": query, "params": dict(params)},
    )
    rows = fetch(source, query, params, PREVIEW_ROWS, actor=actor)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return Preview(columns, rows)


# --- where a source is used ---------------------------------------------------------------------


@dataclass
class Usage:
    """One template that names a data source, and where."""

    template_key: str
    title: str
    #: Paths in the template document, e.g. ``data_sources[2]``, ``fields[4].options_from``.
    paths: list[str] = field(default_factory=list)
    #: The latest published version names it (changing the source changes live forms).
    published: bool = False
    #: The draft names it.
    draft: bool = False


def referenced_key(entry: Mapping[str, Any]) -> str | None:
    """The configured data source a template's ``data_sources`` entry reads, if any:
    ``config.source``, else the entry's own key (for connectors the engine does not serve)."""
    if not isinstance(entry, Mapping):
        return None
    given = entry.get("config")
    config: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    if config.get("source"):
        return str(config["source"])
    if entry.get("connector") == "actuals":
        from ..budgeting.actuals import LEDGER_SOURCE

        return LEDGER_SOURCE  # budget actuals read the ledger source when there is one
    if entry.get("connector") in SCOPED_PROVIDERS:
        return None
    key = entry.get("key")
    return str(key) if key else None


def references(document: Mapping[str, Any], key: str) -> list[str]:
    """Paths in a template document that name data source ``key``."""
    paths: list[str] = []
    local: set[str] = set()
    for index, entry in enumerate(document.get("data_sources") or []):
        if referenced_key(entry) == key:
            paths.append(f"data_sources[{index}]")
            local.add(str(entry.get("key")))
    for path, options in _options_from(document, ""):
        if options.get("source") == key or options.get("source") in local:
            paths.append(f"{path}.options_from")
    return paths


def _options_from(node: Any, path: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        found = node.get("options_from")
        if isinstance(found, Mapping):
            yield path, found
        for name, child in node.items():
            if name != "options_from":
                yield from _options_from(child, f"{path}.{name}" if path else str(name))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _options_from(child, f"{path}[{index}]")


def usages(key: str) -> list[Usage]:
    found: list[Usage] = []
    latest = {
        v.template_id: v
        for v in db.session.scalars(
            select(TemplateVersion)
            .join(FormTemplate, FormTemplate.id == TemplateVersion.template_id)
            .where(TemplateVersion.version == FormTemplate.latest_version)
        )
    }
    for template in db.session.scalars(select(FormTemplate).order_by(FormTemplate.key)):
        usage = Usage(template.key, template.title_zh + " / " + template.title_en)
        version = latest.get(template.id)
        if version is not None:
            paths = references(version.document or {}, key)
            usage.published = bool(paths)
            usage.paths.extend(paths)
        if template.draft:
            paths = references(template.draft, key)
            usage.draft = bool(paths)
            usage.paths.extend(p for p in paths if p not in usage.paths)
        if usage.paths:
            found.append(usage)
    return found


# --- changing -------------------------------------------------------------------------------


@dataclass
class SourceInput:
    """What the admin form (or a script) sends for a data source."""

    key: str
    name: str
    connector: str
    #: Non-secret settings, as typed (pydantic converts "30" to 30).
    values: dict[str, Any] = field(default_factory=dict)
    #: New secret values; a secret left out keeps its stored value.
    new_secrets: dict[str, str] = field(default_factory=dict)
    #: Secrets to forget.
    clear_secrets: frozenset[str] = frozenset()
    cache_ttl_s: int = 0
    timeout_s: int = 15


def _state(source: DataSource) -> dict[str, Any]:
    return {
        "name": source.name,
        "connector": source.connector,
        "config": source.config,
        "cache_ttl_s": source.cache_ttl_s,
        "timeout_s": source.timeout_s,
    }


def save(
    actor: User | None,
    data: SourceInput,
    *,
    existing: DataSource | None = None,
    confirmed: bool = False,
) -> DataSource:
    """Create or change a data source; raises `Invalid` with ``config.<path>`` details and
    `ConfirmationNeeded` when published templates use it and the change is not confirmed."""
    details: list[Detail] = []
    key = existing.key if existing is not None else data.key.strip()
    check_may_manage(actor, key)
    if existing is None:
        if not KEY_RE.match(key):
            details.append(Detail("key", "lower-case letters, digits, - and _, from a letter"))
        elif find_source(key) is not None:
            details.append(Detail("key", f"{key} is already used"))
    name = data.name.strip()
    if not name or len(name) > 200:
        details.append(Detail("name", "a name of 1 to 200 characters"))
    elif control_characters(name):
        details.append(Detail("name", "one line, without line breaks or control characters"))
    if not 0 <= data.cache_ttl_s <= 86400:
        details.append(Detail("cache_ttl_s", "between 0 and 86400 seconds"))
    if not 1 <= data.timeout_s <= 600:
        details.append(Detail("timeout_s", "between 1 and 600 seconds"))
    try:
        cls = registry().get(data.connector)
    except UnknownConnector as exc:
        raise Invalid(
            "Please check the form.", [*details, Detail("connector", exc.message)]
        ) from exc
    secret_names = cls.secret_fields()
    kept = {}
    if existing is not None and existing.connector == data.connector:
        kept = {k: v for k, v in (existing.secrets or {}).items() if k in secret_names}
    raw = {k: v for k, v in data.values.items() if k not in secret_names}
    raw.update(_runtime_values(cls, key, raw))
    for name_ in secret_names:
        if data.new_secrets.get(name_):
            raw[name_] = data.new_secrets[name_]
        elif name_ in kept and name_ not in data.clear_secrets:
            try:
                raw[name_] = vault.decrypt(kept[name_])
            except vault.SecretUnreadable:
                details.append(Detail(f"config.{name_}", "cannot be decrypted: enter it again"))
    try:
        parsed = cls.parse_config(raw)
        # Made once with this server's limits: a source pointing at Quire's own database is
        # refused here, with its field, not first when someone uses it.
        _made(cls, parsed, key, actor=actor)
    except ConfigInvalid as exc:
        details.extend(
            Detail(f"config.{i.dotted}" if i.path else "config", i.message) for i in exc.issues
        )
        parsed = None
    if details or parsed is None:
        raise Invalid("Please check the form.", details)

    stored = parsed.model_dump(mode="json", exclude=set(secret_names) | runtime_fields(cls))
    secrets = {}
    for name_ in secret_names:
        value = getattr(parsed, name_, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value:
            secrets[name_] = vault.encrypt(str(value))
    secret_changes = _secret_changes(
        existing.secrets if existing else {}, kept, data, secret_names, secrets
    )

    if existing is not None:
        before = _state(existing)
        after = {
            "name": name,
            "connector": data.connector,
            "config": stored,
            "cache_ttl_s": data.cache_ttl_s,
            "timeout_s": data.timeout_s,
        }
        changes = audit.changes_between(before, after)
        if not changes and not secret_changes:
            return existing
        used = [u for u in usages(key) if u.published]
        if used and not confirmed:
            raise ConfirmationNeeded(used)
    source = existing or DataSource(key=key, created_by_id=actor.id if actor else None)
    before = _state(existing) if existing is not None else {}
    source.name, source.connector, source.config, source.secrets = (
        name,
        data.connector,
        stored,
        secrets,
    )
    source.cache_ttl_s, source.timeout_s = data.cache_ttl_s, data.timeout_s
    source.updated_by_id = actor.id if actor else None
    if existing is None:
        db.session.add(source)
    db.session.flush()
    recorded: dict[str, Any] = audit.changes_between(before, _state(source))
    if secret_changes:
        recorded["secrets"] = secret_changes
    if existing is not None and confirmed:
        recorded["confirmed_for"] = [u.template_key for u in usages(key) if u.published]
    audit.record(
        actor,
        "datasource.update" if existing is not None else "datasource.create",
        object_type="data_source",
        object_id=key,
        changes=recorded,
    )
    result_cache().clear_source(key)
    return source


def _secret_changes(
    before: Mapping[str, str] | None,
    kept: Mapping[str, str],
    data: SourceInput,
    names: Iterable[str],
    after: Mapping[str, str],
) -> dict[str, str]:
    """What happened to each secret, for the audit trail, never the values."""
    out = {}
    for name in names:
        had, has = name in (before or {}), name in after
        if data.new_secrets.get(name):
            out[name] = "replaced" if had else "set"
        elif had and not has:
            out[name] = "removed"
        elif not had and has and name not in kept:
            out[name] = "set"
    return out


def check_may_manage(actor: User | None, key: str) -> None:
    """The HR feed is a system administrator's (`access.may_manage_source`); `None` is the
    command line or the demo set-up, run by the operator."""
    from .. import access, hr_sync

    if actor is not None and not access.may_manage_source(actor, key, hr_feed=hr_sync.feed_key()):
        raise Forbidden(
            "Only a system administrator may configure the HR feed, which creates users and "
            "grants roles.",
            [Detail("key", "this key is the HR feed read by the HR sync")],
        )


def delete(actor: User | None, source: DataSource, *, confirmed: bool = False) -> None:
    check_may_manage(actor, source.key)
    used = [u for u in usages(source.key) if u.published]
    if used and not confirmed:
        raise ConfirmationNeeded(used)
    audit.record(
        actor,
        "datasource.delete",
        object_type="data_source",
        object_id=source.key,
        changes={
            **{k: [v, None] for k, v in _state(source).items()},
            **({"confirmed_for": [u.template_key for u in used]} if used else {}),
        },
    )
    result_cache().clear_source(source.key)
    db.session.delete(source)
    db.session.flush()


# --- parameters -------------------------------------------------------------------------------


def bind_params(spec: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values for a query: ``=name`` takes ``context[name]`` (``=submitter.department``
    ← the submitter's department code, ``=year`` ← the report's year), anything else is a
    literal. The result goes to the connector as *values*, which it always binds."""
    bound: dict[str, Any] = {}
    for name, value in spec.items():
        if isinstance(value, str) and value.startswith("="):
            ref = value[1:].strip()
            if ref not in context:
                raise Invalid(
                    "The data source parameters are misconfigured.",
                    [Detail(f"params.{name}", f"nothing called {ref} to take a value from")],
                )
            if context[ref] is None:
                continue
            bound[name] = context[ref]
        else:
            bound[name] = value
    return bound


def form_context(user: User) -> dict[str, Any]:
    """What a form's data-source parameters may refer to about the person filling it in."""
    from ..reports.engine import local_now

    today = local_now().date()
    return {
        "submitter.username": user.username,
        "submitter.department": user.department.code if user.department else None,
        "today": today.isoformat(),
        "year": today.year,
        "month": today.strftime("%Y-%m"),
    }


def options_for(
    actor: User,
    template_source: Mapping[str, Any],
    value_column: str,
    label_column: str,
    context: Mapping[str, Any],
    limit: int = 500,
) -> list[tuple[str, str]]:
    """Select options from the configured source a template's data source names, with its
    parameters bound from ``context`` (see :func:`form_context`)."""
    key = referenced_key(template_source)
    if key is None:
        raise Invalid("This data source is not a configured one.", [])
    source = source_by_key(key)
    params = bind_params(template_source.get("params") or {}, context)
    rows = fetch(source, str(template_source.get("query") or ""), params, limit, actor=actor)
    return [
        (str(r.get(value_column, "")), str(r.get(label_column, r.get(value_column, ""))))
        for r in rows
    ]
