"""The report engine's public face: what the views, the API, exports and the dashboard call.

The engine lives in one module per idea: :mod:`.parameters` (which report, who may read it,
the reader's parameters), :mod:`.transforms` (the typed steps run in order), :mod:`.result`
(the resolved report and its serialisations), :mod:`.charts` and :mod:`.run`.
"""

from __future__ import annotations

from .charts import MAX_CHART_POINTS
from .parameters import (
    Parameters,
    ReportDefinition,
    definition,
    departments_in_scope,
    local_now,
    report_templates,
    require_reader,
    resolve_parameters,
)
from .result import LINKS_KEY, ReportResult, ResultColumn, json_value
from .run import resolve, run

__all__ = [
    "LINKS_KEY",
    "MAX_CHART_POINTS",
    "Parameters",
    "ReportDefinition",
    "ReportResult",
    "ResultColumn",
    "definition",
    "departments_in_scope",
    "json_value",
    "local_now",
    "report_templates",
    "require_reader",
    "resolve",
    "resolve_parameters",
    "run",
]
