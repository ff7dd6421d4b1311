"""The resolved report document that every renderer takes.

Frozen dataclasses rather than pydantic models: rows may be a one-shot iterator of
100,000 dicts, and validating each of them would cost more than writing them. The
document itself is validated once, in ``__post_init__``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

ColumnType = Literal["text", "money", "number", "percent", "date", "integer"]
RowStyle = Literal["subtotal", "total"]
Flag = Literal["amber", "red"]
Locale = Literal["zh_CN", "en"]
Orientation = Literal["portrait", "landscape"]
ChartKind = Literal["bar", "line", "pie"]

COLUMN_TYPES: frozenset[str] = frozenset(("text", "money", "number", "percent", "date", "integer"))
NUMERIC_TYPES: frozenset[str] = frozenset(("money", "number", "percent", "integer"))

# One palette for web, Excel and PDF, so "amber" means the same colour everywhere
# (Excel's own "Neutral" and "Bad" cell styles, which finance users recognise).
FLAG_COLOURS: dict[str, dict[str, str]] = {
    "amber": {"fill": "#FFEB9C", "text": "#9C5700"},
    "red": {"fill": "#FFC7CE", "text": "#9C0006"},
}

STYLE_KEY = "_style"
FLAGS_KEY = "_flags"
#: On a subtotal row: {column key: [values]}, the detail rows it adds up (SALES and
#: SALES-E), so Excel can write it as a formula that still holds after the rows are sorted.
MEMBERS_KEY = "_members"

Row = Mapping[str, Any]


def bilingual(label: Mapping[str, str], sep: str = " ") -> str:
    """Join a zh/en label pair once, without repeating a label that is the same in both."""
    zh = (label.get("zh") or "").strip()
    en = (label.get("en") or "").strip()
    if zh and en and zh != en:
        return f"{zh}{sep}{en}"
    return zh or en


def localised(label: Mapping[str, str], locale: str) -> str:
    """Pick the label in the document's language, falling back to the other one."""
    primary, other = ("zh", "en") if locale.startswith("zh") else ("en", "zh")
    return label.get(primary) or label.get(other) or ""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A column's conditional-colour rule, exported to Excel as real conditional formats.

    With ``above=True`` a value at or above ``amber`` is amber and at or above ``red`` is
    red (overspend); with ``above=False`` the comparison is reversed (under-collection).
    """

    amber: Decimal
    red: Decimal
    above: bool = True

    def flag_for(self, value: Decimal | None) -> Flag | None:
        """The flag the web and the resolver would give this value."""
        if value is None:
            return None
        if self.above:
            return "red" if value >= self.red else "amber" if value >= self.amber else None
        return "red" if value <= self.red else "amber" if value <= self.amber else None


@dataclass(frozen=True, slots=True)
class Column:
    """One report column; ``width`` is in characters (Excel) and relative weight (PDF)."""

    key: str
    label: Mapping[str, str]
    type: ColumnType = "text"
    width: float | None = None
    decimals: int | None = None
    thresholds: Thresholds | None = None
    #: Code → label in the document's language (statuses, categories, steps): people read
    #: the label (web, Excel, PDF), machines the code (CSV, API).
    labels: Mapping[str, str] | None = None
    #: A code column whose label column sits beside it (``account`` / ``account_name``):
    #: CSV and the API carry it, the outputs people read leave it out.
    codes_only: bool = False

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.key!r}: unknown type {self.type!r}")
        if self.key.startswith("_"):
            raise ValueError(f"column {self.key!r}: keys starting with '_' are row metadata")

    @property
    def places(self) -> int:
        """Decimal places shown: money always 2, percent 1, number 2 unless declared."""
        if self.decimals is not None:
            return self.decimals
        return {"money": 2, "number": 2, "percent": 1}.get(self.type, 0)

    @property
    def heading(self) -> str:
        return bilingual(self.label)

    def label_of(self, value: Any) -> Any:
        """The value as people read it: a code's label where the column has labels."""
        if self.labels is None or value is None:
            return value
        return self.labels.get(str(value), value)


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One chart, three outputs: Vega-Lite for web and PDF, a native chart for Excel.

    The Excel chart plots ``category`` against ``values`` (column keys). Its data come from
    the Vega-Lite spec's inline ``data.values`` when present, else from the document's
    detail rows (capped, because a 100,000-point chart helps nobody).
    """

    vega_lite: Mapping[str, Any]
    kind: ChartKind
    category: str
    values: tuple[str, ...]
    title: Mapping[str, str] = field(default_factory=dict)
    #: Several values stacked on one bar rather than side by side.
    stacked: bool = False

    def inline_values(self) -> list[Mapping[str, Any]] | None:
        data = self.vega_lite.get("data")
        if isinstance(data, Mapping) and isinstance(data.get("values"), list):
            return data["values"]
        return None


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """A report after resolution: everything a renderer needs, nothing it must look up.

    ``rows`` may be a one-shot iterator so large exports stream; such a document can be
    rendered once. Money and numbers are ``Decimal``, dates ``datetime.date``, percents a
    ``Decimal`` fraction (0.915 is 91.5 %). A row may carry ``_style`` ("subtotal" or
    "total") and ``_flags`` ({column key: "amber" | "red"}).
    """

    title: Mapping[str, str]
    company: str
    columns: tuple[Column, ...]
    rows: Iterable[Row]
    generated_at: dt.datetime
    generated_by: str
    template_key: str
    template_version: int | str
    locale: Locale = "zh_CN"
    orientation: Orientation = "portrait"
    subtitle: Mapping[str, str] | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    totals: Mapping[str, Any] | None = None
    chart: ChartSpec | None = None
    #: PDF paper size (A4, A3, Letter) and the Excel sheet's name (the title when None).
    paper: str = "A4"
    sheet_name: str | None = None

    def __post_init__(self) -> None:
        if self.generated_at.tzinfo is None or self.generated_at.utcoffset() is None:
            raise ValueError("generated_at must be timezone-aware")
        if self.locale not in ("zh_CN", "en"):
            raise ValueError(f"unknown locale {self.locale!r}")
        if self.orientation not in ("portrait", "landscape"):
            raise ValueError(f"unknown orientation {self.orientation!r}")
        if not self.columns:
            raise ValueError("a report needs at least one column")
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError("column keys must be unique")
        # Tuples, so a caller's list cannot change a frozen document behind its back.
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "parameters", tuple((str(k), str(v)) for k, v in self.parameters))

    def for_people(self) -> ReportDocument:
        """This document without its code-only columns (Excel, PDF)."""
        if not any(c.codes_only for c in self.columns):
            return self
        return replace(self, columns=tuple(c for c in self.columns if not c.codes_only))

    @property
    def title_text(self) -> str:
        return localised(self.title, self.locale)

    @property
    def generated_text(self) -> str:
        """Generation time as shown to people: local wall time with its UTC offset."""
        return self.generated_at.strftime("%Y-%m-%d %H:%M %z")

    def totals_row(self) -> dict[str, Any] | None:
        """The grand-total row every renderer appends, labelled in the first text column."""
        if not self.totals:
            return None
        row: dict[str, Any] = dict(self.totals)
        first = self.columns[0]
        if first.key not in row and first.type == "text":
            row[first.key] = "合计 Total"
        row[STYLE_KEY] = "total"
        return row
