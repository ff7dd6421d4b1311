"""An upload is an untrusted zip file: refuse what is not a plain .xlsx (too large, zip
bombs, macros, links to other files) before openpyxl parses any of its XML."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from flask_babel import gettext as _

from ...errors import Detail, Invalid, TooLarge

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Limits on what the zip unpacks to, checked before any XML is parsed (a zip bomb of a few
#: hundred KB can unpack to gigabytes). A filled Quire workbook is well under a megabyte.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_PART_BYTES = 16 * 1024 * 1024
MAX_PARTS = 2000
#: Most entries in xl/sharedStrings.xml (every distinct text of the workbook).
MAX_SHARED_STRINGS = 100_000
SHARED_STRINGS_PART = "xl/sharedstrings.xml"
ACCEPTED_SUFFIXES = frozenset({"", ".xlsx"})
MACRO_SUFFIXES = frozenset({".xlsm", ".xltm", ".xlam", ".xlsb"})
#: Parts that carry code or reach outside the file; a workbook with any of them is refused.
MACRO_PARTS = ("xl/vbaproject", "xl/macrosheets/", "xl/dialogsheets/", "xl/activex/")
EXTERNAL_LINK_PARTS = ("xl/externallinks/",)


def check_package(content: bytes, filename: str | None, limit: int) -> None:
    """Refuse what is not a plain .xlsx before any XML is parsed: too large, not a zip,
    macros (.xlsm, VBA, Excel 4 macro sheets, ActiveX), or links to other files."""
    if len(content) > limit:
        raise TooLarge(
            _("The workbook is larger than %(mb)s MB.", mb=limit // (1024 * 1024)),
            [Detail("file", _("at most %(limit)s bytes", limit=limit))],
        )
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in MACRO_SUFFIXES:
        raise refused(
            _("macro-enabled workbooks are not accepted; save it as an Excel workbook (.xlsx)")
        )
    if suffix not in ACCEPTED_SUFFIXES:
        raise refused(_("only Excel workbooks (.xlsx) are accepted"))
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
        infos = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise refused(_("this file is not an Excel workbook (.xlsx)")) from None
    names = [i.filename.lower() for i in infos]
    if "xl/workbook.xml" not in names:
        raise refused(_("this file is not an Excel workbook (.xlsx)"))
    _check_unpacked_sizes(package, infos)
    if any(name.startswith(MACRO_PARTS) for name in names):
        raise refused(
            _("workbooks with macros are not accepted; save it as an Excel workbook (.xlsx)")
        )
    types = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
    if (
        types is not None
        and types.file_size < 1024 * 1024
        and b"macroEnabled" in package.read(types)
    ):
        raise refused(
            _("workbooks with macros are not accepted; save it as an Excel workbook (.xlsx)")
        )
    if any(name.startswith(EXTERNAL_LINK_PARTS) for name in names):
        raise refused(_("the workbook links to other files; remove the links and upload it again"))


def _check_unpacked_sizes(package: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Parts, unpacked sizes and shared strings within bounds, by the zip's directory and one
    streamed pass over the shared strings (zipfile stops a part that unpacks to more than its
    directory says, so the declared sizes can be trusted)."""
    too_large = TooLarge(
        _("The workbook unpacks to too much data."), [Detail("file", _("too large when unpacked"))]
    )
    if len(infos) > MAX_PARTS:
        raise too_large
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise too_large
    if any(i.file_size > MAX_PART_BYTES for i in infos):
        raise too_large
    shared = next((i for i in infos if i.filename.lower() == SHARED_STRINGS_PART), None)
    if shared is None:
        return
    count, tail = 0, b""
    try:
        with package.open(shared) as stream:
            while chunk := stream.read(1 << 20):
                window = tail + chunk
                count += window.count(b"<si>") + window.count(b"<si ")
                tail = window[-3:]
                if count > MAX_SHARED_STRINGS:
                    raise TooLarge(
                        _("The workbook has too many different texts."),
                        [Detail("file", _("too many different texts"))],
                    )
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        raise refused(_("this file is not an Excel workbook (.xlsx)")) from None


def refused(message: str) -> Invalid:
    return Invalid(_("The workbook cannot be read."), [Detail("file", message)])
