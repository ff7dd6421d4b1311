"""Form print copies: the web form's HTML typeset by WeasyPrint, fetching nothing outside.

WeasyPrint fetches every URL in the document (images, stylesheets, fonts) with its URL
fetcher; the default one follows ``file://`` and ``http://`` too, so a value such as
``file:///etc/passwd`` or ``http://169.254.169.254/`` in a filled form would be read or
requested on the server. :class:`StaticOnlyFetcher` serves only files under the
package's static folder and ``data:`` URIs, and refuses everything else.

Relative and root-relative URLs in the HTML resolve against :data:`STATIC_BASE_URL`, an
address under the reserved ``.invalid`` domain that never reaches a network; the fetcher
maps it (and the ``quire-static:`` scheme) to ``static_root``.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import pathlib
import urllib.parse
from typing import Any

import weasyprint

LOGGER = logging.getLogger(__name__)

STATIC_BASE_URL = "https://quire.invalid/static/"
STATIC_SCHEME = "quire-static:"

#: Print defaults: A4, Noto CJK so Chinese never falls back to tofu, a folio on every page,
#: and the watermark the runtime switches on with ``class="quire-draft"``: the ``data-stamp``
#: words (审批中 In review, 草稿 Draft…) across every page of a copy that is not approved.
PRINT_CSS = """
@page {
  size: A4;
  margin: 16mm 14mm 18mm 14mm;
  @bottom-right {
    content: "第 " counter(page) " / " counter(pages) " 页 · page " counter(page)
      " of " counter(pages);
    font-family: "Noto Sans CJK SC", "Noto Sans CJK", sans-serif;
    font-size: 7.5pt;
    color: #555;
  }
}
html { font-family: "Noto Sans CJK SC", "Noto Sans CJK", sans-serif; font-size: 10pt; }
table { border-collapse: collapse; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.quire-draft::before {
  content: attr(data-stamp);
  position: fixed;
  top: 40%;
  left: 0;
  width: 100%;
  text-align: center;
  font-size: 60pt;
  font-weight: bold;
  color: rgba(200, 0, 0, 0.12);
  transform: rotate(-30deg);
  z-index: -1;
}
"""


class FetchRefusedError(PermissionError):
    """A document asked for a resource outside the static folder."""


class StaticOnlyFetcher:
    """A WeasyPrint ``url_fetcher`` serving static files and ``data:`` URIs only.

    WeasyPrint 67 calls ``fetcher(url)`` and expects a dict with ``string`` or
    ``file_obj`` (plus optional ``mime_type``); an exception makes it skip the resource
    with a warning and carry on, so a refused URL never breaks the print copy.
    ``requested`` and ``refused`` record what was asked, for logs and tests.
    """

    def __init__(self, static_root: pathlib.Path, base_url: str = STATIC_BASE_URL) -> None:
        self.static_root = pathlib.Path(static_root).resolve()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.requested: list[str] = []
        self.refused: list[str] = []

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.requested.append(url)
        try:
            if url[:5].lower() == "data:":
                return _decode_data_uri(url)
            return self._static_file(url)
        except FetchRefusedError:
            self.refused.append(url)
            LOGGER.warning("print copy: refused to fetch %.200s", url)
            raise

    def _static_file(self, url: str) -> dict[str, Any]:
        if url.startswith(STATIC_SCHEME):
            relative = url[len(STATIC_SCHEME) :].lstrip("/")
        elif url.startswith(self.base_url):
            relative = url[len(self.base_url) :]
        else:
            raise FetchRefusedError(f"not a static file: {url[:200]}")
        relative = urllib.parse.unquote(relative.split("?", 1)[0].split("#", 1)[0])
        path = (self.static_root / relative).resolve()
        # resolve() follows symlinks and "..", so this is the check that matters.
        if not path.is_relative_to(self.static_root) or not path.is_file():
            raise FetchRefusedError(f"no such static file: {relative[:200]}")
        mime_type, _ = mimetypes.guess_type(path.name)
        return {"string": path.read_bytes(), "mime_type": mime_type, "redirected_url": url}


def _decode_data_uri(url: str) -> dict[str, Any]:
    """Decode ``data:[<mediatype>][;base64],<data>`` without any network or file access."""
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise FetchRefusedError("malformed data: URI")
    params = header.split(";")
    is_base64 = params[-1].strip().lower() == "base64"
    if is_base64:
        params = params[:-1]
    mime_type = params[0].strip() or "text/plain"
    encoding = None
    for param in params[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            encoding = value.strip()
    try:
        data = (
            base64.b64decode(urllib.parse.unquote(payload), validate=False)
            if is_base64
            else urllib.parse.unquote_to_bytes(payload)
        )
    except ValueError as error:
        raise FetchRefusedError("malformed data: URI") from error
    result: dict[str, Any] = {"string": data, "mime_type": mime_type}
    if encoding:
        result["encoding"] = encoding
    return result


def render_html_pdf(
    html: str,
    *,
    base_url: str | None,
    static_root: pathlib.Path,
    fetcher: StaticOnlyFetcher | None = None,
) -> bytes:
    """Typeset the print copy's HTML (the runtime's Jinja layout) to PDF bytes.

    ``base_url`` is the URL prefix under which the HTML refers to static files (for
    example the app's ``/static/`` URL); it is mapped onto ``static_root`` and never
    fetched over the network. ``None`` means :data:`STATIC_BASE_URL`.
    """
    fetcher = fetcher or StaticOnlyFetcher(static_root, base_url or STATIC_BASE_URL)
    document = weasyprint.HTML(
        string=html, base_url=fetcher.base_url, url_fetcher=fetcher, media_type="print"
    )
    stylesheet = weasyprint.CSS(string=PRINT_CSS, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[stylesheet])
