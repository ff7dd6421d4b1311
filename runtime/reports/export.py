"""Report exports: Excel, PDF or CSV, straight away or as a background job for large reports.

A report of more than ``REPORT_EXPORT_ASYNC_ROWS`` rows (default 5,000) becomes an
:class:`~quire.runtime.models.ExportJob`: the worker runs the report again *as its owner*
(rights are checked when it runs, not only when it was asked for), writes the file under
the instance folder's ``exports/`` and reports progress; only the owner can see the job or
download the file, and only until it expires (``REPORT_EXPORT_KEEP_HOURS``, default 24).
Every export is audited.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select

from .. import access, audit
from ..access import Permission
from ..errors import Detail, Invalid, NotFound, QuireError
from ..extensions import db
from ..models import ExportJob, JobStatus, User, utcnow
from ..render.csv import write_report_csv
from ..render.excel import write_report_xlsx
from ..render.pdf_report import write_report_pdf
from . import engine

log = logging.getLogger("quire.reports")

#: Format → (MIME type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
DEFAULT_ASYNC_ROWS = 5_000
DEFAULT_KEEP_HOURS = 24
#: Rows between two progress updates of a running job.
PROGRESS_EVERY = 500
#: Query keys that steer the export and are not report parameters.
CONTROL_KEYS = frozenset(("format", "async"))


def check_format(value: str | None) -> str:
    fmt = (value or "").lower()
    if fmt not in FORMATS:
        raise Invalid(
            "Unknown export format.", [Detail("format", "must be one of " + ", ".join(FORMATS))]
        )
    return fmt


def exports_folder() -> Path:
    folder = Path(current_app.config["INSTANCE_PATH"]) / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def filename_for(result: engine.ReportResult, fmt: str) -> str:
    stamp = result.generated_at.strftime("%Y%m%d-%H%M")
    return f"{result.key}-{stamp}.{FORMATS[fmt][1]}"


def render(
    result: engine.ReportResult, fmt: str, out: BinaryIO, *, rows: Iterator[Any] | None = None
) -> None:
    """Write ``result`` as ``fmt`` into ``out`` (``rows`` overrides the rows, for progress)."""
    document = result.to_document(company=current_app.config.get("COMPANY_NAME", "Quire"))
    if rows is not None:
        document = _with_rows(document, rows)
    if fmt == "xlsx":
        write_report_xlsx(document, out)
    elif fmt == "csv":
        write_report_csv(document, out)
    else:
        write_report_pdf(document, out, font_dir=current_app.config.get("FONT_DIR"))


def _with_rows(document: Any, rows: Iterator[Any]) -> Any:
    from dataclasses import replace

    return replace(document, rows=rows)


@dataclass(frozen=True)
class Export:
    """Either a finished file (``data``) or a background job."""

    filename: str
    mimetype: str
    data: bytes | None = None
    job: ExportJob | None = None
    rows: int = 0


def params_of(args: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in args.items() if k not in CONTROL_KEYS}


def export(
    user: User,
    key: str,
    params: Mapping[str, Any],
    fmt: str,
    *,
    locale: str = "zh_CN",
    force_job: bool = False,
) -> Export:
    """Export report ``key``: 404 unknown, 403 without REPORT_READ or REPORT_EXPORT, 422 a
    bad parameter or format. Large reports (or ``force_job``) come back as a queued job."""
    engine.definition(key)
    engine.require_reader(user)
    engine.require_reader(user, Permission.REPORT_EXPORT)
    fmt = check_format(fmt)
    result = engine.run(user, key, params, locale=locale)
    threshold = int(current_app.config.get("REPORT_EXPORT_ASYNC_ROWS", DEFAULT_ASYNC_ROWS))
    mimetype = FORMATS[fmt][0]
    if force_job or len(result.rows) > threshold:
        job = start_job(user, key, result.parameters.query(), fmt, locale=locale)
        return Export(job.filename or "", mimetype, job=job, rows=len(result.rows))
    buffer = io.BytesIO()
    render(result, fmt, buffer)
    audit.record(
        user,
        "report.export",
        object_type="report",
        object_id=key,
        changes={"format": fmt, "params": result.parameters.query(), "rows": len(result.rows)},
    )
    db.session.commit()
    return Export(
        filename_for(result, fmt), mimetype, data=buffer.getvalue(), rows=len(result.rows)
    )


def start_job(
    user: User,
    key: str,
    params: Mapping[str, str],
    fmt: str,
    *,
    locale: str = "zh_CN",
    subscription_id: int | None = None,
    enqueue: bool = True,
    keep_until: datetime | None = None,
) -> ExportJob:
    """Queue an export job owned by ``user`` (committed, so the worker sees it). The file
    is kept ``REPORT_EXPORT_KEEP_HOURS``, or until ``keep_until`` when that is later."""
    from ..jobs import queue

    keep = int(current_app.config.get("REPORT_EXPORT_KEEP_HOURS", DEFAULT_KEEP_HOURS))
    expires_at = utcnow() + timedelta(hours=keep)
    if keep_until is not None and keep_until > expires_at:
        expires_at = keep_until
    job = ExportJob(
        token=secrets.token_urlsafe(16)[:22],
        owner_id=user.id,
        report_key=key,
        format=fmt,
        params=dict(params),
        locale=locale,
        status=JobStatus.QUEUED,
        progress=0,
        subscription_id=subscription_id,
        expires_at=expires_at,
    )
    db.session.add(job)
    db.session.flush()
    audit.record(
        user,
        "report.export",
        object_type="report",
        object_id=key,
        changes={"format": fmt, "params": dict(params), "job": job.token},
    )
    db.session.commit()
    if enqueue:
        queue().enqueue("reports.export", job_id=job.id)
        db.session.refresh(job)
    return job


def run_job(job_id: int) -> str:
    """The worker's side of an export job; never raises (a failure is the job's status)."""
    job = db.session.get(ExportJob, job_id)
    if job is None:
        return "missing"
    if job.status != JobStatus.QUEUED:
        return job.status.value
    job.status = JobStatus.RUNNING
    job.progress = 5
    db.session.commit()
    try:
        owner = db.session.get(User, job.owner_id)
        engine.require_reader(owner, Permission.REPORT_EXPORT)
        assert owner is not None  # require_reader refuses a missing owner
        result = engine.run(owner, job.report_key, job.params, locale=job.locale)
        job.rows = len(result.rows)
        job.progress = 20
        db.session.commit()
        name = f"{job.token}.{FORMATS[job.format][1]}"
        path = exports_folder() / name
        partial = path.with_name(path.name + ".part")
        # Owner-only from the first byte, and under its real name only once complete.
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            render(result, job.format, out, rows=_counting(job, result.rows))
        os.replace(partial, path)
        job.file_path = name
        job.filename = filename_for(result, job.format)
        job.status = JobStatus.FINISHED
        job.progress = 100
        job.finished_at = utcnow()
        db.session.commit()
        return "finished"
    except Exception as error:  # noqa: BLE001 - any failure is reported on the job
        db.session.rollback()
        job = db.session.get(ExportJob, job_id)
        assert job is not None
        job.status = JobStatus.FAILED
        job.error = error.message if isinstance(error, QuireError) else "The export failed."
        job.finished_at = utcnow()
        db.session.commit()
        if not isinstance(error, QuireError):
            log.exception("export job %s failed", job_id)
        return "failed"


def _counting(job: ExportJob, rows: list[Any]) -> Iterator[Any]:
    """Yield the rows, moving the job's progress from 20 to 95 as they are written."""
    total = max(len(rows), 1)
    for index, row in enumerate(rows, start=1):
        if index % PROGRESS_EVERY == 0:
            job.progress = 20 + int(75 * index / total)
            db.session.commit()
        yield row


