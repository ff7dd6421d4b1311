"""Report exports: Excel, PDF or CSV, straight away or as a background job for large reports.

A report of more than ``REPORT_EXPORT_ASYNC_ROWS`` rows (default 5,000) becomes an
:class:`~quire.runtime.models.ExportJob`: the worker runs the report again *as its owner*
(rights are checked when it runs, not only when it was asked for), writes the file into
the file store under ``exports/`` and reports progress; only the owner can see the job or
download the file, and only until it expires (``REPORT_EXPORT_KEEP_HOURS``, default 24).
Every export is audited.
"""

from __future__ import annotations

import io
import logging
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select

from .. import access, audit, files
from ..access import Permission
from ..errors import Detail, Invalid, NotFound, QuireError
from ..exports.print import company_name
from ..extensions import db
from ..jobs.recovery import pause_point
from ..models import ExportJob, JobStatus, User, utcnow
from ..render.csv import write_report_csv
from ..render.excel import write_report_xlsx
from ..render.pdf_report import write_report_pdf
from . import engine, stream

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


#: Export files live in the file store under this prefix.
PREFIX = "exports"


def file_key(job: ExportJob) -> str:
    return f"{PREFIX}/{job.file_path}"


def filename_for(result: engine.ReportResult, fmt: str) -> str:
    stamp = result.generated_at.strftime("%Y%m%d-%H%M")
    return f"{result.key}-{stamp}.{FORMATS[fmt][1]}"


def render(
    result: engine.ReportResult, fmt: str, out: BinaryIO, *, rows: Iterator[Any] | None = None
) -> None:
    """Write ``result`` as ``fmt`` into ``out`` (``rows`` overrides the rows, for progress)."""
    document = result.to_document(company=company_name())
    if rows is not None:
        document = _with_rows(document, rows)
    write(document, fmt, out)


def write(document: Any, fmt: str, out: BinaryIO) -> None:
    """Hand a resolved document to the renderer of ``fmt``."""
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
    threshold = int(current_app.config.get("REPORT_EXPORT_ASYNC_ROWS", DEFAULT_ASYNC_ROWS))
    mimetype = FORMATS[fmt][0]
    report = engine.definition(key)
    if fmt in stream.STREAMED_FORMATS and stream.streamable(report):
        return _export_listing(user, stream.listing(user, report, params, locale), fmt, force_job)
    result = engine.run(user, key, params, locale=locale)
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


def _export_listing(user: User, listing: stream.Listing, fmt: str, force_job: bool) -> Export:
    """A line listing straight from the database (:mod:`.stream`): counted there, then
    streamed into the file, or queued when it is large."""
    key = listing.report.key
    mimetype = FORMATS[fmt][0]
    threshold = int(current_app.config.get("REPORT_EXPORT_ASYNC_ROWS", DEFAULT_ASYNC_ROWS))
    count = listing.count()
    query = listing.parameters.query()
    if force_job or count > threshold:
        job = start_job(user, key, query, fmt, locale=listing.locale)
        return Export(job.filename or "", mimetype, job=job, rows=count)
    buffer = io.BytesIO()
    write(listing.document(company=company_name()), fmt, buffer)
    audit.record(
        user,
        "report.export",
        object_type="report",
        object_id=key,
        changes={"format": fmt, "params": query, "rows": count},
    )
    db.session.commit()
    stamp = listing.filename_stamp()
    return Export(filename_for(stamp, fmt), mimetype, data=buffer.getvalue(), rows=count)


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
        try:
            queue().enqueue("reports.export", job_id=job.id)
        except Exception:
            # The queue is down (a Redis outage): the job says so instead of waiting for
            # ever, and the caller answers 503.
            db.session.rollback()
            job.status = JobStatus.FAILED
            job.error = "The job queue could not be reached; please try again."
            job.finished_at = utcnow()
            db.session.commit()
            raise
        db.session.refresh(job)
    return job


def run_job(job_id: int) -> str:
    """The worker's side of an export job; never raises (a failure is the job's status)."""
    job = db.session.get(ExportJob, job_id)
    if job is None:
        return "missing"
    if job.status != JobStatus.QUEUED:
        return job.status.value
    from ..jobs.recovery import worker_id

    job.status = JobStatus.RUNNING
    job.progress = 5
    job.attempts = (job.attempts or 0) + 1
    job.worker = worker_id()
    job.heartbeat_at = utcnow()
    db.session.commit()
    try:
        owner = db.session.get(User, job.owner_id)
        engine.require_reader(owner, Permission.REPORT_EXPORT)
        assert owner is not None  # require_reader refuses a missing owner
        report = engine.definition(job.report_key)
        listing = None
        if job.format in stream.STREAMED_FORMATS and stream.streamable(report):
            listing = stream.listing(owner, report, job.params, job.locale)
            job.rows = listing.count()
            result = listing.filename_stamp()
        else:
            result = engine.run(owner, job.report_key, job.params, locale=job.locale)
            job.rows = len(result.rows)
        job.progress = 20
        db.session.commit()
        name = f"{job.token}.{FORMATS[job.format][1]}"
        # Rendered into a private temporary file, then handed to the store whole: the store
        # never holds half an export (owner-only on disk, or one transaction in the database).
        pause_point("export.render")  # fault tests kill the worker here
        with tempfile.TemporaryFile() as out:
            if listing is not None:
                # No progress commits mid-stream: they would end the transaction that
                # the database cursor reads the lines in.
                write(listing.document(company=company_name()), job.format, out)
            else:
                render(result, job.format, out, rows=_counting(job, result.rows, job.rows))
            out.seek(0)
            files.store().put(f"{PREFIX}/{name}", out)
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


def _counting(job: ExportJob, rows: list[Any], count: int) -> Iterator[Any]:
    """Yield the rows, moving the job's progress from 20 to 95 as they are written."""
    total = max(count, 1)
    for index, row in enumerate(rows, start=1):
        if index % PROGRESS_EVERY == 0:
            job.progress = 20 + int(75 * index / total)
            job.heartbeat_at = utcnow()
            db.session.commit()
        yield row


def job_for(user: User, token: str) -> ExportJob:
    """The job if ``user`` owns it; 404 for anyone else (its existence does not leak)."""
    job = db.session.scalar(select(ExportJob).where(ExportJob.token == token))
    if job is None or not access.owns_export(user, job):
        raise NotFound("No such export.")
    return job


def downloadable(user: User, token: str) -> tuple[ExportJob, BinaryIO]:
    """The owner's finished export as a stream to send (audited); 404 for anyone else."""
    job = job_for(user, token)
    if job.status != JobStatus.FINISHED or not job.file_path or job.expires_at <= utcnow():
        raise NotFound("This export is not ready or has expired.")
    try:
        stream = files.store().open(file_key(job))
    except files.FileMissing as exc:
        raise NotFound("This export has expired.") from exc
    audit.record(
        user,
        "report.export.download",
        object_type="report",
        object_id=job.report_key,
        changes={"job": job.token, "format": job.format},
    )
    db.session.commit()
    return job, stream


def purge_expired() -> int:
    """Delete the files of expired exports (a periodic job); returns how many went."""
    now = utcnow()
    jobs = db.session.scalars(
        select(ExportJob).where(ExportJob.expires_at <= now, ExportJob.file_path.is_not(None))
    ).all()
    store = files.store()
    for job in jobs:
        store.delete(file_key(job))
        job.file_path = None
    db.session.commit()
    return len(jobs)
