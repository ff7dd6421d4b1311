"""Issue 18: ``kill -9`` of a job worker in the middle of an export. The job is retried once
by the next worker, its owner sees each state (running, queued again, finished), and no
half-written file is ever offered; a job interrupted a second time fails with a sentence.

The worker is a real ``quire worker`` process on the instance's SQLite job store (or Redis
with QUIRE_TEST_REDIS_URL); it holds still at a test-only pause point (honoured only with
``testing = true``) while the test kills it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from quire.runtime import files
from quire.runtime.extensions import db
from quire.runtime.jobs.recovery import INTERRUPTED_TWICE, recover_exports
from quire.runtime.models import ExportJob, JobStatus
from tests.conftest import PASSWORD, REDIS_URL, SECRET, base_config

EXPORT = "/api/v1/reports/expense-ledger/export?format=csv&async=1"


def _wait_for(check, what: str, seconds: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _worker(instance: Path, *, pause: bool, name: str) -> subprocess.Popen:  # type: ignore[type-arg]
    env = {**os.environ, "QUIRE_INSTANCE_PATH": str(instance)}
    env.pop("QUIRE_TEST_PAUSE_AT", None)
    if pause:
        env["QUIRE_TEST_PAUSE_AT"] = "export.render"
    log = (instance / f"worker-{name}.log").open("ab")
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "quire.runtime.cli", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _write_instance_file(instance: Path, config: dict) -> None:  # type: ignore[type-arg]
    lines = [
        f'secret_key = "{SECRET}"',
        f'database_url = "{config["DATABASE_URL"]}"',
        f'jobs_queue = "{config["JOBS_QUEUE"]}"',
        "testing = true",
    ]
    if config.get("REDIS_URL"):
        lines.append(f'redis_url = "{config["REDIS_URL"]}"')
    (instance / "quire.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def queued_app(request, database_url, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("needs Redis (QUIRE_TEST_REDIS_URL)")
    from quire.runtime.app import create_app

    instance = tmp_path / "instance"
    config = {
        **base_config(instance, database_url),
        "JOBS_IMMEDIATE": False,
        "JOBS_QUEUE": f"quire-test-{uuid.uuid4().hex[:8]}",
        "REDIS_URL": REDIS_URL if request.param == "redis" else None,
    }
    application = create_app(config)
    _write_instance_file(instance, config)
    with application.app_context():
        yield application
        application.extensions["quire.jobs"].huey.flush()
        db.session.remove()
        db.engine.dispose()


def test_a_job_worker_killed_mid_export_is_retried_once_and_its_owner_sees_it(queued_app):
    instance = Path(queued_app.config["INSTANCE_PATH"])
    client = queued_app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "cfo", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    started = client.get(EXPORT, headers=headers)
    assert started.status_code == 202, started.json
    job_url = f"/api/v1/jobs/{started.json['job']['id']}"

    def state() -> dict:  # type: ignore[type-arg]
        db.session.rollback()  # the test's own session must not hold an old snapshot
        return client.get(job_url, headers=headers).json

    # Two workers (on this or another machine); whichever takes the export holds still in
    # the middle of it, and is killed there.
    workers = [_worker(instance, pause=True, name=name) for name in ("one", "two")]
    try:
        marker = instance / "paused-export.render"
        _wait_for(lambda: marker.is_file() and marker.read_text(), "a worker mid-export")
        assert state()["status"] == "running"
        victim = next(w for w in workers if w.pid == int(marker.read_text()))
        survivor = next(w for w in workers if w is not victim)
        survivor_log = instance / f"worker-{'two' if survivor is workers[1] else 'one'}.log"
        _wait_for(lambda: b"Job consumer on" in survivor_log.read_bytes(), "the other worker")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        job = db.session.scalar(select(ExportJob).where(ExportJob.token == state()["id"]))
        assert job.status == JobStatus.RUNNING and job.attempts == 1
        # Nothing half-written is offered: no file in the store, no download link.
        assert not files.exists(files.store(), f"exports/{job.token}.csv")
        assert state()["download"] is None
        assert client.get(f"{job_url}/download", headers=headers).status_code == 404
        # What the every-minute recovery task (or any worker starting) does: queue it again.
        # The survivor's own minute may strike first; either way it is taken over once.
        assert recover_exports() in (0, 1)
        assert state()["status"] in ("queued", "running", "finished")  # never "failed"
        _wait_for(lambda: state()["status"] in ("finished", "failed"), "the retried export")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    final = state()
    assert final["status"] == "finished", final
    db.session.rollback()
    assert db.session.get(ExportJob, job.id).attempts == 2  # retried exactly once
    download = client.get(final["download"], headers=headers)
    assert download.status_code == 200 and b"," in download.data
    assert not list((instance / "exports").glob(".*.part"))


def test_an_export_interrupted_twice_fails_with_a_sentence_for_its_owner(app, api):
    owner = api("cfo")
    started = owner.get(EXPORT)  # immediate mode in unit tests: finished at once
    job = db.session.scalar(select(ExportJob).where(ExportJob.token == started.json["job"]["id"]))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603 - a pid that is gone
    dead.wait()
    job.status, job.attempts = JobStatus.RUNNING, 2
    job.worker = f"{socket.gethostname()}:{dead.pid}"
    db.session.commit()
    assert recover_exports() == 1
    answer = owner.get(f"/api/v1/jobs/{job.token}").json
    assert answer["status"] == "failed" and answer["error"] == INTERRUPTED_TWICE
    # A worker still alive on this machine keeps its job.
    job.status, job.attempts, job.error = JobStatus.RUNNING, 1, None
    job.worker = f"{socket.gethostname()}:{os.getpid()}"
    db.session.commit()
    assert recover_exports() == 0
    assert owner.get(f"/api/v1/jobs/{job.token}").json["status"] == "running"
