"""The connector contract: what a department system must provide to feed Quire's fields and
report datasets.

A connector is a small class with class-level identity (`type_name`, `display_name`, `version`),
a pydantic `Config` whose JSON Schema draws the administrator's form (secret fields are typed
`SecretStr` and marked `json_schema_extra={"secret": True}`), and four methods:
`test_connection()`, `columns(query)`, `fetch(query, params, limit)` and, when
`capabilities.lookup` is set, `lookup(key)`.

Everything that goes wrong is raised as a `ConnectorError` subclass, so the runtime can show one
clear state per source ("source unavailable", "query refused", "configuration invalid") instead
of a 500. Driver errors are chained (`raise ... from exc`) so the log keeps the cause.

An instance is cheap and made for each use (a request, a report run): expensive things such as
engines and HTTP clients are cached outside the instance, keyed by configuration. Connectors that
need runtime services (the built-in `submissions` connector needs the database session and the
asking user) take them as keyword-only constructor arguments, which `ConnectorRegistry.create`
passes through.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError  # SecretStr: re-exported

__all__ = [
    "COLUMN_TYPES",
    "Capabilities",
    "ColumnInfo",
    "ColumnType",
    "ConfigInvalid",
    "ConfigIssue",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "QueryRejected",
    "SecretStr",
    "SourceUnavailable",
    "check_limit",
    "column_type_of",
    "require_params",
    "secret_field_names",
]

#: The value kinds Quire's fields and reports understand. "money" is a number that is an amount
#: of currency (always `Decimal`); connectors that cannot tell say "number".
ColumnType = Literal["text", "number", "money", "date", "datetime", "boolean"]
COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)


# --- errors ------------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every failure a connector reports. `message` is a sentence for an administrator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SourceUnavailable(ConnectorError):
    """The source could not answer now (down, slow, refused our credentials, sent garbage).

    Retrying later may work; the runtime shows "source unavailable" and keeps the page usable.
    """


class QueryRejected(ConnectorError):
    """The query or its parameters are not acceptable (a write, a missing parameter, a file or
    path outside what the source allows, a syntax error). Retrying the same thing will not help.
    """


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a connector configuration, at a path such as ``("files", 0, "name")``."""

    path: tuple[str | int, ...]
    message: str

    @property
    def dotted(self) -> str:
        """The path as the admin form and `runtime.errors.Detail` write it: ``files[0].name``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


class ConfigInvalid(ConnectorError):
    """The configuration does not validate; `issues` say where and why (never echoing values,
    which may be secrets)."""

    def __init__(self, issues: list[ConfigIssue] | tuple[ConfigIssue, ...]) -> None:
        self.issues = tuple(issues)
        summary = "; ".join(f"{i.dotted or '(config)'}: {i.message}" for i in self.issues)
        super().__init__(f"The connector configuration is invalid: {summary}.")


# --- descriptions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    """What the runtime may ask of a connector type beyond `fetch`.

    `filter_pushdown`: parameters filter at the source (so the runtime need not fetch everything
    and filter itself). `paging`: the source pages efficiently, so a large `limit` is cheap to
    stop early. `lookup`: `lookup(key)` is implemented.
    """

    filter_pushdown: bool = False
    paging: bool = False
    lookup: bool = False


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a query's result, as the designer offers it for binding."""

    name: str
    type: ColumnType = "text"


def column_type_of(value: Any) -> ColumnType:
    """Guess a column type from a Python value, for sources that do not declare types."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return "text"


class ConnectorConfig(BaseModel):
    """Base of every connector's `Config`. Unknown keys are typos in an admin form or a
    deployment file, so they are refused; configs are frozen so they can key caches."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def secret_field_names(config_class: type[BaseModel]) -> frozenset[str]:
    """Names of the fields marked secret, which the admin form masks and storage encrypts."""
    names = set()
    for name, info in config_class.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, Mapping) and extra.get("secret") is True:
            names.add(name)
    return frozenset(names)


# --- the base class ------------------------------------------------------------------------------


