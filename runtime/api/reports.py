"""Report endpoints of /api/v1: reports, their exports, and export jobs.

``GET /reports/{key}?params`` answers ``{columns, rows, totals}``; money is a decimal string
with two places (``"25000.00"``), a rate or percentage a decimal string holding the fraction
with four places (``"0.9150"`` is 91.5 %), integers are JSON numbers and dates
``YYYY-MM-DD``. A row may also carry ``_style`` (``subtotal``), ``_flags`` ({column:
``amber`` | ``red``}) and ``_links`` ({column: drill-down URL}).
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import jsonify, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from pydantic import BaseModel, Field

from ..models import ExportJob
from ..openapi import answers, spec
from ..reports import engine, export
from ..reports.links import api_link
from . import answer_cache, bp


class ReportColumnOut(BaseModel):
    key: str
    label: str
    #: text, money, number, percent, date or integer.
    type: str


class ReportOut(BaseModel):
    """Money and rates are decimal strings (``"25000.00"``; a rate is the fraction,
    ``"0.9150"`` = 91.5 %); rows may carry ``_style``, ``_flags`` and ``_links``."""

    report: str
    version: int
    title: str
    parameters: dict[str, str]
    columns: list[ReportColumnOut]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None
    #: Sentences saying how the numbers are counted (where budget actuals come from, which
    #: status a total adds up), in the caller's language; the page shows them under the title.
    basis: list[str] = []


class ReportParameterOut(BaseModel):
    key: str
    label: str
    type: str
    required: bool
    default: str | int | None
    options: list[dict[str, str]] | None = None


class ReportSummary(BaseModel):
    key: str
    version: int
    title: str
    description: str | None
    parameters: list[ReportParameterOut]


class ReportList(BaseModel):
    items: list[ReportSummary]
    page: int
    pages: int
    total: int


class JobOut(BaseModel):
    id: str
    report: str
    format: str
    #: queued, running, finished or failed.
    status: str
    progress: int
    rows: int | None
    download: str | None
    error: str | None
    expires_at: str


class JobAccepted(BaseModel):
    job: JobOut


class ReportQuery(BaseModel):
    """Report parameters (each report lists its own under ``GET /reports``); others are
    ignored."""

    model_config = {"extra": "allow"}

    year: str | None = None
    month: str | None = None
    department: str | None = None
    status: str | None = None
    dimension: str | None = None


class ExportQuery(ReportQuery):
    #: xlsx, pdf or csv.
    format: str
    #: ``1``: always as a background job.
    async_: Annotated[str | None, Field(alias="async")] = None


def _locale() -> str:
    """``zh_CN`` or ``en`` (Babel may say ``zh_Hans_CN``)."""
    return "en" if str(get_locale() or "zh_CN").startswith("en") else "zh_CN"


def _parameter_json(parameter: Any, locale: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": parameter.key,
        "label": parameter.label.text(locale),
        "type": parameter.type,
        "required": parameter.required,
        "default": parameter.default,
    }
    if parameter.options:
        body["options"] = [
            {"value": o.value, "label": o.label.text(locale)} for o in parameter.options
        ]
    return body


@bp.get("/reports")
@login_required
@spec.validate(resp=answers(ReportList, 401, 403), tags=["reports"])
def list_reports():  # type: ignore[no-untyped-def]
    """Reports the caller may read, with their parameters."""
    engine.require_reader(current_user)
    locale = _locale()
    items = []
    for record in engine.report_templates():
        report = engine.definition(record.key)
        items.append(
            {
                "key": report.key,
                "version": report.version,
                "title": report.title(locale),
                "description": report.template.description.text(locale)
                if report.template.description
                else None,
                "parameters": [_parameter_json(p, locale) for p in report.template.parameters],
            }
        )
    return jsonify({"items": items, "page": 1, "pages": 1, "total": len(items)})


@bp.get("/reports/<key>")
@login_required
@spec.validate(
    query=ReportQuery, resp=answers(ReportOut, 400, 401, 403, 404, 422), tags=["reports"]
)
@answer_cache.kept
def get_report(key: str):  # type: ignore[no-untyped-def]
    """Run a report: {columns, rows, totals}, scoped to the caller's rows; a bad parameter is 422
    naming it, a department outside the caller's scope 404."""
    result = engine.run(current_user, key, request.args.to_dict(), locale=_locale())
    return jsonify(result.to_json(link=api_link))


def job_json(job: ExportJob) -> dict[str, Any]:
    finished = job.status.value == "finished" and job.file_path
    return {
        "id": job.token,
        "report": job.report_key,
        "format": job.format,
        "status": job.status.value,
        "progress": job.progress,
        "rows": job.rows,
        "download": url_for("api.download_job", token=job.token) if finished else None,
        "error": job.error,
        "expires_at": job.expires_at.isoformat(),
    }


@bp.get("/reports/<key>/export")
@login_required
@spec.validate(
    query=ExportQuery,
    resp=answers(
        None, 400, 401, 403, 404, 422, files=("xlsx", "pdf", "csv"), also={202: JobAccepted}
    ),
    tags=["reports"],
)
def export_report(key: str):  # type: ignore[no-untyped-def]
    """Export as xlsx, pdf or csv: the file, or 202 {job} when the report is large (or async=1);
    audited."""
    result = export.export(
        current_user,
        key,
        export.params_of(request.args.to_dict()),
        request.args.get("format", ""),
        locale=_locale(),
        force_job=request.args.get("async") in ("1", "true"),
    )
    if result.job is not None:
        body = job_json(result.job)
        response = jsonify({"job": body})
        response.status_code = 202
        response.headers["Location"] = url_for("api.get_job", token=result.job.token)
        return response
    from ..reports.views import file_response

    return file_response(result)


@bp.get("/jobs/<token>")
@login_required
@spec.validate(resp=answers(JobOut, 401, 404), tags=["reports"])
def get_job(token: str):  # type: ignore[no-untyped-def]
    """An export job's status and progress (its owner only)."""
    return jsonify(job_json(export.job_for(current_user, token)))


@bp.get("/jobs/<token>/download")
@login_required
@spec.validate(resp=answers(None, 401, 404, files=("xlsx", "pdf", "csv")), tags=["reports"])
def download_job(token: str):  # type: ignore[no-untyped-def]
    """The finished export's file (its owner only, until it expires)."""
    job, stream = export.downloadable(current_user, token)
    return send_file(
        stream,
        mimetype=export.FORMATS[job.format][0],
        as_attachment=True,
        download_name=job.filename or str(job.file_path),
    )
