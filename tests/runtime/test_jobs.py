"""Background jobs: immediate in tests, a real SQLite consumer, and Redis when available."""

from __future__ import annotations

import os
import time

import pytest

from quire.runtime import jobs


def test_immediate_mode_runs_the_audit_verifier(app):
    result = jobs.queue().enqueue("audit.verify")
    assert result.get()["ok"] is True


def _consume_one(app, queue):  # type: ignore[no-untyped-def]
    from huey.consumer import Consumer

    consumer = Consumer(queue.huey, workers=1, worker_type="thread", periodic=False)
    consumer.start()  # starts worker threads and returns; run() would block
    return consumer


def _run_through_consumer(app, config_overrides):  # type: ignore[no-untyped-def]
    from quire.runtime.jobs import JobQueue

    app.config.update(config_overrides)
    queue = JobQueue(app)
    consumer = _consume_one(app, queue)
    try:
        result = queue.enqueue("audit.verify")
        deadline = time.time() + 20
        value = None
        while time.time() < deadline:
            value = result.get()
            if value is not None:
                break
            time.sleep(0.1)
        return value
    finally:
        consumer.stop(graceful=True)


def test_a_sqlite_job_store_in_the_instance_folder_runs_jobs(app):
    value = _run_through_consumer(app, {"JOBS_IMMEDIATE": False, "REDIS_URL": None})
    assert value is not None and value["ok"] is True
    assert os.path.exists(os.path.join(app.config["INSTANCE_PATH"], "jobs.sqlite3"))


@pytest.mark.redis
def test_a_redis_job_queue_runs_jobs(app):
    url = os.environ.get("QUIRE_TEST_REDIS_URL")
    if not url:
        pytest.skip("QUIRE_TEST_REDIS_URL not set")
    import redis

    redis.Redis.from_url(url).flushdb()
    value = _run_through_consumer(app, {"JOBS_IMMEDIATE": False, "REDIS_URL": url})
    assert value is not None and value["ok"] is True


@pytest.mark.redis
def test_health_reports_an_unreachable_redis(app):
    from quire.runtime.jobs import JobQueue

    app.config.update({"JOBS_IMMEDIATE": False, "REDIS_URL": "redis://127.0.0.1:1/0"})
    app.extensions["quire.jobs"] = JobQueue(app)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["jobs"] == "unreachable"
