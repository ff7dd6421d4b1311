"""CSV exports: the report's raw data as plain text, for tools that are not Excel.

CSV carries the data alone: codes rather than their labels (``approved``, ``travel``), and
no title or basis sentence (a leading comment line breaks CSV parsers); the Excel and PDF
exports carry those for people.

Numbers are written plainly (``25000.00``, no thousands separators) so they parse
anywhere; text that a spreadsheet would run as a formula gets a leading apostrophe.
The BOM is on by default because Excel opens BOM-less UTF-8 as the local code page and
garbles Chinese.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO, TextIO

from quire.runtime.render.document import Column, ReportDocument
from quire.runtime.render.values import neutralise, plain_text


def write_report_csv(doc: ReportDocument, out: TextIO | BinaryIO, *, bom: bool = True) -> None:
    """Write ``doc``'s header and rows (and totals row) to ``out``, streaming the rows."""
    if isinstance(out, io.TextIOBase):
        text: TextIO = out  # type: ignore[assignment]
        wrapper = None
        if bom:
            text.write("\ufeff")
    else:
        wrapper = io.TextIOWrapper(
            out,  # type: ignore[arg-type,type-var]
            encoding="utf-8-sig" if bom else "utf-8",
            newline="",
            write_through=True,
        )
        text = wrapper
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        columns = doc.columns
        writer.writerow([neutralise(c.heading) for c in columns])
        for row in doc.rows:
            writer.writerow([_cell(row.get(c.key), c) for c in columns])
        # Asked after the rows: a streamed document adds its totals up as they pass.
        totals = doc.totals_row()
        if totals is not None:
            writer.writerow([_cell(totals.get(c.key), c) for c in columns])
    finally:
        if wrapper is not None:
            wrapper.flush()
            # Hand the caller's stream back open; closing the wrapper would close it.
            wrapper.detach()


def _cell(value: object, column: Column) -> str:
    text = plain_text(value, column)
    return neutralise(text) if column.type == "text" else text
