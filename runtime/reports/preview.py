"""The report designer's live preview: a draft report run on real data, in the designer's own
REPORT_READ scope, first rows only.

A draft with problems is not run: its issues come back at their paths. A draft that runs into
trouble on the data (a source not set up, a step that cannot run) comes back the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quire.designer.issues import Issue
from quire.designer.model import Template

from ..errors import QuireError
from ..forms import templates as template_service
from ..models import User
from .parameters import ReportDefinition, require_reader
from .result import ReportResult
from .run import resolve

#: Rows the preview shows when the template does not say.
PREVIEW_ROWS = 50


@dataclass
class Preview:
    """A preview: the resolved first rows, or why there are none."""

    result: ReportResult | None = None
    issues: list[Issue] = field(default_factory=list)


def preview(
    user: User,
    document: Mapping[str, Any],
    raw_params: Mapping[str, Any] | None = None,
    *,
    locale: str = "zh_CN",
) -> Preview:
    """Run the draft ``document`` for ``user`` (403 without REPORT_READ)."""
    require_reader(user)
    issues = template_service.problems(dict(document))
    if issues:
        return Preview(issues=issues)
    template = Template.model_validate(dict(document))
    report = ReportDefinition(template.key, 0, template)
    limit = template.report.preview_rows or PREVIEW_ROWS
    try:
        result = resolve(user, report, raw_params, locale=locale, limit=limit)
    except QuireError as error:
        found = [Issue(d.path, d.message) for d in error.details]
        return Preview(issues=found or [Issue("", error.message)])
    return Preview(result=result)
