"""Report datasets read from configured data sources (the ERP ledger's actuals, a database).

Outside systems know nothing of Quire's grants, so rows are scoped here, before any total:
every row must carry a ``department`` code, and only departments the reader may report on
(REPORT_READ scope, and the report's department parameter with its subtree) are kept. A
template data source marked ``"optional": true`` in its config reads nothing while no source
of that key is configured, so a built-in report can offer ERP actuals without requiring them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import access
from ..access import Permission
from ..errors import Detail, Invalid
from ..extensions import db
from ..models import Department, User
from . import service

#: Rows read from one source for one report, at most (the connector's own cap may be lower).
DEFAULT_MAX_ROWS = 200_000


def _departments(user: User, chosen: Department | None) -> list[Department]:
    where = access.scope_filter(user, Permission.REPORT_READ, Department, include_own=False)
    stmt = select(Department).where(where)
    if chosen is not None:
        stmt = stmt.where(Department.path.startswith(chosen.path, autoescape=True))
    return list(db.session.scalars(stmt))


def managed_rows(
    user: User, template_source: Any, filters: Any, locale: str
) -> list[dict[str, Any]]:
    """Rows of a template data source that names a configured source (``config.source`` or its
    own key), with ``params`` bound from the report: ``=year``, ``=month``, ``=department``
    (the department codes the reader may see, as a list)."""
    config: Mapping[str, Any] = template_source.config or {}
    entry = {"key": template_source.key, "connector": template_source.connector, "config": config}
    key = service.referenced_key(entry)
    source = service.find_source(key) if key else None
    if source is None:
        if config.get("optional"):
            return []
        raise Invalid(
            "This report reads a data source that is not set up.",
            [Detail(f"data_sources.{template_source.key}", f"no data source {key!r}")],
        )
    if template_source.connector not in {source.connector, "datasource"}:
        raise Invalid(
            "This report reads a data source of another kind.",
            [
                Detail(
                    f"data_sources.{template_source.key}",
                    f"expects {template_source.connector}, {key} is {source.connector}",
                )
            ],
        )
    departments = _departments(user, filters.department)
    if not departments:
        return []
    by_code = {d.code: d for d in departments}
    context = {
        "year": filters.year,
        "month": (
            f"{filters.year}-{filters.month:02d}" if filters.year and filters.month else None
        ),
        "department": sorted(by_code),
    }
    params = service.bind_params(template_source.params or {}, context)
    limit = int(current_app.config.get("REPORT_SOURCE_MAX_ROWS", DEFAULT_MAX_ROWS))
    rows = service.fetch(
        source,
        template_source.query or "",
        params,
        limit,
        actor=user,
        permission=Permission.REPORT_READ,
    )
    kept = []
    for row in rows:
        department = by_code.get(str(row.get("department") or ""))
        if department is None:
            continue  # outside the reader's scope, or a row without a department
        row.setdefault("department_name", department.name(locale))
        if filters.year is not None:
            row.setdefault("year", filters.year)
        kept.append(row)
    return kept