class Connector:
    """Base class of all connectors. Subclass it, set the class attributes, implement
    `test_connection`, `columns` and `fetch` (and `lookup` if you set `capabilities.lookup`).

    The contract of each method is its docstring; `quire.testing.connector_contract` checks it.
    """

    #: Stable key stored with each data source; must equal the entry-point name.
    type_name: ClassVar[str]
    #: What the admin page calls this connector type, in both languages: {"zh": ..., "en": ...}.
    display_name: ClassVar[Mapping[str, str]]
    #: The connector's own version, shown by `quire plugins list` next to the distribution's.
    version: ClassVar[str] = "0"
    #: The configuration model. Its JSON Schema draws the admin form.
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: Importable modules the connector needs; if one is missing the type is listed as
    #: "disabled: driver missing" rather than failing when first used.
    requires_modules: ClassVar[tuple[str, ...]] = ()
    #: What the admin form calls each setting, by config field name: ``{"zh": label,
    #: "en": label, "help_zh": the Chinese hint}`` (the English hint is the field's docstring).
    #: A subclass adds to its parent's; a setting without words shows its field name.
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {}

    def __init__(self, config: ConnectorConfig | Mapping[str, Any]) -> None:
        self.config = self.parse_config(config)

    # identity and configuration

    @classmethod
    def enabled(cls) -> bool:
        """Whether the optional drivers this connector needs are installed."""
        return all(importlib.util.find_spec(name) is not None for name in cls.requires_modules)

    @classmethod
    def parse_config(cls, raw: ConnectorConfig | Mapping[str, Any]) -> Any:
        """Validate a configuration, raising `ConfigInvalid` with a path per problem."""
        if isinstance(raw, cls.Config):
            return raw
        if isinstance(raw, BaseModel):
            raw = raw.model_dump()
        try:
            return cls.Config.model_validate(raw)
        except ValidationError as exc:
            # pydantic's `msg` never contains the input value, so secrets stay out of messages.
            issues = [ConfigIssue(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
            raise ConfigInvalid(issues) from None

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """The JSON Schema of `Config`, from which the admin page draws its form."""
        return cls.Config.model_json_schema()

    @classmethod
    def words_for_settings(cls) -> dict[str, Mapping[str, str]]:
        """`setting_words` of this class and its parents, the nearest class winning."""
        merged: dict[str, Mapping[str, str]] = {}
        for klass in reversed(cls.__mro__):
            merged.update(getattr(klass, "setting_words", None) or {})
        return merged

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        return secret_field_names(cls.Config)

    # the contract

    def test_connection(self) -> None:
        """Check that the source answers with this configuration. Returns nothing on success;
        raises `SourceUnavailable` (or `ConfigInvalid`) with a sentence saying what failed."""
        raise NotImplementedError

    def columns(self, query: str) -> list[ColumnInfo]:
        """The columns `fetch(query, ...)` yields, in order, so the designer can bind fields.
        Raises `QueryRejected` for a query this source does not accept."""
        raise NotImplementedError

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        """Stream at most `limit` rows as dicts of column name to value.

        `params` are always bound (placeholders, query parameters, equality filters), never
        pasted into query text. Validation problems (missing parameter, a write statement) raise
        `QueryRejected` when `fetch` is called; source failures raise `SourceUnavailable`, at
        the latest from the iterator. Money comes back as `Decimal`. Closing the iterator early
        releases the source's cursor or connection.
        """
        raise NotImplementedError

    def lookup(self, key: str) -> dict[str, Any] | None:
        """One record by its key (an account code, an employee number), or None if there is
        none. Only called when `capabilities.lookup` is true."""
        raise QueryRejected(f"The {self.type_name} connector does not support look-ups.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type_name}>"


def check_limit(limit: int) -> int:
    """Refuse a nonsensical row limit early, in the caller's frame, not from inside a stream."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise QueryRejected(f"The row limit must be a positive whole number, not {limit!r}.")
    return limit


def require_params(needed: set[str] | frozenset[str], params: Mapping[str, Any]) -> None:
    """Refuse a query whose placeholders are not all supplied (a missing value must never turn
    into NULL or an empty filter silently)."""
    missing = sorted(needed - set(params))
    if missing:
        names = ", ".join(f":{name}" for name in missing)
        raise QueryRejected(f"The query needs values for {names}, which were not supplied.")
