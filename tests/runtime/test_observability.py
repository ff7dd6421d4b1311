"""What an operator sees: /metrics for Prometheus, JSON log lines with the request id."""

from __future__ import annotations

import io
import json
import logging

from prometheus_client.parser import text_string_to_metric_families


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_by_endpoint_and_report_the_approval_backlog(client, api):
    from sqlalchemy import func, select

    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    assert client.get("/healthz").status_code == 200
    api("salesmgr").get("/api/v1/inbox")
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    samples = _samples(response.text)
    health = ("endpoint", "web.healthz"), ("method", "GET"), ("status", "200")
    assert samples[("quire_http_requests_total", health)] >= 1
    waiting = db.session.scalar(
        select(func.count()).select_from(ApprovalTask).where(ApprovalTask.status == "open")
    )
    assert waiting > 0  # the demo has claims in review
    assert samples[("quire_approval_tasks_open", ())] == waiting
    assert ("quire_approval_tasks_overdue", ()) in samples
    assert TaskStatus.OPEN == "open"
    # Labels are route names, never raw paths with ids in them.
    assert not any("/" in dict(labels).get("endpoint", "") for _, labels in samples)


def test_metrics_are_not_there_for_a_remote_caller_without_the_token(app, client):
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=remote).status_code == 404
    app.config["METRICS_TOKEN"] = "scrape-me"
    wrong = client.get("/metrics", environ_base=remote, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 404
    right = client.get(
        "/metrics", environ_base=remote, headers={"Authorization": "Bearer scrape-me"}
    )
    assert right.status_code == 200 and "quire_http_requests_total" in right.text


def test_json_logs_carry_the_request_id_and_the_endpoint(app, client):
    from quire.runtime.observability import configure_json_logging

    stream = io.StringIO()
    handler = configure_json_logging(stream)
    try:
        client.get("/healthz", headers={"X-Request-Id": "abc123"})
    finally:
        logger = logging.getLogger("quire")
        logger.removeHandler(handler)
        logger.propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    entry = next(e for e in lines if e.get("endpoint") == "web.healthz")
    assert entry["request_id"] == "abc123"
    assert entry["status"] == 200 and entry["level"] == "info"
    assert entry["message"] == "GET /healthz 200"
    assert entry["time"].endswith("+00:00")


def test_a_finished_job_is_timed(app):
    from quire.runtime import jobs
    from quire.runtime.observability import JOB_DURATION

    def count() -> float:
        return sum(
            s.value
            for family in JOB_DURATION.collect()
            for s in family.samples
            if s.name.endswith("_count") and s.labels["outcome"] == "finished"
        )

    before = count()
    jobs.queue().enqueue("audit.verify")
    assert count() == before + 1
