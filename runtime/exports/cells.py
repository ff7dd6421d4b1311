"""Typed spreadsheet cells shared by the print copy and the blank workbook.

Both write real numbers and dates with the report exports' number formats (money is
``#,##0.00``) and both write people's text so that a spreadsheet never runs it: a value
starting with ``= + - @`` (or tab/CR) is stored as quoted text, like Excel's own
leading apostrophe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from ..render.document import Column
from ..render.excel import MAX_CELL_CHARS, number_format
from ..render.values import exact_text, excel_exact, is_formula_like

CellKind = Literal["text", "money", "number", "percent", "date", "boolean"]
TYPED_KINDS: frozenset[str] = frozenset(("money", "number", "percent", "date", "boolean"))

#: Options every workbook Quire writes is opened with: text stays text.
WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": "yyyy-mm-dd",
}
TIMESTAMP_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class CellValue:
    """One resolved value: a typed value for numbers, dates and yes/no, else display text."""

    kind: CellKind
    value: Any
    places: int | None = None

    @property
    def num_format(self) -> str | None:
        if self.kind not in ("money", "number", "percent", "date"):
            return None
        return number_format(Column("value", {}, self.kind, decimals=self.places))


def places_of(value: Decimal, kind: str) -> int:
    """Decimal places a stored value carries (a percent's fraction has two more)."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return max(0, places - 2) if kind == "percent" else places


class CellWriter:
    """Formats created once per workbook and reused, and the one way to write a cell."""

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}

    def format(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(props)
        return self._cache[key]

    def text(self, sheet: Worksheet, row: int, col: int, text: str, **props: Any) -> None:
        """Write people's text; formula-like text is quoted so it stays text when edited."""
        text = text[:MAX_CELL_CHARS]
        if not text:
            sheet.write_blank(row, col, None, self.format(**props))
            return
        if is_formula_like(text):
            props = {**props, "quote_prefix": True}
        sheet.write_string(row, col, text, self.format(**props))

    def merged(
        self, sheet: Worksheet, row: int, first_col: int, last_col: int, text: str, **props: Any
    ) -> None:
        """Text across several columns of one row (instructions, notes), wrapped."""
        if last_col <= first_col:
            self.text(sheet, row, first_col, text, **props)
            return
        props = {**props, "text_wrap": True}
        if text and is_formula_like(text):
            props["quote_prefix"] = True
        fmt = self.format(**props)
        sheet.merge_range(row, first_col, row, last_col, "", fmt)
        sheet.write_string(row, first_col, text[:MAX_CELL_CHARS], fmt)

    def value(self, sheet: Worksheet, row: int, col: int, cell: CellValue, **props: Any) -> None:
        """Write a resolved value: numbers as numbers, dates as dates, the rest as text."""
        if cell.value is None or cell.value == "":
            sheet.write_blank(row, col, None, self.format(**props))
            return
        num_format = cell.num_format
        if num_format:
            props = {**props, "num_format": num_format}
        fmt = self.format(**props)
        if cell.kind in ("money", "number", "percent"):
            exact = cell.value if isinstance(cell.value, Decimal) else Decimal(str(cell.value))
            if excel_exact(exact):
                sheet.write_number(row, col, float(exact), fmt)
            else:
                sheet.write_string(
                    row, col, exact_text(exact), self.format(**{**props, "align": "right"})
                )
        elif cell.kind == "date":
            day = cell.value
            sheet.write_datetime(row, col, dt.datetime(day.year, day.month, day.day), fmt)
        elif cell.kind == "boolean":
            sheet.write_boolean(row, col, bool(cell.value), fmt)
        else:
            self.text(sheet, row, col, str(cell.value), **props)

    def timestamp(
        self, sheet: Worksheet, row: int, col: int, at: dt.datetime, **props: Any
    ) -> None:
        """A moment as the wall time the reader saw (Excel has no time zones)."""
        fmt = self.format(num_format=TIMESTAMP_FORMAT, **props)
        sheet.write_datetime(row, col, at.replace(tzinfo=None, microsecond=0), fmt)


def typed(kind: str, value: Any) -> CellValue | None:
    """A widget's export value as a cell, or None when it is not a number, date or yes/no."""
    if value is None or kind not in TYPED_KINDS:
        return None
    if kind in ("money", "number", "percent"):
        if not isinstance(value, Decimal | int):
            return None
        number = Decimal(value)
        places = 2 if kind == "money" else places_of(number, kind)
        return CellValue(kind, number, places)  # type: ignore[arg-type]
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        return CellValue("date", value) if isinstance(value, dt.date) else None
    return CellValue("boolean", bool(value))


def sheet_names(
    table_keys: list[str], reserved: tuple[str, ...], bases: dict[str, str] | None = None
) -> dict[str, str]:
    """A sheet per table, named after its key (``lines`` → ``Lines``) or the name ``bases``
    gives it (its label: 费用明细), unique and valid. Error addresses such as ``Lines!D9``
    use these names."""
    taken = {name.lower() for name in reserved}
    names: dict[str, str] = {}
    for key in table_keys:
        base = (bases or {}).get(key) or key.title()[:28] or "Table"
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}{n}", n + 1
        taken.add(name.lower())
        names[key] = name
    return names
