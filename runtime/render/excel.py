"""Excel exports written with XlsxWriter in ``constant_memory`` mode.

Rows are streamed: each row goes to the worksheet's temporary file as soon as it is
written, so a 100,000-line ledger costs about as much memory as a 100-line one. That
mode needs rows in order, so everything that depends on the whole sheet (autofilter
range, conditional formats, column widths) is either stored and written at close by
XlsxWriter, or estimated from the first rows before any is written.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from quire.runtime.render.document import (
    FLAG_COLOURS,
    FLAGS_KEY,
    MEMBERS_KEY,
    STYLE_KEY,
    ChartSpec,
    Column,
    ReportDocument,
    bilingual,
    localised,
)
from quire.runtime.render.values import (
    FORMULA_LEADERS,
    as_date,
    as_decimal,
    column_widths,
    exact_text,
    excel_exact,
    is_formula_like,
)

#: Rows looked at to size the columns; later rows never widen them.
WIDTH_SAMPLE_ROWS = 200
MAX_COLUMN_WIDTH = 60
MAX_CELL_CHARS = 32_767  # Excel's limit; XlsxWriter would refuse longer strings.
#: Detail rows kept for a chart whose Vega-Lite spec has no inline data.
MAX_CHART_POINTS = 500
FORMULA_LEADER_SET = frozenset(FORMULA_LEADERS)

HEADER_ROW = 0
FIRST_DATA_ROW = 1


def number_format(column: Column) -> str | None:
    """Excel number format for a column; money is ``#,##0.00`` unless told otherwise."""
    decimals = "." + "0" * column.places if column.places else ""
    return {
        "money": "#,##0" + decimals,
        "number": "#,##0" + decimals,
        "percent": "0" + decimals + "%",
        "integer": "#,##0",
        "date": "yyyy-mm-dd",
    }.get(column.type)


class _Formats:
    """Every cell format the workbook needs, created on first use and then reused.

    XlsxWriter writes one style record per ``Format`` object, so creating formats per cell
    would bloat the file and slow Excel down; the cache keys on what makes a style differ.
    """

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[str | None, str | None, str | None, bool], Format] = {}
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#E7E6E6", "bottom": 1, "valign": "top"}
        )
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.label = workbook.add_format({"bold": True})
        self.text = workbook.add_format({})
        self.timestamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.note = workbook.add_format({"italic": True, "font_color": "#595959"})

    def cell(
        self, num_format: str | None, style: str | None, flag: str | None, quoted: bool = False
    ) -> Format | None:
        key = (num_format, style, flag, quoted)
        if key in self._cache:
            return self._cache[key]
        props: dict[str, Any] = {}
        if num_format:
            props["num_format"] = num_format
        if style in ("subtotal", "total"):
            props.update({"bold": True, "top": 1})
            props["bg_color"] = "#F2F2F2" if style == "subtotal" else "#E7E6E6"
        if flag in FLAG_COLOURS:
            props["bg_color"] = FLAG_COLOURS[flag]["fill"]
            props["font_color"] = FLAG_COLOURS[flag]["text"]
        if quoted:
            # Excel's own "typed with a leading apostrophe": stays text even when edited.
            props["quote_prefix"] = True
        fmt = self._workbook.add_format(props) if props else None
        self._cache[key] = fmt  # type: ignore[assignment]
        return fmt

    def flag(self, flag: str) -> Format:
        """A fill-only format for conditional-format rules (they ignore number formats)."""
        return self.cell(None, None, flag) or self.text


def write_report_xlsx(doc: ReportDocument, out: BinaryIO | str) -> None:
    """Write ``doc`` as a workbook: the report sheet, a chart sheet, a parameters sheet."""
    doc = doc.for_people()
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            # Text is always written with write_string; these keep write() honest too.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd",
        },
    )
    try:
        formats = _Formats(workbook)
        title = bilingual(doc.title)
        workbook.set_properties(
            {
                "title": title,
                "author": doc.generated_by,
                "company": doc.company,
                "comments": f"{doc.template_key} v{doc.template_version}",
                "created": doc.generated_at.replace(tzinfo=None),
            }
        )
        preferred = doc.sheet_name or doc.title.get("zh") or ""
        sheet = workbook.add_worksheet(_sheet_name(preferred, "报表 Report"))
        _set_up_printing(sheet, doc)
        chart_rows = _write_report_sheet(workbook, sheet, doc, formats)
        if doc.chart is not None:
            _add_chart(workbook, doc, doc.chart, chart_rows, formats)
        _write_parameters_sheet(workbook.add_worksheet("参数 Parameters"), doc, formats)
        sheet.activate()
    finally:
        workbook.close()


