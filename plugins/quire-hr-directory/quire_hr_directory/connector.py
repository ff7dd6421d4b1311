"""The HR directory connector: who works here, where, in which position, and who has left.

HR systems export their directory as CSV (most can schedule it to a shared folder); this
connector reads that export. Two queries: ``employees`` (employee_no, username, display_name,
email, department, manager, position, status) and ``departments`` (code, name_zh, name_en,
parent). Parameters are equality filters on columns, compared as text, so a value is never
anything but a value. Quire's ``quire hr sync`` and its hourly job read a data source of this
type (key ``hr-directory`` by default) and apply the changes to the organisation.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from quire.plugins.base import (
    Capabilities,
    ColumnInfo,
    Connector,
    ConnectorConfig,
    QueryRejected,
    SourceUnavailable,
    check_limit,
)
from quire.plugins.reach import file_in_folder

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


class HrDirectoryConnector(Connector):
    type_name: ClassVar[str] = "hr_directory"
    display_name: ClassVar[Mapping[str, str]] = {"zh": "人事系统通讯录", "en": "HR directory"}
    version: ClassVar[str] = "0.1.0"
    Config: ClassVar[type[ConnectorConfig]] = HrDirectoryConfig
    capabilities: ClassVar[Capabilities] = Capabilities(filter_pushdown=True, lookup=True)

    config: HrDirectoryConfig

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
        return ["employees", "departments"] if self.config.departments_csv else ["employees"]

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
                row = {name: (raw.get(name) or "").strip() or None for name in columns}
                if query == "employees":
                    row["status"] = (row["status"] or "active").lower()
                    if row["status"] not in STATUSES:
                        raise SourceUnavailable(
                            f"employees line {line}: unknown status {row['status']!r}."
                        )
                if all((row.get(k) or "") == v for k, v in wanted.items()):
                    yield row
                    count += 1
                    if count >= limit:
                        return

    def _open(self, query: str) -> _Rows:
        name = self.config.employees_csv if query == "employees" else self.config.departments_csv
        assert name is not None
        # Never a path outside the source's folder, and the same answer whether or not a file
        # exists elsewhere.
        return _Rows(
            file_in_folder(self.config.folder, name), QUERIES[query], self.config.delimiter
        )


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
