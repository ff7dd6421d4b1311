"""The `file` connector: CSV and XLSX files uploaded into the Quire instance.

Finance keeps many small tables in spreadsheets (budget lines, exchange rates, a cost-centre
list). The administrator uploads the file into a folder the runtime owns and declares the
column types; the query is the file's name. Only declared files can be read, which also keeps
a query from naming a path outside the folder.

XLSX is read with openpyxl in read-only mode (with defusedxml installed, so the XML is parsed
safely) and CSV with the standard library, UTF-8 with or without a byte-order mark. Parameters
are equality filters on columns, compared after converting the value to the column's type.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from ..base import (
    Capabilities,
    ColumnInfo,
    ColumnType,
    Connector,
    ConnectorConfig,
    ConnectorError,
    QueryRejected,
    SourceUnavailable,
    check_limit,
)
from ..reach import file_in_folder

__all__ = ["FileConfig", "FileConnector", "FileTable"]

_SAFE_NAME = r"^[^/\\\x00]+\.(csv|xlsx)$"


class FileTable(ConnectorConfig):
    """One uploaded file and the types of its columns."""

    name: str = Field(pattern=_SAFE_NAME, max_length=255)
    """The file name inside the folder, e.g. budget-2025.xlsx; this is what a query names."""
    sheet: str | None = None
    """For XLSX: the worksheet to read; the first one when empty."""
    columns: dict[str, ColumnType] = Field(default_factory=dict)
    """Types by header name; undeclared columns are text."""

    @field_validator("name")
    @classmethod
    def _not_a_dot_name(cls, value: str) -> str:
        if value.startswith("."):
            raise ValueError("must not start with a dot")
        return value


class FileConfig(ConnectorConfig):
    folder: Path = Field(json_schema_extra={"runtime": True})
    """Folder holding the uploads; the runtime sets it to the instance's uploads folder."""
    files: list[FileTable] = Field(default_factory=list)
    """The files that can be queried, with their column types."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    """CSV field separator."""


class FileConnector(Connector):
    """Reads declared CSV/XLSX uploads, typed, filtered by equality on columns."""

    type_name: ClassVar[str] = "file"
    display_name: ClassVar[Mapping[str, str]] = {
        "zh": "上传文件（CSV/Excel）",
        "en": "Uploaded file",
    }
    version: ClassVar[str] = "1.0"
    Config: ClassVar[type[ConnectorConfig]] = FileConfig
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "files": {"zh": "文件", "en": "Files", "help_zh": "可查询的文件及其列类型（JSON）。"},
        "delimiter": {
            "zh": "CSV 分隔符",
            "en": "CSV delimiter",
            "help_zh": "CSV 文件的字段分隔符。",
        },
    }
    capabilities: ClassVar[Capabilities] = Capabilities(filter_pushdown=True)
    requires_modules: ClassVar[tuple[str, ...]] = ("openpyxl",)

    config: FileConfig

    def test_connection(self) -> None:
        if not self.config.folder.is_dir():
            raise SourceUnavailable("No file has been uploaded to this data source yet.")
        missing = []
        for table in self.config.files:
            try:
                file_in_folder(self.config.folder, table.name)
            except SourceUnavailable:
                missing.append(table.name)
        if missing:
            raise SourceUnavailable(f"These files have not been uploaded: {', '.join(missing)}.")

    def columns(self, query: str) -> list[ColumnInfo]:
        table = self._table(query)
        with _open_rows(self._path(table), table, self.config.delimiter) as rows:
            header = _header(next(rows, None))
        return [ColumnInfo(name, table.columns.get(name, "text")) for name in header]

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        table = self._table(query)
        check_limit(limit)
        return self._stream(table, params, limit)

    def _stream(
        self, table: FileTable, params: Mapping[str, Any], limit: int
    ) -> Iterator[dict[str, Any]]:
        with _open_rows(self._path(table), table, self.config.delimiter) as rows:
            header = _header(next(rows, None))
            unknown = sorted(set(params) - set(header))
            if unknown:
                raise QueryRejected(
                    f"{table.name} has no column {', '.join(unknown)} to filter on "
                    f"(columns: {', '.join(header)})."
                )
            types = {name: table.columns.get(name, "text") for name in header}
            wanted = {
                name: _convert(value, types[name], where=f"parameter {name}", error=QueryRejected)
                for name, value in params.items()
            }
            count = 0
            for line, raw in enumerate(rows, start=2):
                if all(cell in (None, "") for cell in raw):
                    continue  # blank lines at the end of exported sheets
                record = {
                    name: _convert(cell, types[name], where=f"{table.name} row {line}, {name}")
                    # A bad cell is the file's fault, not the query's: SourceUnavailable.
                    for name, cell in zip(header, _pad(raw, len(header)), strict=True)
                }
                if all(record[name] == value for name, value in wanted.items()):
                    yield record
                    count += 1
                    if count >= limit:
                        return

    def _table(self, query: str) -> FileTable:
        for table in self.config.files:
            if table.name == query:
                return table
        raise QueryRejected(f"{query!r} is not one of this source's uploaded files.")

    def _path(self, table: FileTable) -> Path:
        return file_in_folder(self.config.folder, table.name)


class _open_rows:  # noqa: N801 - a context manager named for what it gives
    """Rows of a CSV or XLSX file as lists of cells, header first; closes the file after."""

    def __init__(self, path: Path, table: FileTable, delimiter: str) -> None:
        self._path, self._table, self._delimiter = path, table, delimiter
        self._close: Any = None

    def __enter__(self) -> Iterator[list[Any]]:
        try:
            if self._path.suffix.lower() == ".csv":
                handle = self._path.open(encoding="utf-8-sig", newline="")
                self._close = handle.close
                return iter(csv.reader(handle, delimiter=self._delimiter))
            return self._xlsx_rows()
        except (OSError, UnicodeError) as exc:
            # The OS error names the full path, which would reveal the instance folder.
            raise SourceUnavailable(f"The file {self._table.name} cannot be read.") from exc

    def _xlsx_rows(self) -> Iterator[list[Any]]:
        import openpyxl  # imported here: only XLSX sources pay for it

        try:
            book = openpyxl.load_workbook(self._path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors alike
            raise SourceUnavailable(f"{self._table.name} is not a readable workbook.") from exc
        self._close = book.close
        sheet_name = self._table.sheet
        if sheet_name is not None and sheet_name not in book.sheetnames:
            raise QueryRejected(f"{self._table.name} has no worksheet {sheet_name!r}.")
        sheet = book[sheet_name] if sheet_name else book.worksheets[0]
        return (list(row) for row in sheet.iter_rows(values_only=True))

    def __exit__(self, *exc_info: object) -> None:
        if self._close is not None:
            self._close()


def _header(first: list[Any] | None) -> list[str]:
    if first is None:
        return []
    names = []
    for index, cell in enumerate(first, start=1):
        name = str(cell).strip() if cell not in (None, "") else f"column_{index}"
        names.append(name)
    while names and names[-1].startswith("column_") and first[len(names) - 1] in (None, ""):
        names.pop()  # trailing empty header cells of a spreadsheet
    return names


def _pad(raw: list[Any], width: int) -> Iterable[Any]:
    return (raw + [None] * width)[:width]


_NUMBER_NOISE = re.compile(r"[,\s_¥$€£]")


def _convert(
    value: Any,
    kind: ColumnType,
    *,
    where: str,
    error: type[ConnectorError] = SourceUnavailable,
) -> Any:
    """A cell or parameter as the declared type; money and numbers are Decimal, never float."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        if kind in {"number", "money"}:
            return _to_decimal(value)
        if kind == "date":
            return _to_date(value)
        if kind == "datetime":
            return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if kind == "boolean":
            return _to_bool(value)
    except (ValueError, InvalidOperation, TypeError) as exc:
        raise error(f"{where}: {value!r} is not a valid {kind}.") from exc
    return value.strip() if isinstance(value, str) else str(value)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the digits Excel shows, not the binary expansion
    text = _NUMBER_NOISE.sub("", str(value))
    negative = text.startswith("(") and text.endswith(")")  # accounting style (1,234.00)
    number = Decimal(text.strip("()"))
    if not number.is_finite():
        raise ValueError("not a finite number")
    return -number if negative else number


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip().replace("/", "-"))


def _to_bool(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "是"}:
        return True
    if text in {"0", "false", "no", "n", "否"}:
        return False
    raise ValueError("not a yes/no value")