#: Columns beyond which a report prints on landscape pages.
LANDSCAPE_COLUMNS = 8
#: The template's paper sizes as Excel's paper codes.
PAPER_CODES = {"A4": 9, "A3": 8, "A5": 11, "Letter": 1}


def _set_up_printing(sheet: Worksheet, doc: ReportDocument) -> None:
    """Print as finance does: landscape where the table is wide, one page wide (as many
    pages long as it takes), the header row on every page, the template's paper."""
    if len(doc.columns) > LANDSCAPE_COLUMNS:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.set_paper(PAPER_CODES.get(doc.paper, PAPER_CODES["A4"]))


def _sheet_name(preferred: str, fallback: str) -> str:
    bad = set("[]:*?/\\")
    name = "".join(ch for ch in preferred if ch not in bad).strip("'")[:31]
    return name or fallback


def _write_report_sheet(
    workbook: Workbook, sheet: Worksheet, doc: ReportDocument, formats: _Formats
) -> list[Mapping[str, Any]]:
    columns = doc.columns
    rows = iter(doc.rows)
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    for col, width in enumerate(column_widths(columns, sample, cap=MAX_COLUMN_WIDTH)):
        sheet.set_column(col, col, width)

    for col, column in enumerate(columns):
        sheet.write_string(HEADER_ROW, col, column.heading, formats.header)
    sheet.freeze_panes(FIRST_DATA_ROW, 0)

    kinds = [c.type for c in columns]
    keys = [c.key for c in columns]
    num_formats = [number_format(c) for c in columns]
    plain = [formats.cell(f, None, None) for f in num_formats]
    want_chart = doc.chart is not None and doc.chart.inline_values() is None
    chart_rows: list[Mapping[str, Any]] = []

    row_index = FIRST_DATA_ROW
    all_rows: Iterable[Mapping[str, Any]] = itertools.chain(sample, rows)
    write_string = sheet.write_string
    write_number = sheet.write_number
    write_datetime = sheet.write_datetime
    write_blank = sheet.write_blank
    cell_format = formats.cell
    labels = [c.labels for c in columns]
    specs = list(enumerate(zip(keys, kinds, num_formats, plain, labels, strict=True)))
    # Subtotal rows wait until the detail rows are written: they go below the range that
    # autofilter and sort act on, so sorting the data never drags a subtotal into it.
    held: list[Mapping[str, Any]] = []
    # This loop runs once per cell of a 100,000-line export, so it avoids helper calls on
    # the common path (plain str, Decimal, date) and falls back to them otherwise.
    for row in all_rows:
        style = row.get(STYLE_KEY)
        if style:
            held.append(row)
            continue
        flags = row.get(FLAGS_KEY)
        decorated = bool(flags)
        if want_chart and len(chart_rows) < MAX_CHART_POINTS:
            chart_rows.append(row)
        for col, (key, kind, num_format, fmt, named) in specs:
            value = row.get(key)
            if decorated:
                fmt = cell_format(num_format, style, flags.get(key) if flags else None)
            if value is None or (value.__class__ is str and not value):
                if decorated:
                    write_blank(row_index, col, None, fmt)
                continue
            if kind == "text":
                text = value if value.__class__ is str else str(value)
                if named is not None:
                    text = named.get(text, text)
                if len(text) > MAX_CELL_CHARS:
                    text = text[:MAX_CELL_CHARS]
                first = text[0]
                if first in FORMULA_LEADER_SET or (first == " " and is_formula_like(text)):
                    fmt = cell_format(None, style, flags.get(key) if flags else None, True)
                write_string(row_index, col, text, fmt)
            elif kind == "date":
                if value.__class__ is not dt.date:
                    value = as_date(value)
                write_datetime(row_index, col, dt.datetime(value.year, value.month, value.day), fmt)
            else:
                if value.__class__ is not Decimal and value.__class__ is not int:
                    value = as_decimal(value)
                if excel_exact(value):
                    write_number(row_index, col, float(value), fmt)
                else:
                    write_string(row_index, col, exact_text(value), fmt)
        row_index += 1

    last_detail = max(row_index - 1, FIRST_DATA_ROW)
    sheet.autofilter(HEADER_ROW, 0, last_detail, len(columns) - 1)
    totals = doc.totals_row()
    for row in [*held, *([totals] if totals is not None else [])]:
        _write_summary_row(sheet, row_index, row, columns, last_detail, formats)
        row_index += 1
    last_row = max(row_index - 1, FIRST_DATA_ROW)
    for col, column in enumerate(columns):
        if column.thresholds is not None and row_index > FIRST_DATA_ROW:
            _add_threshold_rules(sheet, col, column, last_row, formats)
    if doc.subtitle:
        # How the numbers are counted (the basis sentence under the web title), one blank
        # row below the table: outside the range that sorting and filters act on.
        sheet.write_string(row_index + 1, 0, localised(doc.subtitle, doc.locale), formats.note)
    return chart_rows