def job_for(user: User, token: str) -> ExportJob:
    """The job if ``user`` owns it; 404 for anyone else (its existence does not leak)."""
    job = db.session.scalar(select(ExportJob).where(ExportJob.token == token))
    if job is None or not access.owns_export(user, job):
        raise NotFound("No such export.")
    return job


def downloadable(user: User, token: str) -> tuple[ExportJob, Path]:
    job = job_for(user, token)
    if job.status != JobStatus.FINISHED or not job.file_path or job.expires_at <= utcnow():
        raise NotFound("This export is not ready or has expired.")
    path = exports_folder() / job.file_path
    if not path.is_file():
        raise NotFound("This export has expired.")
    audit.record(
        user,
        "report.export.download",
        object_type="report",
        object_id=job.report_key,
        changes={"job": job.token, "format": job.format},
    )
    db.session.commit()
    return job, path


def purge_expired() -> int:
    """Delete the files of expired exports (a periodic job); returns how many went."""
    now = utcnow()
    jobs = db.session.scalars(
        select(ExportJob).where(ExportJob.expires_at <= now, ExportJob.file_path.is_not(None))
    ).all()
    folder = exports_folder()
    for job in jobs:
        (folder / str(job.file_path)).unlink(missing_ok=True)
        job.file_path = None
    db.session.commit()
    return len(jobs)
