"""Where fields sit on the page: sections of rows of cells on a 12-column grid.

The same layout drives the web form, the PDF print copy and the blank Excel workbook, so it
names fields by key and carries no styling.
"""

from __future__ import annotations

from pydantic import Field

from quire.widgets.base import Bilingual, StrictModel


class Cell(StrictModel):
    """One field in a row."""

    field: str = Field(min_length=1, max_length=64)
    """Key of the field shown here."""
    span: int = Field(default=12, ge=1, le=12)
    """Width in columns out of 12."""


class Row(StrictModel):
    """Cells side by side; their spans add up to at most 12."""

    cells: list[Cell] = Field(min_length=1, max_length=12)
    """The cells, left to right."""


class Section(StrictModel):
    """A titled group of rows."""

    key: str | None = Field(default=None, max_length=64)
    """A name for the section, for links and tests."""
    title: Bilingual | None = None
    """Heading of the section."""
    collapsed: bool = False
    """Start folded on the web form."""
    rows: list[Row] = Field(default_factory=list)
    """The rows, top to bottom."""


class Layout(StrictModel):
    """The form's sections; with none, fields are shown one per row in template order."""

    sections: list[Section] = Field(default_factory=list)
    """The sections, top to bottom."""