def _write_summary_row(
    sheet: Worksheet,
    at: int,
    row: Mapping[str, Any],
    columns: Sequence[Column],
    last_detail: int,
    formats: _Formats,
) -> None:
    """A subtotal or total row below the data range. Its sums are formulas with their values
    cached (a viewer that does not calculate still shows them): the total is
    ``SUBTOTAL(109, …)`` over the data, so it follows a filter; a subtotal adds up its member
    rows by key (:func:`_visible_sum_of_members`), so it still holds after the data is sorted
    and follows a filter too."""
    style = row.get(STYLE_KEY)
    flags = row.get(FLAGS_KEY) or {}
    members = row.get(MEMBERS_KEY) or {}
    for col, column in enumerate(columns):
        value = row.get(column.key)
        fmt = formats.cell(number_format(column), style, flags.get(column.key))
        if value is None or value == "":
            sheet.write_blank(at, col, None, fmt)
            continue
        if column.type == "text":
            text = str(column.label_of(value))[:MAX_CELL_CHARS]
            quoted = text[0] in FORMULA_LEADER_SET or is_formula_like(text)
            if quoted:
                fmt = formats.cell(None, style, flags.get(column.key), True)
            sheet.write_string(at, col, text, fmt)
            continue
        if column.type == "date":
            day = as_date(value)
            sheet.write_datetime(at, col, dt.datetime(day.year, day.month, day.day), fmt)
            continue
        exact = value if isinstance(value, Decimal | int) else as_decimal(value)
        if not excel_exact(exact):
            sheet.write_string(at, col, exact_text(exact), fmt)
            continue
        number = float(exact)
        data = _range(col, last_detail)
        formula = None
        if column.type in ("money", "number", "integer") and last_detail >= FIRST_DATA_ROW:
            if style == "total":
                formula = f"=SUBTOTAL(109,{data})"
            elif members:
                formula = _visible_sum_of_members(col, last_detail, members, columns)
        if formula is None:
            sheet.write_number(at, col, number, fmt)
        else:
            sheet.write_formula(at, col, formula, fmt, number)


def _visible_sum_of_members(
    col: int, last_detail: int, members: Mapping[str, Any], columns: Sequence[Column]
) -> str | None:
    """The sum of the visible detail rows whose key is one of the members:
    ``SUMPRODUCT(SUBTOTAL(109, OFFSET(first, n, 0)), --(key is a member))``. ``SUMIFS``
    would keep counting rows a filter hides; ``SUBTOTAL`` of each single cell is 0 for a
    hidden row. Excel and LibreOffice both calculate it."""
    position = {c.key: i for i, c in enumerate(columns)}
    # The key cells hold what people read (a label where the column has labels).
    tests = [
        f'({_range(position[key], last_detail)}="{_quoted(columns[position[key]].label_of(v))}")'
        for key, values in members.items()
        if key in position
        for v in values
    ]
    if not tests:
        return None
    data = _range(col, last_detail)
    first = xl_rowcol_to_cell(FIRST_DATA_ROW, col, True, True)
    visible = f"SUBTOTAL(109,OFFSET({first},ROW({data})-ROW({first}),0))"
    return f"=SUMPRODUCT({visible},--(({'+'.join(tests)})>0))"


def _range(col: int, last_detail: int) -> str:
    first = xl_rowcol_to_cell(FIRST_DATA_ROW, col, True, True)
    return f"{first}:{xl_rowcol_to_cell(last_detail, col, True, True)}"


def _quoted(value: Any) -> str:
    return str(value).replace('"', '""')


