"""The `sql` connector: a SELECT against a database reached by a SQLAlchemy URL.

A finance administrator writes the query with `:name` placeholders (`WHERE dept = :dept`); the
values always travel as bound parameters. Every query runs in a read-only transaction with a
statement timeout and is streamed with a server-side cursor, so a report can neither change the
ERP nor hold a connection for ever. Tested on PostgreSQL (psycopg 3), MariaDB (PyMySQL) and
SQLite.

The statement check below (one statement, starting with SELECT or WITH, no INTO) is the first
line of defence; the read-only transaction is the second, and the database account the
administrator configures should be read-only as well.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql.elements import TextClause

from ..base import (
    Capabilities,
    ColumnInfo,
    ColumnType,
    ConfigInvalid,
    ConfigIssue,
    Connector,
    ConnectorConfig,
    ConnectorError,
    QueryRejected,
    SourceUnavailable,
    check_limit,
    column_type_of,
    require_params,
)
from ..reach import Reach

__all__ = [
    "SqlConfig",
    "SqlConnector",
    "SqlDatabaseConfig",
    "check_select_statement",
    "dispose_engines",
]

#: Drivers Quire is tested with. Others may work but are refused until someone tests them.
SUPPORTED_DRIVERS = frozenset({"postgresql+psycopg", "mysql+pymysql", "mariadb+pymysql", "sqlite"})


class SqlDatabaseConfig(ConnectorConfig):
    """How to reach a database safely; shared by `sql` and connectors built on it."""

    url: str = Field(
        min_length=1,
        json_schema_extra={"placeholder": "postgresql+psycopg://report_reader@erp-db:5432/erp"},
    )
    """SQLAlchemy URL without the password, e.g. postgresql+psycopg://user@host:5432/db."""
    password: SecretStr | None = Field(default=None, json_schema_extra={"secret": True})
    """Password of the database account (use a read-only account)."""
    statement_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """A query running longer than this is stopped and the source reported unavailable."""
    connect_timeout_s: int = Field(default=10, ge=1, le=120)
    """How long to wait for the database to accept a connection."""
    max_rows: int = Field(default=50_000, ge=1, le=5_000_000)
    """Upper bound on rows per query, whatever limit the caller asks for."""

    @field_validator("url")
    @classmethod
    def _url_is_supported_and_has_no_password(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("password")
    @classmethod
    def _no_password_for_a_sqlite_file(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        """A SQLite database is a file and has no password; SQLAlchemy would drop it silently
        or fail to connect, so say so where the admin typed it."""
        url = info.data.get("url")
        if value is not None and value.get_secret_value() and isinstance(url, str):
            if make_url(url).get_backend_name() == "sqlite":
                raise ValueError(
                    "a SQLite database is a file and has no password: leave the password empty"
                )
        return value


class SqlConfig(SqlDatabaseConfig):
    lookup_query: str | None = None
    """Optional SELECT with a `:key` placeholder returning one record, for look-up fields."""

    @field_validator("lookup_query")
    @classmethod
    def _lookup_query_is_a_select_with_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_select_statement(value)
        except QueryRejected as exc:
            raise ValueError(exc.message) from None
        if "key" not in _placeholders(sa.text(value)):
            raise ValueError("must use the :key placeholder")
        return value


class SqlConnector(Connector):
    """Runs read-only SELECT queries with bound parameters against a SQL database."""

    type_name: ClassVar[str] = "sql"
    display_name: ClassVar[Mapping[str, str]] = {"zh": "SQL 数据库", "en": "SQL database"}
    version: ClassVar[str] = "1.0"
    Config: ClassVar[type[ConnectorConfig]] = SqlConfig
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "url": {
            "zh": "数据库地址",
            "en": "Database URL",
            "help_zh": "SQLAlchemy 连接串，不含密码，例如 postgresql+psycopg://用户@主机:5432/库名。",
        },
        "password": {
            "zh": "密码",
            "en": "Password",
            "help_zh": "数据库账号的密码（请使用只读账号）。",
        },
        "statement_timeout_s": {
            "zh": "查询超时（秒）",
            "en": "Query timeout (seconds)",
            "help_zh": "查询超过此时间即中止，并报告数据源不可用。",
        },
        "connect_timeout_s": {
            "zh": "连接超时（秒）",
            "en": "Connect timeout (seconds)",
            "help_zh": "等待数据库接受连接的时间。",
        },
        "max_rows": {
            "zh": "最多行数",
            "en": "Most rows",
            "help_zh": "每次查询最多返回的行数，无论调用方要求多少。",
        },
        "lookup_query": {
            "zh": "查找语句",
            "en": "Look-up query",
            "help_zh": "可选：带 :key 占位符、返回一条记录的 SELECT 语句，供查找字段使用。",
        },
    }
    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_pushdown=True, paging=True, lookup=True
    )
    requires_modules: ClassVar[tuple[str, ...]] = ("sqlalchemy",)

    config: SqlConfig

    def __init__(
        self, config: ConnectorConfig | Mapping[str, Any], *, reach: Reach | None = None
    ) -> None:
        """`reach` (from the runtime) names Quire's own database and instance folder, which
        no source may read."""
        super().__init__(config)
        self._check_driver_installed()
        try:
            (reach or Reach()).check_database_url(self.config.url)
        except ValueError as exc:
            raise ConfigInvalid([ConfigIssue(("url",), str(exc))]) from None

    # --- the contract ---------------------------------------------------------------------

    def test_connection(self) -> None:
        rows = list(self._stream(sa.text("SELECT 1 AS ok"), {}, 1))
        if not rows:
            raise SourceUnavailable("The database answered SELECT 1 with no row.")

    def columns(self, query: str) -> list[ColumnInfo]:
        clause = self._prepare(query)
        # Every placeholder bound to NULL: the query still describes its columns, and usually
        # returns nothing, which keeps this cheap.
        nulls = dict.fromkeys(_placeholders(clause))
        return self._describe(clause, nulls)

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        clause = self._prepare(query)
        needed = _placeholders(clause)
        require_params(needed, params)
        bound = {name: params[name] for name in needed}
        return self._stream(_expand_lists(clause, bound), bound, check_limit(limit))

    def lookup(self, key: str) -> dict[str, Any] | None:
        if self.config.lookup_query is None:
            raise QueryRejected("This data source has no look-up query configured.")
        clause = sa.text(self.config.lookup_query)
        return next(self._stream(clause, {"key": key}, 1), None)

    # --- for subclasses (the ERP ledger connector builds statements with SQLAlchemy Core) ---

    def _prepare(self, query: str) -> TextClause:
        check_select_statement(query)
        return sa.text(query)

    def _stream(
        self, statement: sa.Executable, params: Mapping[str, Any], limit: int
    ) -> Iterator[dict[str, Any]]:
        """Run `statement` read-only with the timeout and yield up to `limit` rows as dicts."""
        limit = min(limit, self.config.max_rows)
        engine = self._engine()
        try:
            with engine.connect() as conn, _statement_deadline(conn, self.config):
                _begin_read_only(conn, self.config)
                streaming = conn.execution_options(stream_results=True, yield_per=min(limit, 500))
                result = streaming.execute(statement, dict(params))
                try:
                    keys = list(result.keys())
                    for count, row in enumerate(result, start=1):
                        yield dict(zip(keys, row, strict=True))
                        if count >= limit:
                            break
                finally:
                    # Closing the server-side cursor before the rollback (PyMySQL warns and
                    # PostgreSQL keeps the portal open otherwise).
                    result.close()
        except sa_exc.DBAPIError as exc:
            raise _map_dbapi_error(exc, self.config) from exc
        except sa_exc.StatementError as exc:
            raise QueryRejected(f"The query could not be run: {_first_line(exc.orig)}") from exc

    def _describe(self, statement: sa.Executable, params: Mapping[str, Any]) -> list[ColumnInfo]:
        engine = self._engine()
        try:
            with engine.connect() as conn, _statement_deadline(conn, self.config):
                _begin_read_only(conn, self.config)
                result = conn.execute(statement, dict(params))
                description = result.cursor.description if result.cursor is not None else None
                first = result.fetchone()
                result.close()
        except sa_exc.DBAPIError as exc:
            raise _map_dbapi_error(exc, self.config) from exc
        except sa_exc.StatementError as exc:
            raise QueryRejected(f"The query could not be run: {_first_line(exc.orig)}") from exc
        columns = []
        for index, col in enumerate(description or ()):
            kind: ColumnType = "text"
            if first is not None and first[index] is not None:
                kind = column_type_of(first[index])
            else:
                kind = _type_from_description(engine.dialect.name, col[1])
            columns.append(ColumnInfo(col[0], kind))
        return columns

    def _engine(self) -> Engine:
        return _engine_for(self.config)

    def _check_driver_installed(self) -> None:
        try:
            make_url(self.config.url).get_dialect().import_dbapi()
        except ImportError as exc:
            issue = ConfigIssue(("url",), f"needs the Python driver {exc.name!r}, not installed")
            raise ConfigInvalid([issue]) from exc


