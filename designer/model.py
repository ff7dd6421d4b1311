"""The template format: these pydantic models *are* the spec.

Finance admins write templates through the designer, implementers by hand in git, and every
renderer reads them; `Template.model_json_schema()` (served at `/api/v1/templates/schema`) and
`docs/template-format.md` are generated from here. Field models come from the widgets, so a new
widget extends the format without touching this module.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from quire.widgets.base import Bilingual, Option, OptionsFrom, StrictModel
from quire.widgets.registry import default_registry

from .approval import Access, Approval
from .layout import Layout

__all__ = [
    "DataSource",
    "Permission",
    "PrintSettings",
    "ReportChart",
    "ReportColumn",
    "ReportDataset",
    "ReportLayout",
    "ReportLink",
    "ReportParameter",
    "ReportThresholds",
    "ReportTransform",
    "Rule",
    "Template",
    "template_json_schema",
]

#: Every field model of the built-in widgets, told apart by `type`.
AnyField = default_registry().field_union()

_TEMPLATE_KEY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NAME = r"^[a-z][a-z0-9_-]*$"


class DataSource(StrictModel):
    """A named binding to data that fields and reports read (a connector does the reading)."""

    key: str = Field(min_length=1, max_length=64, pattern=_NAME)
    """The name fields use in `options_from.source`."""
    connector: str = Field(min_length=1, max_length=64)
    """Connector type: `sql`, `file`, `rest`, `submissions`, or one a plugin adds."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Connector settings (connection name, file, URL); secrets live in the connector's store."""
    query: str | None = Field(default=None, max_length=20000)
    """What to read: SQL, a sheet name, a path; its meaning is the connector's."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Values bound to the query's parameters; text starting with `=` is a formula."""


class Permission(StrictModel):
    """Access to one field for some roles, optionally only while the submission is at given
    steps. The first matching entry in `permissions` decides; see `designer.permissions`."""

    field: str = Field(min_length=1, max_length=64)
    """The field's key."""
    roles: list[str] = Field(min_length=1)
    """Role keys, the pseudo-roles `submitter` and `approver`, or `*` for everyone."""
    steps: list[str] | None = None
    """Only while the submission waits at one of these approval steps (`draft` for before
    submission); unset means at any time."""
    access: Access
    """hidden, read, edit or masked."""


class Rule(StrictModel):
    """A check across fields, run on save and submit; the message tells people what to fix."""

    model_config = ConfigDict(populate_by_name=True)

    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    """The rule's name in error reports."""
    when: str | None = Field(default=None, max_length=4000)
    """A formula; the rule only applies when it is true."""
    assert_: str = Field(alias="assert", min_length=1, max_length=4000)
    """A formula that must be true: `SUM(shares.percent) = 100`."""
    message: Bilingual
    """Shown when the formula is false."""
    field: str | None = Field(default=None, max_length=64)
    """The field the message is shown next to; unset shows it at the top of the form."""


class PrintSettings(StrictModel):
    """The PDF print copy."""

    orientation: Literal["portrait", "landscape"] = "portrait"
    """Page orientation."""
    paper: Literal["A4", "A5", "Letter"] = "A4"
    """Paper size."""
    header: str = Field(default="", max_length=2000)
    """Text at the top of every page (rendered in a sandbox: `{{ submission.number }}`)."""
    footer: str = Field(default="", max_length=2000)
    """Text at the bottom of every page."""
    approval_history: bool = True
    """Print the approval history after the form."""


class _Growing(StrictModel):
    """Report parts accept more keys than they type, so a newer template still loads."""

    model_config = ConfigDict(extra="allow")


class ReportParameter(_Growing):
    """An input of a report (`year`, `department`)."""

    key: str = Field(min_length=1, max_length=64, pattern=_NAME)
    """The parameter's name in the query string and in dataset params."""
    label: Bilingual
    """Its caption."""
    type: Literal[
        "text",
        "number",
        "date",
        "fiscal_period",
        "department",
        "select",
        "year",
        "month",
        "status",
        "dimension",
    ] = "text"
    """What kind of value it takes. `department` offers only departments in the reader's scope;
    `status` a submission status; `dimension` the column the rows are grouped by (one of
    `options`), so one template can show department, account, month or project."""
    default: str | int | None = None
    """Initial value; text starting with `=` is a formula (`=YEAR(TODAY())`)."""
    required: bool = False
    """The report needs a value."""
    options: list[Option] = Field(default_factory=list, max_length=200)
    """The choices of a `select` or `dimension` parameter."""
    options_from: OptionsFrom | None = None
    """Choices from a data source."""


class ReportTransform(_Growing):
    """One step of a report's data pipeline, applied in order.

    `filter` keeps rows where `where` (a formula) is true; `compute` sets `column` from
    `formula` on every row; `phase_quarters` spreads quarterly amounts (`columns`, Q1-Q4)
    over the months into `into`; `rename` renames columns (`columns`: old to new); `group`
    groups `by` columns (`=dimension` names a parameter) and computes `aggregates`
    (`sum(x)`, `count()`, `count_true(x)`, `median(x)`, `p90(x)`, `min(x)`, `max(x)`,
    `mean(x)`, `first(x)`); `sort` orders `by` columns.
    """

    op: Literal["filter", "compute", "phase_quarters", "rename", "group", "sort"]
    """What the step does."""