def _add_threshold_rules(
    sheet: Worksheet, col: int, column: Column, last_row: int, formats: _Formats
) -> None:
    """The column's thresholds as real Excel rules, red first so it wins over amber."""
    thresholds = column.thresholds
    assert thresholds is not None
    criteria = ">=" if thresholds.above else "<="
    cells = (FIRST_DATA_ROW, col, last_row, col)
    for flag, limit in (("red", thresholds.red), ("amber", thresholds.amber)):
        sheet.conditional_format(
            *cells,
            {
                "type": "cell",
                "criteria": criteria,
                "value": float(limit),
                "format": formats.flag(flag),
                "stop_if_true": True,
            },
        )


def _add_chart(
    workbook: Workbook,
    doc: ReportDocument,
    spec: ChartSpec,
    detail_rows: list[Mapping[str, Any]],
    formats: _Formats,
) -> None:
    """A native chart on its own sheet, fed from a small data sheet it can reference."""
    values = spec.inline_values()
    points: Sequence[Mapping[str, Any]] = values if values is not None else detail_rows
    data_sheet = workbook.add_worksheet("图表数据 Chart data")
    labels = {c.key: c.heading for c in doc.columns}
    columns = {c.key: c for c in doc.columns}
    fields = [spec.category, *spec.values]
    for col, field_name in enumerate(fields):
        data_sheet.write_string(0, col, labels.get(field_name, field_name), formats.header)
        data_sheet.set_column(col, col, 18)
    # The chart reads its numbers from these cells, so they carry the column's number format
    # (a rate is stored as 0.25 and must read 25 %, on the sheet and on the chart's axis).
    value_formats = [number_format(columns[f]) if f in columns else None for f in spec.values]
    value_cells = [formats.cell(f, None, None) for f in value_formats]
    for r, point in enumerate(points, start=1):
        category = point.get(spec.category)
        data_sheet.write_string(r, 0, "" if category is None else str(category))
        for col, field_name in enumerate(spec.values, start=1):
            number = as_decimal(point.get(field_name))
            if number is not None:
                data_sheet.write_number(r, col, float(number), value_cells[col - 1])
    last = max(len(points), 1)
    options = {"type": {"bar": "column"}.get(spec.kind, spec.kind)}
    if spec.stacked and spec.kind == "bar":
        options["subtype"] = "stacked"
    chart = workbook.add_chart(options)
    sheet_ref = "'图表数据 Chart data'"
    for col, field_name in enumerate(spec.values, start=1):
        chart.add_series(
            {
                "name": labels.get(field_name, field_name),
                "categories": f"={sheet_ref}!{xl_rowcol_to_cell(1, 0, True, True)}:"
                f"{xl_rowcol_to_cell(last, 0, True, True)}",
                "values": f"={sheet_ref}!{xl_rowcol_to_cell(1, col, True, True)}:"
                f"{xl_rowcol_to_cell(last, col, True, True)}",
            }
        )
    chart.set_title({"name": bilingual(spec.title) if spec.title else bilingual(doc.title)})
    shared = set(value_formats)
    if spec.kind != "pie" and len(shared) == 1 and (axis := shared.pop()):
        # Whole percents on the axis (25 %), the cells keep their decimals.
        chart.set_y_axis({"num_format": "0%" if axis.endswith("%") else axis})
    if spec.kind != "pie" and len(spec.values) == 1:
        chart.set_legend({"none": True})
    chartsheet = workbook.add_chartsheet("图表 Chart")
    chartsheet.set_chart(chart)


def _write_parameters_sheet(sheet: Worksheet, doc: ReportDocument, formats: _Formats) -> None:
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 48)
    sheet.write_string(0, 0, bilingual(doc.title), formats.title)
    sheet.write_string(1, 0, doc.company)
    row = 3
    for label, value in doc.parameters:
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, value, formats.cell(None, None, None, is_formula_like(value)))
        row += 1
    provenance: list[tuple[str, Any]] = [
        ("生成时间 Generated at", doc.generated_at),
        ("时区 UTC offset", doc.generated_at.strftime("%z")),
        ("生成人 Generated by", doc.generated_by),
        ("模板 Template", doc.template_key),
        ("模板版本 Template version", str(doc.template_version)),
    ]
    for label, value in provenance:
        sheet.write_string(row, 0, label, formats.label)
        if isinstance(value, dt.datetime):
            # Excel has no time zones: the wall time the user saw, with the offset beside it.
            sheet.write_datetime(row, 1, value.replace(tzinfo=None), formats.timestamp)
        else:
            sheet.write_string(
                row, 1, value, formats.cell(None, None, None, is_formula_like(value))
            )
        row += 1
