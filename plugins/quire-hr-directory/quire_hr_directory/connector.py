"""The HR directory connector: who works here, where, in which position, and who has left.

HR systems export their directory as CSV (most can schedule it to a shared folder), or answer
it from a REST API; this connector reads either (``source``: ``csv`` or ``rest``). The REST mode
goes through Quire's own ``rest`` connector, so the same allowed hosts, address checks (no
loopback or private address unless the operator allowed it), timeouts and size caps hold. Two
queries: ``employees`` (employee_no, username, display_name,
email, department, manager, position, status) and ``departments`` (code, name_zh, name_en,
parent). Parameters are equality filters on columns, compared as text, so a value is never
anything but a value. Quire's ``quire hr sync`` and its hourly job read a data source of this
type (key ``hr-directory`` by default) and apply the changes to the organisation.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from quire.plugins.base import (
    Capabilities,
    ColumnInfo,
    Connector,
    ConnectorConfig,
    QueryRejected,
    SourceUnavailable,
    check_limit,
)
from quire.plugins.builtin.rest import RestConfig, RestConnector
from quire.plugins.reach import Reach, file_in_folder

__all__ = ["HrDirectoryConfig", "HrDirectoryConnector", "sample_folder"]

QUERIES: dict[str, tuple[str, ...]] = {
    "employees": (
        "employee_no",
        "username",
        "display_name",
        "email",
        "department",
        "manager",
        "position",
        "status",
    ),
    "departments": ("code", "name_zh", "name_en", "parent"),
}
STATUSES = frozenset({"active", "on_leave", "left"})


def sample_folder() -> Path:
    """The sample export shipped with the plugin (the demo organisation plus one new hire)."""
    return Path(__file__).parent / "sample"


#: A file name, not a path: the exports are read from the source's own folder only.
_FILE_NAME = r"^[^/\\\x00]+\.csv$"
#: A path under the REST base URL (``v1/employees``), never a full URL or a climb out of it.
_API_PATH = r"^[A-Za-z0-9_\-][A-Za-z0-9_\-./]*$"
#: Pages read from a paged REST directory before giving up (a guard against an endless API).
MAX_PAGES = 1000
#: Rows asked of one REST page; the API decides its own page size.
_PAGE_ROWS = 1_000_000


class HrDirectoryConfig(ConnectorConfig):
    folder: Path = Field(json_schema_extra={"runtime": True})
    """Folder holding the exports; the runtime sets it to the source's own folder under the
    instance (``datasources/<key>/``), where the HR system's export job copies its files."""
    employees_csv: str = Field(
        default="employees.csv",
        pattern=_FILE_NAME,
        json_schema_extra={"placeholder": "employees.csv"},
    )
    """The HR system's employee export in that folder (UTF-8 CSV with a header row)."""
    departments_csv: str | None = Field(default=None, pattern=_FILE_NAME)
    """The department export in that folder; without it the sync only creates people in known
    departments."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    """CSV field separator."""
    source: Literal["csv", "rest"] = "csv"
    """Where the directory comes from: CSV exports in the folder, or the HR system's REST API."""
    base_url: str | None = Field(
        default=None, json_schema_extra={"placeholder": "https://hr.example.com/api/"}
    )
    """REST: where the API's paths start."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """REST: host names the source may call (exact, or *.example.com)."""
    auth_header: str = "Authorization"
    """REST: the header that carries the credential."""
    auth_token: SecretStr | None = Field(default=None, json_schema_extra={"secret": True})
    """REST: the credential, e.g. "Bearer eyJ..."."""
    employees_path: str = Field(default="employees", pattern=_API_PATH)
    """REST: the path of the employee list under the base URL."""
    departments_path: str | None = Field(default=None, pattern=_API_PATH)
    """REST: the path of the department list; without it the sync only creates people in known
    departments."""
    rows_path: str = Field(default="", pattern=r"^([A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*)?$")
    """REST: dotted path to the list in each answer (e.g. data.items); empty when the answer is
    the list itself."""
    page_param: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """REST: the query parameter that pages the list (page=1, 2, … until an empty page); empty
    when the API answers the whole list at once."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    """REST: seconds to wait for one answer."""

    @model_validator(mode="after")
    def _rest_needs_its_address(self) -> HrDirectoryConfig:
        if self.source == "rest":
            if not self.base_url:
                raise ValueError('source "rest" needs base_url, the address of the HR API')
            if not self.allowed_hosts:
                raise ValueError('source "rest" needs allowed_hosts, the hosts it may call')
            self.rest_config()  # the rest connector's own checks: a URL on an allowed host
        return self

    def rest_config(self) -> RestConfig:
        """The settings of the `rest` connector the REST mode reads through."""
        return RestConfig(
            base_url=self.base_url or "",
            allowed_hosts=self.allowed_hosts,
            auth_header=self.auth_header,
            auth_token=self.auth_token,
            rows_path=self.rows_path,
            timeout_s=self.timeout_s,
        )


class HrDirectoryConnector(Connector):
    type_name: ClassVar[str] = "hr_directory"
    display_name: ClassVar[Mapping[str, str]] = {"zh": "人事系统通讯录", "en": "HR directory"}
    version: ClassVar[str] = "0.2.0"
    Config: ClassVar[type[ConnectorConfig]] = HrDirectoryConfig
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "employees_csv": {
            "zh": "员工导出文件",
            "en": "Employee export",
            "help_zh": "该文件夹中人事系统的员工导出文件（UTF-8 CSV，带表头）。",
        },
        "departments_csv": {
            "zh": "部门导出文件",
            "en": "Department export",
            "help_zh": "该文件夹中的部门导出文件；没有它时，同步只在已有部门中创建人员。",
        },
        "delimiter": {
            "zh": "CSV 分隔符",
            "en": "CSV delimiter",
            "help_zh": "CSV 文件的字段分隔符。",
        },
        "source": {
            "zh": "数据来源",
            "en": "Source",
            "help_zh": "通讯录来源：文件夹中的 CSV 导出（csv）或人事系统接口（rest）。",
        },
        "base_url": {
            "zh": "接口地址",
            "en": "Base URL",
            "help_zh": "REST：接口路径的起点，例如 https://hr.example.com/api/v2/org/。",
        },
        "allowed_hosts": {
            "zh": "允许访问的主机",
            "en": "Allowed hosts",
            "help_zh": "REST：可以访问的主机名，每行一个（精确匹配，或 *.example.com）。",
        },
        "auth_header": {
            "zh": "认证请求头",
            "en": "Auth header",
            "help_zh": "REST：携带凭据的请求头。",
        },
        "auth_token": {
            "zh": "认证凭据",
            "en": "Auth token",
            "help_zh": "REST：凭据，例如 Bearer eyJ...，加密保存。",
        },
        "employees_path": {
            "zh": "员工列表路径",
            "en": "Employees path",
            "help_zh": "REST：员工列表在接口地址下的路径。",
        },
        "departments_path": {
            "zh": "部门列表路径",
            "en": "Departments path",
            "help_zh": "REST：部门列表的路径；没有它时，同步只在已有部门中创建人员。",
        },
        "rows_path": {
            "zh": "数据行路径",
            "en": "Rows path",
            "help_zh": "REST：每个应答中列表的路径（如 data.items）；应答本身就是列表时留空。",
        },
        "page_param": {
            "zh": "分页参数",
            "en": "Page parameter",
            "help_zh": "REST：分页的查询参数（page=1、2……直到空页）；接口一次给出全部列表时留空。",
        },
        "timeout_s": {
            "zh": "超时（秒）",
            "en": "Timeout (seconds)",
            "help_zh": "REST：等待一次应答的秒数。",
        },
    }
    capabilities: ClassVar[Capabilities] = Capabilities(filter_pushdown=True, lookup=True)

    config: HrDirectoryConfig

    def __init__(
        self,
        config: ConnectorConfig | Mapping[str, Any],
        *,
        reach: Reach | None = None,
        transport: Any = None,
    ) -> None:
        """`reach` (from the runtime) and `transport` (tests) are handed to the REST mode."""
        super().__init__(config)
        self._rest: RestConnector | None = None
        if self.config.source == "rest":
            self._rest = RestConnector(self.config.rest_config(), transport=transport, reach=reach)

    def test_connection(self) -> None:
        for query in self._queries():
            with self._open(query) as rows:
                next(rows, None)

    def columns(self, query: str) -> list[ColumnInfo]:
        return [ColumnInfo(name) for name in self._columns(query)]

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        columns = self._columns(query)
        check_limit(limit)
        unknown = sorted(set(params) - set(columns))
        if unknown:
            raise QueryRejected(f"{query} has no column {', '.join(unknown)} to filter on.")
        wanted = {k: str(v) for k, v in params.items()}
        return self._stream(query, columns, wanted, limit)

    def lookup(self, key: str) -> dict[str, Any] | None:
        """One employee by employee number."""
        return next(self._stream("employees", QUERIES["employees"], {"employee_no": key}, 1), None)

    # --- internals ----------------------------------------------------------------------------

    def _queries(self) -> list[str]:
        departments = self.config.departments_path if self._rest else self.config.departments_csv
        return ["employees", "departments"] if departments else ["employees"]

    def _columns(self, query: str) -> tuple[str, ...]:
        if query not in self._queries():
            raise QueryRejected(f"Ask for {' or '.join(self._queries())}, not {query!r}.")
        return QUERIES[query]

    def _stream(
        self, query: str, columns: tuple[str, ...], wanted: dict[str, str], limit: int
    ) -> Iterator[dict[str, Any]]:
        count = 0
        with self._open(query) as rows:
            for line, raw in enumerate(rows, start=2):
                row = {name: _text(raw.get(name)) for name in columns}
                if query == "employees":
                    row["status"] = (row["status"] or "active").lower()
                    if row["status"] not in STATUSES:
                        raise SourceUnavailable(
                            f"employees {'item' if self._rest else 'line'} "
                            f"{line - 1 if self._rest else line}: "
                            f"unknown status {row['status']!r}."
                        )
                if all((row.get(k) or "") == v for k, v in wanted.items()):
                    yield row
                    count += 1
                    if count >= limit:
                        return

    def _open(self, query: str) -> Any:
        if self._rest is not None:
            return self._api_rows(query)
        name = self.config.employees_csv if query == "employees" else self.config.departments_csv
        assert name is not None
        # Never a path outside the source's folder, and the same answer whether or not a file
        # exists elsewhere.
        return _Rows(
            file_in_folder(self.config.folder, name), QUERIES[query], self.config.delimiter
        )

    @contextmanager
    def _api_rows(self, query: str) -> Iterator[Iterator[dict[str, Any]]]:
        assert self._rest is not None
        path = self.config.employees_path if query == "employees" else self.config.departments_path
        assert path is not None
        yield self._pages(self._rest, path, QUERIES[query])

    def _pages(
        self, rest: RestConnector, path: str, needed: tuple[str, ...]
    ) -> Iterator[dict[str, Any]]:
        """Every row of the list, page after page when the API pages it."""
        page_param = self.config.page_param
        for page in range(1, MAX_PAGES + 1):
            params = {page_param: page} if page_param else {}
            rows = list(rest.fetch(path, params, _PAGE_ROWS))
            if page == 1 and rows:
                missing = [c for c in ("username", "code") if c in needed and c not in rows[0]]
                if missing:
                    raise SourceUnavailable(
                        f"The HR API's {path} gives no {missing[0]} in its items."
                    )
            yield from rows
            if not page_param or not rows:
                return
        raise SourceUnavailable(f"The HR API's {path} has more than {MAX_PAGES} pages.")


def _text(value: Any) -> str | None:
    """A directory value as text: CSV cells and JSON values (numbers, text) alike."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip() or None


class _Rows:
    """The rows of one export as dicts; refuses a file without the needed header."""

    def __init__(self, path: Path, needed: tuple[str, ...], delimiter: str) -> None:
        self._path, self._needed, self._delimiter = path, needed, delimiter
        self._handle: Any = None

    def __enter__(self) -> Iterator[dict[str, Any]]:
        try:
            self._handle = self._path.open(encoding="utf-8-sig", newline="")
            reader = csv.DictReader(self._handle, delimiter=self._delimiter)
            header = set(reader.fieldnames or [])
        except (OSError, UnicodeError, csv.Error) as exc:
            raise SourceUnavailable(f"The HR export {self._path.name} cannot be read.") from exc
        missing = [c for c in ("username", "code") if c in self._needed and c not in header]
        if missing:
            raise SourceUnavailable(f"The HR export {self._path.name} has no {missing[0]} column.")
        return iter(reader)

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.close()
