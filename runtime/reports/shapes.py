"""The columns each kind of report data source gives, so a report template is checked against
them when it is saved (:func:`quire.designer.report_checks.check_report`).

A ``submissions`` source gives its head columns and, with ``lines``, the columns of that table
field of the form's latest published version; ``approvals`` gives its task columns. Any other
source (SQL, a file, a plugin) answers None: its columns are known only when it runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from quire.designer.model import DataSource
from quire.designer.report import Shape
from quire.widgets.registry import default_registry

from ..extensions import db
from ..forms import templates as template_service
from ..models import FormTemplate

#: Columns every row of a ``submissions`` source has (:func:`.sources.submission_lines`).
SUBMISSION_HEADS: dict[str, str] = {
    "submission_id": "integer",
    "number": "text",
    "department": "text",
    "department_name": "text",
    "status": "text",
    "period": "date",
    "year": "integer",
    "month": "text",
    "project": "text",
    "submitter": "text",
    "submission_total": "money",
}
#: Columns of an ``approvals`` source (:func:`.sources.approval_tasks`).
APPROVAL_TASK_COLUMNS: dict[str, str] = {
    "task_id": "integer",
    "submission_id": "integer",
    "number": "text",
    "form": "text",
    "department": "text",
    "department_name": "text",
    "step": "text",
    "step_name": "text",
    "status": "text",
    "decided": "bool",
    "open": "bool",
    "hours": "number",
    "overdue": "bool",
    "created_at": "date",
    "month": "text",
}


def source_shape(source: DataSource) -> Shape | None:
    """The columns ``source`` gives, or None when only running it would tell."""
    if source.connector == "approvals":
        return Shape(APPROVAL_TASK_COLUMNS)
    if source.connector != "submissions":
        return None
    return _submission_shape(source.config)


def _submission_shape(config: dict[str, Any]) -> Shape | None:
    form = config.get("form")
    table = config.get("lines")
    if not table:
        return Shape(SUBMISSION_HEADS)
    record = db.session.scalar(select(FormTemplate).where(FormTemplate.key == form))
    if record is None or not record.latest_version:
        return None  # a form not yet published: its lines are taken on trust
    _, template = template_service.published(str(form))
    field = template.field(str(table))
    columns = dict(SUBMISSION_HEADS, line_no="integer")
    for spec in getattr(field, "columns", None) or []:
        columns[spec.key] = default_registry().for_field(spec).report_kind(spec)
        if getattr(spec, "options", None):
            columns[f"{spec.key}_name"] = "text"
    return Shape(columns)
