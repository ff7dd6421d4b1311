"""The print copy's renderer: a resolved :class:`~.print.PrintCopy` in, HTML or PDF bytes out.

It reads nothing from the database; :func:`.print.build` has resolved every value, name and
signature before. The page is the web form's own Jinja layout, and the PDF fetcher serves
the package's static files and ``data:`` URIs only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app, render_template

from ..render.pdf_form import StaticOnlyFetcher, render_html_pdf

if TYPE_CHECKING:
    from .print import PrintCopy


def static_root() -> Path:
    return Path(current_app.static_folder or Path(__file__).parents[1] / "static")


def render_html(copy: PrintCopy) -> str:
    """The print page: ``forms/_fields.html``'s layout inside ``exports/print.html``."""
    return render_template("exports/print.html", copy=copy, page=copy.page)


def render_pdf(copy: PrintCopy, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """PDF bytes; relative URLs in the page resolve to the static folder and nothing else."""
    return render_html_pdf(
        render_html(copy), base_url=None, static_root=static_root(), fetcher=fetcher
    )