def _check_url(value: str) -> str:
    try:
        url = make_url(value)
    except sa_exc.ArgumentError:
        msg = "is not a database URL such as postgresql+psycopg://user@host/db"
        raise ValueError(msg) from None
    if url.drivername not in SUPPORTED_DRIVERS:
        supported = ", ".join(sorted(SUPPORTED_DRIVERS))
        raise ValueError(f"uses driver {url.drivername!r}; supported are {supported}")
    if url.password is not None:
        raise ValueError("must not contain the password; put it in the password field")
    return value


# --- statement checks --------------------------------------------------------------------------

# String literals, quoted identifiers and comments, which may legitimately contain `;` or words.
_LITERALS_AND_COMMENTS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|--[^\n]*|\#[^\n]*|/\*.*?\*/""",
    re.DOTALL,
)
_WRITE_INTO = re.compile(r"\binto\b", re.IGNORECASE)


def check_select_statement(query: str) -> None:
    """Refuse anything but one SELECT (or WITH ... SELECT) statement, with `QueryRejected`.

    Literals and comments are blanked first so `';'` inside a string does not count. The check
    errs on the side of refusing (a `;` inside dollar quoting is refused too); the read-only
    transaction catches what it cannot see.
    """
    if not isinstance(query, str) or not query.strip():
        raise QueryRejected("The query is empty.")
    if "'" in _LITERALS_AND_COMMENTS.sub(" ", query).replace("''", ""):
        raise QueryRejected("The query has an unterminated string literal.")
    code = _LITERALS_AND_COMMENTS.sub(" ", query).strip()
    code = code.removesuffix(";").rstrip()
    if ";" in code:
        raise QueryRejected("Only one statement is allowed; remove the ';' between statements.")
    first = code.split(None, 1)[0].lower() if code else ""
    first = first.lstrip("(")
    if first not in {"select", "with"}:
        shown = first.upper() or "nothing"
        raise QueryRejected(f"Only SELECT queries are allowed; this one starts with {shown}.")
    if _WRITE_INTO.search(code):
        raise QueryRejected("SELECT ... INTO writes data and is not allowed in a data source.")


