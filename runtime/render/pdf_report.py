"""Report PDFs typeset by Typst from one fixed layout, with the report handed over as JSON.

Typst is used because it sets a 2,000-row CJK table about 20-30x faster than WeasyPrint.
The layout (``layouts/report.typ``) reads the report from ``sys.inputs``, so user text is
data and never markup, and ``root`` is the layouts folder, so nothing else can be read.

Every compile runs in a throw-away child process (``typst_child.py``): the binding never
evicts Typst's process-global memoisation cache, so compiling in the web worker would
keep hundreds of megabytes for good. Reports up to ``SINGLE_COMPILE_ROWS`` are one
compile. One Typst document of 20,000 rows needs about 1.9 GB, so longer reports are
typeset in chunks of ``CHUNK_ROWS`` (``workers`` at a time) and merged with pypdf. A chunk
cannot know the final page count, so chunks leave the folio out; once all pages are
counted, one small Typst document holding only the folios ("第 x / y 页 · page x of y") is
typeset and stamped onto the merged pages: one extra small compile instead of typesetting
every chunk twice. Each chunk starts on a new page, and every page repeats the page
header and the table header.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import functools
import io
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

from quire.runtime.render.document import (
    FLAG_COLOURS,
    FLAGS_KEY,
    NUMERIC_TYPES,
    STYLE_KEY,
    Column,
    ReportDocument,
    bilingual,
    localised,
)
from quire.runtime.render.values import column_widths, display_text

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
REPORT_LAYOUT = LAYOUTS_DIR / "report.typ"
CHILD_SCRIPT = Path(__file__).resolve().parent / "typst_child.py"

#: Debian's fonts-noto-cjk; override with ``QUIRE_CJK_FONT_DIR`` or the ``font_dir`` argument.
DEFAULT_FONT_DIR = Path(os.environ.get("QUIRE_CJK_FONT_DIR", "/usr/share/fonts/opentype/noto"))
#: The first family that has a glyph wins; Typst falls back to the other fonts it was given.
FONT_FAMILIES = ("Noto Sans CJK SC",)

#: Reports up to this many rows are one compile (about 350 MB in the child): no merge,
#: no folio stamping, and Typst counts the pages itself.
SINGLE_COMPILE_ROWS = 3_000

#: Rows per compile above that. Small enough that ``DEFAULT_WORKERS`` chunks at once stay
#: well under 500 MB together; big enough that per-compile overhead stays small.
CHUNK_ROWS = 1_000

#: A chunk takes about a second; a compile still running after this is stuck.
TYPESET_TIMEOUT_SECONDS = 300

#: Rows looked at to share out the page width between columns.
WIDTH_SAMPLE_ROWS = 200

#: Chunks typeset at once; each needs roughly 200 MB at ``CHUNK_ROWS``.
DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))


class CJKFontMissingError(RuntimeError):
    """No Noto CJK font was found; Chinese would print as tofu boxes, so we refuse."""


def find_cjk_font_dir(font_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return a folder holding Noto Sans CJK, or fail saying how to fix it."""
    folder = Path(font_dir) if font_dir is not None else DEFAULT_FONT_DIR
    if folder.is_dir() and any(
        p.suffix.lower() in (".ttc", ".otf", ".ttf") and "CJK" in p.name for p in folder.iterdir()
    ):
        return folder
    raise CJKFontMissingError(
        f"no Noto CJK font in {folder}: install Debian's fonts-noto-cjk or set "
        "QUIRE_CJK_FONT_DIR to a folder with NotoSansCJK-Regular.ttc"
    )


@functools.lru_cache(maxsize=4)
def _register_chart_fonts(folder: Path) -> None:
    import vl_convert

    vl_convert.register_font_directory(str(folder))


def chart_svg(spec: Mapping[str, Any], font_dir: Path) -> str:
    """Vega-Lite to SVG with the CJK font, so chart labels in Chinese are not tofu."""
    import vl_convert

    _register_chart_fonts(font_dir)
    spec = dict(spec)
    config = dict(spec.get("config") or {})
    config.setdefault("font", FONT_FAMILIES[0])
    spec["config"] = config
    return vl_convert.vegalite_to_svg(spec)


