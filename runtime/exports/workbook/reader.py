"""Reading a filled workbook back with openpyxl (read-only, through defusedxml): only the
input area, at the addresses :func:`.layout.layout_of` gives; every problem found at a JSON
path is turned back into the cell it came from (``Lines!D9``)."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import openpyxl.xml
from flask_babel import gettext as _

from quire.designer.model import Template

from ...errors import Detail, Invalid, TooLarge
from ...forms import values as form_values
from .layout import (
    FIRST_LINE_ROW,
    FORM_SHEET_ROW,
    KEY_ROW,
    META_SHEET,
    TABLE_SHEET_PREFIX,
    LinesSheet,
    WorkbookLayout,
    layout_of,
)
from .package import refused

#: Rows below the input area that are looked at, to report lines that would be lost.
OVERFLOW_SCAN_ROWS = 1000
#: The row a table error names, in either language: the cell address says it already.
_ROW_PREFIX = re.compile(r"^(?:row \d+: |第 \d+ 行：)")
_PATH = re.compile(r"^([a-z][a-z0-9_]*)(?:\[(\d+)\](?:\.([a-z][a-z0-9_]*))?)?$")


@dataclass
class FilledWorkbook:
    """What an upload holds: the ``data`` object to create from, and where each line was."""

    layout: WorkbookLayout
    data: dict[str, Any] = field(default_factory=dict)
    #: Excel row of each line that was read, per table key (index = JSON row index).
    rows: dict[str, list[int]] = field(default_factory=dict)
    problems: list[Detail] = field(default_factory=list)

    def locate(self, detail: Detail) -> Detail:
        """A problem at a JSON path, addressed by the cell it came from."""
        match = _PATH.match(detail.path)
        if match is None:
            return Detail(f"{self.layout.form_sheet}!A1", f"{detail.path}: {detail.message}")
        key, index, column = match.group(1), match.group(2), match.group(3)
        table = self.layout.table(key)
        if table is not None:
            rows = self.rows.get(key, [])
            if index is None:
                return Detail(f"{table.name}!A{FIRST_LINE_ROW}", detail.message)
            i = int(index)
            row = rows[i] if i < len(rows) else FIRST_LINE_ROW + i
            letter = (table.letter(column) if column else None) or "A"
            return Detail(f"{table.name}!{letter}{row}", _ROW_PREFIX.sub("", detail.message))
        row = self.layout.row_of(key)
        if row is None:
            return Detail(f"{self.layout.form_sheet}!A1", f"{detail.path}: {detail.message}")
        return Detail(f"{self.layout.form_sheet}!B{row}", detail.message)


def read_workbook(
    content: bytes, *, key: str, version: int, template: Template, field_access: Mapping[str, str]
) -> FilledWorkbook:
    """The values of the input cells, after :func:`check_package`."""
    if not openpyxl.xml.DEFUSEDXML:
        raise RuntimeError("uploads need defusedxml installed (and OPENPYXL_DEFUSEDXML not off)")
    try:
        book = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False, keep_vba=False
        )
    except Exception as exc:  # noqa: BLE001 - anything a crafted file makes the parser raise
        raise refused(_("this file could not be read as an Excel workbook")) from exc
    try:
        written = _check_identity(book, key, version)
        filled = FilledWorkbook(_layout_as_written(template, written, book.sheetnames))
        _read_form_sheet(book, filled, field_access)
        for table in filled.layout.tables:
            if field_access.get(table.field.key) == "edit":
                _read_lines_sheet(book, table, filled)
        return filled
    except (Invalid, TooLarge):
        raise
    except Exception as exc:  # noqa: BLE001 - malformed parts surface while rows stream
        raise refused(_("this file could not be read as an Excel workbook")) from exc
    finally:
        book.close()


def _cells(sheet: Any, min_row: int, max_row: int, max_col: int) -> list[tuple[Any, ...]]:
    return list(
        sheet.iter_rows(
            min_row=min_row, max_row=max_row, min_col=1, max_col=max_col, values_only=True
        )
    )


#: Rows of the ``_quire`` sheet looked at: identity, then the sheets' names.
META_ROWS = 64


def _layout_as_written(
    template: Template, written: Mapping[str, Any], present: Sequence[str]
) -> WorkbookLayout:
    """The layout under the sheet names this workbook was given: those the ``_quire`` sheet
    records, else whichever language's names are in the file (a workbook from before the
    names were recorded is in English)."""
    ways = [layout_of(template, "en"), layout_of(template, "zh_CN")]

    def pick(recorded: Any, candidates: list[str]) -> str:
        for name in [str(recorded)] * (recorded is not None) + candidates:
            if name in present:
                return name
        return str(recorded) if recorded is not None else candidates[0]

    form_sheet = pick(written.get(FORM_SHEET_ROW), [w.form_sheet for w in ways])
    tables = {
        t.field.key: pick(
            written.get(f"{TABLE_SHEET_PREFIX}{t.field.key}"),
            [w.table(t.field.key).name for w in ways],  # type: ignore[union-attr]
        )
        for t in ways[0].tables
    }
    return ways[0].named(form_sheet, tables)


def _check_identity(book: Any, key: str, version: int) -> dict[str, Any]:
    if META_SHEET not in book.sheetnames:
        raise Invalid(
            _("This is not a Quire workbook."),
            [
                Detail(
                    f"{META_SHEET}!B1",
                    _(
                        "the workbook has no Quire form in it; download a blank workbook "
                        "for the form and fill that in"
                    ),
                )
            ],
        )
    found = {
        str(r[0]): r[1] for r in _cells(book[META_SHEET], 1, META_ROWS, 2) if r and r[0] is not None
    }
    if found.get("template") != key:
        raise Invalid(
            _("This workbook is for another form."),
            [
                Detail(
                    f"{META_SHEET}!B1",
                    _(
                        "this workbook is for the form %(theirs)s, not %(ours)s",
                        theirs=str(found.get("template"))[:64],
                        ours=key,
                    ),
                )
            ],
        )
    try:
        theirs = int(found.get("version"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        theirs = None
    if theirs != version:
        shown = theirs if theirs is not None else "?"
        raise Invalid(
            _("This workbook was made for another version of the form."),
            [
                Detail(
                    f"{META_SHEET}!B2",
                    _(
                        "this workbook was made for version %(theirs)s of the form, which is now "
                        "at version %(ours)s; download a new blank workbook and copy your "
                        "entries into it",
                        theirs=shown,
                        ours=version,
                    ),
                )
            ],
        )
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_form_sheet(book: Any, filled: FilledWorkbook, field_access: Mapping[str, str]) -> None:
    form_sheet = filled.layout.form_sheet
    if form_sheet not in book.sheetnames:
        raise Invalid(
            _("The workbook cannot be read."),
            [Detail(f"{form_sheet}!A1", _("the %(sheet)s sheet is missing", sheet=form_sheet))],
        )
    rows = _cells(book[form_sheet], 1, filled.layout.last_row, 2)
    registry = form_values.widgets()
    for line in filled.layout.lines:
        if line.kind != "field" or field_access.get(line.field.key) != "edit":
            continue
        if registry.for_field(line.field).computed:
            continue
        label, value = (
            (rows[line.row - 1] + (None, None))[:2] if line.row - 1 < len(rows) else (None, None)
        )
        if str(label or "").lstrip("* ") != line.text:
            filled.problems.append(
                Detail(
                    f"{form_sheet}!A{line.row}",
                    _(
                        'expected the row "%(row)s" here; the layout was changed, so download '
                        "a new blank workbook and copy your entries into it",
                        row=line.text,
                    ),
                )
            )
            continue
        if not _blank(value):
            filled.data[line.field.key] = cell_to_raw(line.field, value)


def _read_lines_sheet(book: Any, table: LinesSheet, filled: FilledWorkbook) -> None:
    key = table.field.key
    if table.name not in book.sheetnames:
        filled.problems.append(
            Detail(f"{table.name}!A1", _("the %(sheet)s sheet is missing", sheet=table.name))
        )
        return
    sheet = book[table.name]
    columns = table.columns
    keys_row = _cells(sheet, KEY_ROW, KEY_ROW, len(columns))
    keys = [str(v) if v is not None else "" for v in (keys_row[0] if keys_row else ())]
    if keys != [c.key for c in columns]:
        filled.problems.append(
            Detail(
                f"{table.name}!A{KEY_ROW}",
                _(
                    "the columns were changed; download a new blank workbook and "
                    "copy your lines into it"
                ),
            )
        )
        return
    registry = form_values.widgets()
    inputs = [(i, c) for i, c in enumerate(columns) if not registry.for_field(c).computed]
    lines: list[dict[str, Any]] = []
    rows_read: list[int] = []
    last_scanned = table.last_row + OVERFLOW_SCAN_ROWS
    for offset, values in enumerate(_cells(sheet, FIRST_LINE_ROW, last_scanned, len(columns))):
        row = FIRST_LINE_ROW + offset
        values = tuple(values) + (None,) * (len(columns) - len(values))
        if all(_blank(values[i]) for i, _c in inputs):
            continue
        if row > table.last_row:
            filled.problems.append(
                Detail(
                    f"{table.name}!A{row}",
                    _(
                        "at most %(n)s lines fit, in rows %(first)s to %(last)s; "
                        "this row would be lost",
                        n=table.capacity,
                        first=FIRST_LINE_ROW,
                        last=table.last_row,
                    ),
                )
            )
            break
        lines.append({c.key: cell_to_raw(c, values[i]) for i, c in inputs if not _blank(values[i])})
        rows_read.append(row)
    filled.data[key] = lines
    filled.rows[key] = rows_read


def cell_to_raw(f: Any, value: Any) -> Any:
    """A cell's value as the widget's parser takes it (the parser is the judge of it)."""
    return form_values.widgets().for_field(f).from_cell(f, value)
