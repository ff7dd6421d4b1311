"""Offline Excel filling: a blank, protected workbook for a form, and reading it back.

Split along its seams: :mod:`.layout` (what goes where, a pure function of the template),
:mod:`.writer` (XlsxWriter, a resolved :class:`~.layout.BlankWorkbook` in, bytes out),
:mod:`.package` (the zip safety checks an upload passes before any XML is parsed),
:mod:`.reader` (openpyxl, the input area back into form data with cell-addressed problems)
and :mod:`.service` (access, the form service and the audit trail). The names below are
the package's public face, as before the split.
"""

from .layout import (
    FIRST_FORM_ROW,
    FIRST_LINE_ROW,
    FORM_SHEET,
    INPUT_ROWS,
    KEY_ROW,
    LISTS_SHEET,
    META_SHEET,
    WORKBOOK_FORMAT,
    BlankWorkbook,
    FormLine,
    LinesSheet,
    WorkbookLayout,
    layout_of,
)
from .package import (
    MAX_PART_BYTES,
    MAX_PARTS,
    MAX_SHARED_STRINGS,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    check_package,
)
from .reader import FilledWorkbook, cell_to_raw, read_workbook
from .service import (
    blank_workbook,
    import_workbook,
    max_upload_bytes,
    record_blank_download,
    record_rejected_upload,
)
from .writer import write_blank_workbook

__all__ = [
    "FIRST_FORM_ROW",
    "FIRST_LINE_ROW",
    "FORM_SHEET",
    "INPUT_ROWS",
    "KEY_ROW",
    "LISTS_SHEET",
    "MAX_PARTS",
    "MAX_PART_BYTES",
    "MAX_SHARED_STRINGS",
    "MAX_UNPACKED_BYTES",
    "MAX_UPLOAD_BYTES",
    "META_SHEET",
    "WORKBOOK_FORMAT",
    "BlankWorkbook",
    "FilledWorkbook",
    "FormLine",
    "LinesSheet",
    "WorkbookLayout",
    "blank_workbook",
    "cell_to_raw",
    "check_package",
    "import_workbook",
    "layout_of",
    "max_upload_bytes",
    "read_workbook",
    "record_blank_download",
    "record_rejected_upload",
    "write_blank_workbook",
]
