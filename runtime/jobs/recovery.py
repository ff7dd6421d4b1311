"""Export jobs whose worker died (``kill -9``, a lost machine) are run again, once.

huey takes a task off the queue before running it, so a consumer killed mid-export leaves
its job ``running`` for ever. Each job records its worker (``host:pid``) and a heartbeat;
:func:`recover_exports` runs when a consumer starts and every minute. A job whose worker is
known dead (same host, no such process) or silent for ``EXPORT_STALE_SECONDS`` goes back to
``queued`` and is enqueued again; one interrupted a second time is ``failed`` with a
sentence for its owner. The owner sees each state on the job page and ``/api/v1/jobs/{id}``.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from ..extensions import affected_rows, db
from ..models import ExportJob, JobStatus, utcnow

log = logging.getLogger("quire.jobs")

#: Runs an export may have: the first and one retry.
MAX_ATTEMPTS = 2
INTERRUPTED_TWICE = "The export was interrupted twice; please start it again."


def worker_id() -> str:
    """This process, as recorded on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(worker: str) -> bool | None:
    """True/False for a worker on this host; None when it ran elsewhere (cannot tell)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _interrupted(job: ExportJob, stale_before) -> bool:  # type: ignore[no-untyped-def]
    alive = _alive(job.worker) if job.worker else None
    if alive is not None:
        return not alive
    last = job.heartbeat_at or job.created_at
    return last < stale_before


def recover_exports() -> int:
    """Queue again (or fail, after the second try) exports left running by a dead worker;
    returns how many were taken over."""
    from . import queue

    stale = int(current_app.config.get("EXPORT_STALE_SECONDS") or 600)
    stale_before = utcnow() - timedelta(seconds=stale)
    running = db.session.scalars(select(ExportJob).where(ExportJob.status == JobStatus.RUNNING))
    again: list[int] = []
    taken = 0
    for job in running.all():
        if not _interrupted(job, stale_before):
            continue
        retry = job.attempts < MAX_ATTEMPTS
        values: dict = (  # type: ignore[type-arg]
            {"status": JobStatus.QUEUED, "progress": 0, "worker": None}
            if retry
            else {"status": JobStatus.FAILED, "error": INTERRUPTED_TWICE, "finished_at": utcnow()}
        )
        # Only if nobody else took it over meanwhile (two consumers starting at once).
        claimed = affected_rows(
            db.session.execute(
                update(ExportJob)
                .where(
                    ExportJob.id == job.id,
                    ExportJob.status == JobStatus.RUNNING,
                    ExportJob.worker.is_(None)
                    if job.worker is None
                    else ExportJob.worker == job.worker,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        )
        if claimed:
            taken += 1
            log.warning("export job %s was interrupted (%s)", job.id, job.worker)
            if retry:
                again.append(job.id)
    db.session.commit()
    for job_id in again:
        queue().enqueue("reports.export", job_id=job_id)
    return taken


def pause_point(name: str) -> None:
    """Hold this process here while a fault test kills it (``kill -9``).

    Honoured only in testing mode (``testing = true`` in the instance file) with
    ``QUIRE_TEST_PAUSE_AT`` naming this point; writes ``paused-<name>`` into the instance
    folder (with this process id) so the test knows which process is in place, then waits at
    most a minute. A point holds one process once: while the file is there, others pass.
    """
    config = current_app.config
    if not config.get("TESTING") or config.get("TEST_PAUSE_AT") != name:
        return
    marker = Path(config["INSTANCE_PATH"]) / f"paused-{name}"
    try:
        with marker.open("x") as claim:
            claim.write(str(os.getpid()))
    except FileExistsError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