class ReportDataset(_Growing):
    """Rows a report reads from one data source."""

    key: str = Field(min_length=1, max_length=64)
    """The dataset's name."""
    source: str = Field(min_length=1, max_length=64)
    """Key of a data source of the template."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Values for the source's parameters; `=year` passes a report parameter."""
    transforms: list[ReportTransform] = Field(default_factory=list, max_length=50)
    """Steps applied to this dataset alone, before the datasets are stacked together."""


class ReportThresholds(StrictModel):
    """Conditional colours of a numeric column: amber from `amber`, red from `red`."""

    amber: str = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")
    """Value from which a cell is amber (a fraction for percent columns: `0.9`)."""
    red: str = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")
    """Value from which a cell is red."""
    above: bool = True
    """True: high values are bad (overspend); false: low values are bad."""


class ReportLink(StrictModel):
    """Where a cell leads: another report with parameters, or the submission of the row."""

    report: str | None = Field(default=None, max_length=64)
    """Key of the report opened (drill-down)."""
    params: dict[str, str] = Field(default_factory=dict)
    """Its parameters; `=department` takes the row's value, else the report parameter's."""
    submission: str | None = Field(default=None, max_length=200)
    """`=submission_id`: open that submission."""


class ReportColumn(_Growing):
    """One column of a report's table."""

    key: str = Field(min_length=1, max_length=64)
    """The column's key in report rows."""
    label: Bilingual
    """Its heading."""
    type: Literal["text", "number", "money", "percent", "date", "integer"] = "text"
    """How values are shown and exported (percent values are fractions: 0.915 is 91.5 %)."""
    formula: str | None = Field(default=None, max_length=2000)
    """Computed after grouping, and again on subtotal and total rows (`actual / budget`)."""
    total: Literal["sum", "none"] | None = None
    """How the grand total and subtotals get this column: summed, or left empty. Formula
    columns are recomputed; numeric columns are summed unless `none`."""
    thresholds: ReportThresholds | None = None
    """Amber and red cells."""
    link: ReportLink | None = None
    """Drill-down from this cell."""
    width: float | None = Field(default=None, gt=0, le=200)
    """Width in characters in Excel, relative weight in the PDF."""


class ReportChart(_Growing):
    """A chart of the report's rows: one Vega-Lite spec for the web and the PDF, and a native
    chart in Excel."""

    kind: Literal["bar", "line", "pie"] = "bar"
    """The mark."""
    category: str = Field(min_length=1, max_length=64)
    """Column along the axis (bars, slices)."""
    values: list[str] = Field(min_length=1, max_length=6)
    """Numeric columns plotted."""
    rows: Literal["detail", "subtotals"] = "detail"
    """Plot the detail rows, or the subtotal rows when the report has them."""
    title: Bilingual | None = None
    """The chart's caption."""


class ReportLayout(StrictModel):
    """How a report's table is arranged beyond its columns."""

    subtotals: str | None = Field(default=None, max_length=64)
    """Subtotal rows after each group of this column (`department`; `=dimension` allowed)."""
    totals: bool = True
    """A grand-total row."""
    orientation: Literal["portrait", "landscape"] = "landscape"
    """Page orientation of the PDF."""


class Template(StrictModel):
    """A form or report template."""

    key: str = Field(min_length=1, max_length=64)
    """The template's name in URLs and the API: lowercase words joined by hyphens."""
    kind: Literal["form", "report"]
    """form: people fill it in and it is approved; report: it shows data."""
    title: Bilingual
    """The template's name as people see it."""
    description: Bilingual | None = None
    """What it is for."""
    fields: list[AnyField] = Field(default_factory=list, max_length=500)  # type: ignore[valid-type]
    """The fields, each a widget of a `type`."""
    layout: Layout = Field(default_factory=Layout)
    """Where fields sit on the page."""
    data_sources: list[DataSource] = Field(default_factory=list, max_length=100)
    """Data the fields' choices and the reports read."""
    permissions: list[Permission] = Field(default_factory=list, max_length=2000)
    """Field access by role and step; the first matching entry wins."""
    rules: list[Rule] = Field(default_factory=list, max_length=500)
    """Checks across fields."""
    approval: Approval | None = None
    """The approval route (forms only)."""
    print: PrintSettings = Field(default_factory=PrintSettings)
    """The PDF print copy."""
    parameters: list[ReportParameter] = Field(default_factory=list)
    """Report inputs."""
    datasets: list[ReportDataset] = Field(default_factory=list)
    """Report data."""
    transforms: list[ReportTransform] = Field(default_factory=list, max_length=50)
    """Report pipeline steps, applied to all datasets stacked together."""
    columns: list[ReportColumn] = Field(default_factory=list)
    """Report columns."""
    report: ReportLayout = Field(default_factory=ReportLayout)
    """Subtotals, grand total and page orientation."""
    charts: list[ReportChart] = Field(default_factory=list, max_length=10)
    """Report charts."""

    @field_validator("key")
    @classmethod
    def _key_is_a_slug(cls, value: str) -> str:
        if not _TEMPLATE_KEY.match(value):
            raise ValueError(
                "must be lowercase letters and digits, words joined by hyphens (expense-claim)"
            )
        return value

    def field(self, key: str) -> Any:
        """The top-level field with this key, or None."""
        return next((f for f in self.fields if f.key == key), None)


def template_json_schema() -> dict[str, Any]:
    """The JSON Schema served at `GET /api/v1/templates/schema`."""
    return Template.model_json_schema(by_alias=True)