def _placeholders(clause: TextClause) -> frozenset[str]:
    """The `:name` placeholders SQLAlchemy will bind, found exactly the way it finds them."""
    return frozenset(clause.compile().params)


def _expand_lists(clause: TextClause, params: Mapping[str, Any]) -> TextClause:
    """Let `WHERE dept IN :depts` take a list: each element becomes its own bound parameter."""
    lists = [name for name, value in params.items() if isinstance(value, list | tuple)]
    if not lists:
        return clause
    return clause.bindparams(*(sa.bindparam(name, expanding=True) for name in lists))


# --- read-only sessions, timeouts, engines -----------------------------------------------------


def _begin_read_only(conn: Connection, config: SqlDatabaseConfig) -> None:
    """Open a read-only transaction with a statement timeout, in each database's own words."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text("SET TRANSACTION READ ONLY"))
        ms = str(max(1, int(config.statement_timeout_s * 1000)))
        # set_config(..., is_local => true) is SET LOCAL with a bound value.
        conn.execute(sa.text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": ms})
    elif dialect in {"mysql", "mariadb"}:
        if getattr(conn.dialect, "is_mariadb", False):
            conn.execute(
                sa.text("SET SESSION max_statement_time = :s"), {"s": config.statement_timeout_s}
            )
        else:
            ms = max(1, int(config.statement_timeout_s * 1000))
            conn.execute(sa.text("SET SESSION max_execution_time = :ms"), {"ms": ms})
        conn.execute(sa.text("START TRANSACTION READ ONLY"))
    elif dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")


class _statement_deadline:  # noqa: N801 - used as a context manager, reads as a phrase
    """SQLite has no statement timeout: a progress handler interrupts the query at the deadline.
    For the other databases the server enforces the timeout and this does nothing."""

    def __init__(self, conn: Connection, config: SqlDatabaseConfig) -> None:
        self._raw = None
        if conn.dialect.name == "sqlite":
            self._raw = conn.connection.dbapi_connection
            deadline = time.monotonic() + config.statement_timeout_s
            # A non-zero return from the handler interrupts the running statement.
            self._handler = lambda: int(time.monotonic() > deadline)

    def __enter__(self) -> None:
        if self._raw is not None:
            self._raw.set_progress_handler(self._handler, 10_000)

    def __exit__(self, *exc_info: object) -> None:
        if self._raw is not None:
            self._raw.set_progress_handler(None, 0)


_engines: dict[tuple[str, int, float], Engine] = {}
_engines_lock = threading.Lock()


def _engine_for(config: SqlDatabaseConfig) -> Engine:
    """One engine (and connection pool) per distinct database and timeout settings."""
    url = make_url(config.url)
    if config.password is not None:
        url = url.set(password=config.password.get_secret_value())
    key = (
        url.render_as_string(hide_password=False),
        config.connect_timeout_s,
        config.statement_timeout_s,
    )
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create_engine(url, config)
        return engine


def _create_engine(url: sa.URL, config: SqlDatabaseConfig) -> Engine:
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args["connect_timeout"] = config.connect_timeout_s
    elif backend in {"mysql", "mariadb"}:
        connect_args["connect_timeout"] = config.connect_timeout_s
        # A backstop if the server-side timeout does not fire (a hung network, not a query).
        connect_args["read_timeout"] = math.ceil(config.statement_timeout_s) + 10
    elif backend == "sqlite":
        # Streaming may be driven from a guard thread (see plugins/cache.py).
        connect_args["check_same_thread"] = False
        connect_args["timeout"] = config.connect_timeout_s
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True, pool_recycle=1800)


def dispose_engines() -> None:
    """Close every pooled connection (at shutdown, after a data source is edited, in tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# --- error mapping -----------------------------------------------------------------------------

#: MySQL/MariaDB error numbers that mean "the server is not usable now" rather than "bad query".
_MYSQL_UNAVAILABLE = frozenset({1040, 1044, 1045, 1049, 1053, 1205, 1213})
_MYSQL_TIMEOUT = frozenset({1969, 3024})
_PG_REJECTED_CLASSES = ("0A", "21", "22", "23", "25", "2B", "34", "3F", "42")


def _map_dbapi_error(exc: sa_exc.DBAPIError, config: SqlDatabaseConfig) -> ConnectorError:
    """Turn a driver error into the connector error a person can act on."""
    orig = exc.orig
    detail = _first_line(orig)
    timeout = SourceUnavailable(
        f"The database did not answer within {config.statement_timeout_s:g} seconds; "
        "the query was stopped."
    )
    read_only = QueryRejected("The query tried to change data; data sources are read-only.")
    unavailable = SourceUnavailable(f"The database is unavailable: {detail}")
    rejected = QueryRejected(f"The database refused the query: {detail}")

    driver = type(orig).__module__
    sqlstate = getattr(orig, "sqlstate", None)
    if driver.startswith("psycopg") and isinstance(sqlstate, str):
        if sqlstate == "57014":
            return timeout
        if sqlstate == "25006":
            return read_only
        return rejected if sqlstate.startswith(_PG_REJECTED_CLASSES) else unavailable

    code = orig.args[0] if getattr(orig, "args", None) else None
    if isinstance(code, int) and driver.startswith("pymysql"):
        if code in _MYSQL_TIMEOUT:
            return timeout
        if code == 1792:
            return read_only
        return unavailable if code >= 2000 or code in _MYSQL_UNAVAILABLE else rejected

    if driver == "sqlite3":
        text = detail.lower()
        if "interrupted" in text:
            return timeout
        if "readonly" in text or "read-only" in text or "query_only" in text:
            return read_only
        if any(s in text for s in ("unable to open", "locked", "disk i/o", "not a database")):
            return unavailable
        return rejected

    if exc.connection_invalidated or isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError
    ):
        return unavailable
    return rejected


def _type_from_description(dialect: str, type_code: Any) -> ColumnType:
    """Column type from the cursor description when there is no row to look at."""
    if dialect == "postgresql" and isinstance(type_code, int):
        if type_code in {20, 21, 23, 26, 700, 701, 1700}:
            return "number"
        if type_code == 1082:
            return "date"
        if type_code in {1114, 1184}:
            return "datetime"
        if type_code == 16:
            return "boolean"
    if dialect in {"mysql", "mariadb"} and isinstance(type_code, int):
        if type_code in {0, 1, 2, 3, 4, 5, 8, 9, 246}:
            return "number"
        if type_code in {10, 14}:
            return "date"
        if type_code in {7, 12}:
            return "datetime"
    return "text"


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line[:300]