def _column_payload(
    columns: Sequence[Column], sample: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    widths = column_widths(columns, sample, cap=40, stacked_heading=True)
    return [
        {
            "zh": c.label.get("zh") or c.label.get("en") or "",
            "en": c.label.get("en") or "",
            "numeric": c.type in NUMERIC_TYPES,
            "width": width,
        }
        for c, width in zip(columns, widths, strict=True)
    ]


def _table_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]
) -> tuple[list[list[str]], dict[str, dict[str, Any]]]:
    """Rows as lists of display strings, plus styles and flags for the few rows that have any."""
    index = {c.key: i for i, c in enumerate(columns)}
    cells: list[list[str]] = []
    marks: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        cells.append([display_text(row.get(c.key), c) for c in columns])
        style = row.get(STYLE_KEY)
        flags = row.get(FLAGS_KEY)
        if style or flags:
            mark: dict[str, Any] = {}
            if style:
                mark["s"] = style
            if flags:
                mark["f"] = {str(index[k]): f for k, f in flags.items() if k in index and f}
            marks[str(i)] = mark
    return cells, marks


def _base_payload(doc: ReportDocument, sample: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    lang = "zh" if doc.locale.startswith("zh") else "en"
    alt = localised(doc.title, "en" if lang == "zh" else "zh_CN")
    title = doc.title_text
    return {
        "fonts": list(FONT_FAMILIES),
        "lang": lang,
        "region": "CN" if lang == "zh" else None,
        "landscape": doc.orientation == "landscape",
        "paper": {"A4": "a4", "A3": "a3", "Letter": "us-letter"}.get(doc.paper, "a4"),
        "company": doc.company,
        "title": title,
        "title_alt": alt if alt != title else "",
        "subtitle": bilingual(doc.subtitle) if doc.subtitle else "",
        "params": [list(p) for p in doc.parameters],
        "params_line": "  ·  ".join(f"{k}: {v}" for k, v in doc.parameters),
        "footer_left": (
            f"{doc.generated_text} · {doc.generated_by} · "
            f"{doc.template_key} v{doc.template_version}"
        ),
        "columns": _column_payload(doc.columns, sample[:WIDTH_SAMPLE_ROWS]),
        "colours": FLAG_COLOURS,
        "mode": "report",
        "page_offset": 0,
        "total_pages": None,
        "show_folio": True,
        "first": True,
        "has_chart": False,
        "rows": [],
        "marks": {},
    }


def _chunks(
    doc: ReportDocument, size: int, single: int
) -> Iterator[tuple[list[Mapping[str, Any]], bool]]:
    """Yield (rows, is_last); the totals row rides on the last chunk.

    Up to ``single`` rows come back as one chunk; longer reports in chunks of ``size``.
    """
    rows = iter(doc.rows)
    totals = doc.totals_row()
    head = list(itertools.islice(rows, max(single, size) + 1))
    if len(head) <= single:
        if totals is not None:
            head.append(totals)
        yield head, True
        return
    rows = itertools.chain(head, rows)
    current = list(itertools.islice(rows, size))
    while True:
        following = list(itertools.islice(rows, size))
        if not following:
            if totals is not None:
                current.append(totals)
            yield current, True
            return
        yield current, False
        current = following


def render_report_pdf(
    doc: ReportDocument,
    *,
    font_dir: str | os.PathLike[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    single_compile_rows: int = SINGLE_COMPILE_ROWS,
    workers: int | None = None,
) -> bytes:
    """Typeset ``doc`` and return the PDF bytes."""
    out = io.BytesIO()
    write_report_pdf(
        doc,
        out,
        font_dir=font_dir,
        chunk_rows=chunk_rows,
        single_compile_rows=single_compile_rows,
        workers=workers,
    )
    return out.getvalue()


def write_report_pdf(
    doc: ReportDocument,
    out: BinaryIO,
    *,
    font_dir: str | os.PathLike[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    single_compile_rows: int = SINGLE_COMPILE_ROWS,
    workers: int | None = None,
) -> None:
    """Typeset ``doc`` into ``out``, reading rows one chunk at a time.

    Every compile runs in a short-lived child process: the Typst binding never evicts
    Typst's process-global memoisation cache, so a compile in the web worker would keep
    its few hundred megabytes for good, and consecutive chunks in one process add up
    (about 200 MB per 2,500 rows). A child per chunk hands all of it back, and starts in
    about 0.1 s because it imports nothing but the binding. ``workers`` chunks are
    typeset at once; peak memory is about ``workers`` × one chunk plus the merge.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    doc = doc.for_people()
    fonts = find_cjk_font_dir(font_dir)
    workers = workers or DEFAULT_WORKERS
    chart = chart_svg(doc.chart.vega_lite, fonts) if doc.chart is not None else None
    base: dict[str, Any] = {}

    with _typesetters(workers) as pool:
        pending: collections.deque[concurrent.futures.Future[bytes]] = collections.deque()
        pdfs: list[bytes] = []
        for number, (rows, last) in enumerate(_chunks(doc, chunk_rows, single_compile_rows)):
            if number == 0:
                base = _base_payload(doc, rows)
            cells, marks = _table_rows(rows, doc.columns)
            single = number == 0 and last
            payload = {
                **base,
                "rows": cells,
                "marks": marks,
                "first": number == 0,
                "has_chart": chart is not None and number == 0,
                # Chunks leave the folio out; it is stamped on once all pages are counted.
                "show_folio": single,
            }
            pending.append(
                pool.submit(_typeset, _dumps(payload), fonts, chart if number == 0 else None)
            )
            del cells, marks, payload
            # Bound the rows and PDFs in flight, so memory does not grow with the report.
            while len(pending) > workers:
                pdfs.append(pending.popleft().result())
        pdfs.extend(f.result() for f in pending)
        if len(pdfs) == 1:
            out.write(pdfs[0])
            return
        counts = [len(PdfReader(io.BytesIO(pdf)).pages) for pdf in pdfs]
        total = sum(counts)
        folios_payload = {
            **base,
            "mode": "folios",
            "page_count": total,
            "total_pages": total,
            "show_folio": True,
            "footer_left": "",
            "columns": [],
        }
        folios = pool.submit(_typeset, _dumps(folios_payload), fonts, None).result()
    _merge_with_folios(pdfs, folios, out, title=base["title"])


def _dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class TypstRenderError(RuntimeError):
    """Typst rejected the layout or its data; the message carries Typst's diagnostic."""


def _typeset(report_json: str, font_dir: Path, chart: str | None) -> bytes:
    """One Typst compile of the layout, in a throw-away child process (see the module doc)."""
    request = {
        "report": report_json,
        "chart": chart,
        "font_dir": str(font_dir),
        "layout": str(REPORT_LAYOUT),
        "root": str(LAYOUTS_DIR),
    }
    done = subprocess.run(
        [sys.executable, "-I", str(CHILD_SCRIPT)],
        input=json.dumps(request, ensure_ascii=False).encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=TYPESET_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        raise TypstRenderError(done.stderr.decode("utf-8", "replace").strip())
    return done.stdout


@contextlib.contextmanager
def _typesetters(workers: int) -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    # Threads only wait on child processes, so the GIL is no bottleneck.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="typst")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _merge_with_folios(chunks: list[bytes], folios: bytes, out: BinaryIO, *, title: str) -> None:
    """Concatenate the chunk PDFs and draw folio page i on top of page i.

    pypdf's ``merge_page`` would decode and rewrite every page's content stream; instead
    each folio becomes a Form XObject and the page gains two tiny shared content streams
    around its own ("q" before, "Q /Folio Do" after), so the table content is copied as is.
    """
    writer = PdfWriter()
    for pdf in chunks:
        writer.append(PdfReader(io.BytesIO(pdf)))
    before = writer._add_object(_stream(b"q\n"))
    after = writer._add_object(_stream(b"\nQ\nq /QuireFolio Do Q\n"))
    stamps = PdfReader(io.BytesIO(folios)).pages
    for page, stamp in zip(writer.pages, stamps, strict=True):
        ink = stamp.get_contents()
        form = _stream(ink.get_data() if ink is not None else b"")
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): stamp.mediabox,
                NameObject("/Resources"): stamp["/Resources"].clone(writer),
            }
        )
        resources = DictionaryObject(cast(DictionaryObject, page["/Resources"].get_object()))
        xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
        xobjects[NameObject("/QuireFolio")] = writer._add_object(form.flate_encode())
        resources[NameObject("/XObject")] = xobjects
        page[NameObject("/Resources")] = resources
        contents = page.get(NameObject("/Contents"))
        original = contents.get_object() if contents is not None else ArrayObject()
        if not isinstance(original, ArrayObject):
            original = ArrayObject([contents])
        page[NameObject("/Contents")] = ArrayObject([before, *original, after])
    writer.add_metadata({"/Title": title})
    writer.write(out)


def _stream(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream
