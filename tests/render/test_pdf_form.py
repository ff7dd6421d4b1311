from __future__ import annotations

import base64
import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from quire.runtime.render.pdf_form import (
    STATIC_BASE_URL,
    FetchRefusedError,
    StaticOnlyFetcher,
    render_html_pdf,
)

PIXEL_SVG = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
).decode()


@pytest.fixture
def static_root(tmp_path):
    root = tmp_path / "static"
    (root / "css").mkdir(parents=True)
    (root / "css" / "print.css").write_text("h1 { color: #123456; }")
    (tmp_path / "secret.txt").write_text("top secret")
    return root


def text_of(pdf: bytes) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode("utf-8")
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_hostile_urls_are_asked_for_and_refused(static_root):
    fetcher = StaticOnlyFetcher(static_root)
    html = """<html><head>
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="stylesheet" href="css/print.css"></head>
      <body><h1>报销单 Expense claim</h1>
      <img src="file:///etc/passwd">
      <img src="http://169.254.169.254/latest/meta-data/">
      <img src="../../secret.txt">
      <p>金额 25,000.00</p></body></html>"""
    pdf = render_html_pdf(html, base_url=None, static_root=static_root, fetcher=fetcher)
    assert "file:///etc/passwd" in fetcher.refused
    assert "http://169.254.169.254/latest/meta-data/" in fetcher.refused
    assert not any("secret" in url for url in fetcher.requested if url not in fetcher.refused)
    assert STATIC_BASE_URL + "css/print.css" not in fetcher.refused
    text = text_of(pdf)
    assert "报销单 Expense claim" in text and "25,000.00" in text
    assert "root:" not in text


def test_fetcher_serves_static_files_and_data_uris_only(static_root):
    fetcher = StaticOnlyFetcher(static_root)
    assert fetcher("quire-static:css/print.css")["string"] == b"h1 { color: #123456; }"
    assert fetcher(STATIC_BASE_URL + "css/print.css")["mime_type"] == "text/css"
    data = fetcher("data:image/svg+xml;base64," + PIXEL_SVG)
    assert data["mime_type"] == "image/svg+xml" and data["string"].startswith(b"<svg")
    assert fetcher("data:text/plain,%E4%B8%AD")["string"] == "中".encode()
    for url in (
        "file:///etc/passwd",
        "http://169.254.169.254/",
        "https://example.com/x.png",
        "quire-static:../secret.txt",
        "quire-static:%2e%2e/secret.txt",
        STATIC_BASE_URL + "..%2fsecret.txt",
        "ftp://example.com/x",
    ):
        with pytest.raises(FetchRefusedError):
            fetcher(url)
    assert len(fetcher.refused) == 7


def test_a_custom_base_url_maps_to_the_static_folder(static_root):
    fetcher = StaticOnlyFetcher(static_root, "https://quire.example.com/static/")
    html = '<link rel="stylesheet" href="/static/css/print.css"><h1>标题</h1>'
    render_html_pdf(html, base_url=fetcher.base_url, static_root=static_root, fetcher=fetcher)
    assert fetcher.requested == ["https://quire.example.com/static/css/print.css"]
    assert fetcher.refused == []


def test_the_watermark_stamps_the_status_words_and_every_page_has_a_folio(static_root):
    html = '<html class="quire-draft" data-stamp="审批中 IN REVIEW"><body><p>费用报销</p></body></html>'
    pdf = render_html_pdf(html, base_url=None, static_root=static_root)
    text = text_of(pdf)
    assert "INREVIEW" in text.replace("\n", "").replace(" ", "") or "审" in text
    assert "page 1 of 1" in text
