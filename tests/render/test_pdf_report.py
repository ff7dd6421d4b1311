from __future__ import annotations

import io
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from pypdf import PdfReader

from quire.runtime.render.pdf_report import CJKFontMissingError, render_report_pdf


def page_texts(pdf: bytes) -> list[str]:
    """Text of each page as poppler extracts it (what a reader's copy and paste gives)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    count = len(PdfReader(io.BytesIO(pdf)).pages)
    texts = []
    for page in range(1, count + 1):
        done = subprocess.run(
            [tool, "-layout", "-f", str(page), "-l", str(page), "-", "-"],
            input=pdf,
            capture_output=True,
            check=True,
        )
        texts.append(done.stdout.decode("utf-8"))
    return texts


def many_rows(budget_rows, n):
    rows = budget_rows(n)
    for i, row in enumerate(rows):
        row["note"] = f"第{i + 1:03d}行 line {i + 1:03d}"
    return rows


def test_chinese_title_header_and_cells_are_extractable(make_doc):
    pages = page_texts(render_report_pdf(make_doc()))
    assert len(pages) == 1
    text = pages[0]
    assert "部门预算执行表" in text and "Budget execution" in text
    assert "示例集团有限公司" in text
    assert "期间 Period" in text and "2025-Q1" in text
    assert "华东销售部" in text and "25,000.00" in text and "91.5%" in text
    assert "第 1 / 1 页 · page 1 of 1" in text
    assert "李娜 Li Na" in text and "budget-execution v4" in text


def test_table_header_and_folio_repeat_on_every_page(make_doc, budget_rows):
    pages = page_texts(render_report_pdf(make_doc(rows=many_rows(budget_rows, 120))))
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert "预算" in text and "Budget" in text, f"no table header on page {number}"
        assert f"第 {number} / {len(pages)} 页 · page {number} of {len(pages)}" in text
    # Every line printed once, none lost or split at a page break.
    found = sorted(set(re.findall(r"line (\d{3})", "".join(pages))))
    assert found == [f"{i:03d}" for i in range(1, 121)]


def test_chunked_rendering_keeps_folios_and_headers_right(make_doc, budget_rows):
    whole = make_doc(rows=many_rows(budget_rows, 150), totals={"budget": Decimal("1")})
    chunked = make_doc(rows=iter(many_rows(budget_rows, 150)), totals={"budget": Decimal("1")})
    single_pages = page_texts(render_report_pdf(whole, chunk_rows=10_000))
    pages = page_texts(render_report_pdf(chunked, chunk_rows=40, single_compile_rows=0))
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert "预算" in text and "部门预算执行表" in text
        assert f"第 {number} / {len(pages)} 页 · page {number} of {len(pages)}" in text
        assert text.count(" of ") == 1, "folio stamped twice"
    body = "".join(pages)
    assert sorted(set(re.findall(r"line (\d{3})", body))) == [f"{i:03d}" for i in range(1, 151)]
    assert "合计 Total" in pages[-1]
    assert "期间 Period" in pages[0]
    # Chunks start on a fresh page, so chunking never needs fewer pages than one document.
    assert len(pages) >= len(single_pages)


def test_typst_code_in_values_prints_literally(make_doc, budget_rows):
    rows = budget_rows(2)
    rows[0]["note"] = '#read("/etc/passwd")'
    rows[1]["note"] = '#image("/etc/passwd") $x^2$ *bold* <label> @ref'
    text = page_texts(render_report_pdf(make_doc(rows=rows, company='#read("quire.db")')))[0]
    assert '#read("/etc/passwd")' in text
    assert '#image("/etc/passwd")' in text
    assert "$x^2$ *bold* <label> @ref" in text
    assert '#read("quire.db")' in text
    assert "root:" not in text


def test_subtotal_total_and_flags_render(make_doc, budget_rows):
    rows = budget_rows(2)
    rows[0]["_flags"] = {"budget": "red"}
    rows.append({"dept": "小计 Subtotal", "budget": Decimal("50001"), "_style": "subtotal"})
    doc = make_doc(rows=rows, totals={"budget": Decimal("50001")})
    text = page_texts(render_report_pdf(doc))[0]
    assert "小计 Subtotal" in text and "合计 Total" in text and "50,001.00" in text


def test_landscape_and_chart(make_doc, bar_chart):
    pdf = render_report_pdf(make_doc(orientation="landscape", chart=bar_chart))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert page.mediabox.width > page.mediabox.height
    # Typst draws the SVG as vector text and paths; the axis title is the field name.
    assert "budget" in page_texts(pdf)[0]


def test_missing_cjk_font_fails_clearly(make_doc, tmp_path):
    with pytest.raises(CJKFontMissingError, match="fonts-noto-cjk"):
        render_report_pdf(make_doc(), font_dir=tmp_path)


def test_english_report_streams_into_a_binary_file(make_doc, tmp_path):
    from quire.runtime.render.pdf_report import write_report_pdf

    target = tmp_path / "report.pdf"
    with target.open("wb") as out:
        write_report_pdf(make_doc(locale="en"), out)
    text = page_texts(target.read_bytes())[0]
    assert "Budget execution" in text and "page 1 of 1" in text
