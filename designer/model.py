"""The template format: these pydantic models *are* the spec.

Finance admins write templates through the designer, implementers by hand in git, and every
renderer reads them; `Template.model_json_schema()` (served at `/api/v1/templates/schema`) and
`docs/template-format.md` are generated from here. Field models come from the widgets, so a new
widget extends the format without touching this module.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from quire.widgets.base import Bilingual, BilingualText, StrictModel
from quire.widgets.registry import default_registry

from .approval import Access, Approval
from .layout import Layout
from .report import (
    ReportChart,
    ReportColumn,
    ReportDataset,
    ReportLayout,
    ReportLink,
    ReportParameter,
    ReportStep,
    ReportThresholds,
)

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
    "ReportStep",
    "Rule",
    "Template",
    "template_json_schema",
]

#: Every field model of the built-in widgets, told apart by `type`.
if TYPE_CHECKING:
    # Built at run time from the registered widgets (plugins add more), so a type checker
    # cannot know the union; code that needs a widget's own attributes checks its `type`.
    AnyField = Any
else:
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
    """Text at the top of every page, after the company's name, rendered in a sandbox. Values:
    `{{ submission.number }}`, `{{ submission.status }}` (in words: 审批中),
    `{{ submission.department }}` (code), `{{ submission.department_name }}`,
    `{{ submission.submitter }}`, `{{ submission.created_at }}` (2026-11-25),
    `{{ submission.total }}`, `{{ form.title }}`, `{{ form.key }}`, `{{ form.version }}`,
    `{{ company }}`; `{% if %}` and `{% for %}` only, at most 2,000 characters and a
    bounded number of loop steps; a header that cannot render is refused at validation."""
    footer: str = Field(default="", max_length=2000)
    """Text at the bottom of every page, with the same values as the header."""
    approval_history: bool = True
    """Print the approval history after the form."""


class Template(StrictModel):
    """A form or report template."""

    key: str = Field(min_length=1, max_length=64)
    """The template's name in URLs and the API: lowercase words joined by hyphens."""
    kind: Literal["form", "report"]
    """form: people fill it in and it is approved; report: it shows data."""
    title: Bilingual
    """The template's name as people see it."""
    description: BilingualText | None = None
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
    transforms: list[ReportStep] = Field(default_factory=list, max_length=50)
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


def _follow_widgets(registry: Any) -> None:
    """A widget added at run time (a plugin, a test) becomes a valid field `type` at once."""
    global AnyField
    AnyField = registry.field_union()
    # Once resolved, an annotation is not looked up again: set it, then rebuild the schema.
    Template.__pydantic_fields__["fields"].annotation = list[AnyField]  # type: ignore[valid-type]
    Template.model_rebuild(force=True)


default_registry().on_change(_follow_widgets)
