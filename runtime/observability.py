"""What an operator watches: Prometheus metrics at ``/metrics`` and JSON logs.

Request counts and latencies are labelled by endpoint (the route's name, never the raw
path, so ids do not explode the label set). Approval backlog, overdue tasks and the job
queue depth are read from the database and the queue at scrape time. With several
gunicorn workers, ``quire serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder in the
instance so that every worker's counters add up in one scrape.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, abort, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "quire_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "quire_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_DURATION = Histogram(
    "quire_job_duration_seconds",
    "Time a background job ran",
    ["job", "outcome"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1200),
)


class _BacklogCollector:
    """Gauges read at scrape time: open and overdue approval tasks, queued jobs."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from .extensions import db
        from .models import ApprovalTask, TaskStatus, utcnow

        open_tasks = GaugeMetricFamily("quire_approval_tasks_open", "Approval tasks waiting")
        overdue = GaugeMetricFamily(
            "quire_approval_tasks_overdue", "Open approval tasks past their due time"
        )
        depth = GaugeMetricFamily("quire_job_queue_depth", "Background jobs waiting to run")
        with self.app.app_context():
            try:
                is_open = ApprovalTask.status == TaskStatus.OPEN
                count = select(func.count()).select_from(ApprovalTask)
                open_tasks.add_metric([], db.session.scalar(count.where(is_open)) or 0)
                late = count.where(is_open, ApprovalTask.due_at < utcnow())
                overdue.add_metric([], db.session.scalar(late) or 0)
            except Exception:  # noqa: BLE001 - a scrape must answer even with the database down
                logging.getLogger("quire.metrics").warning("backlog gauges unavailable")
            finally:
                db.session.remove()
            try:
                depth.add_metric([], self.app.extensions["quire.jobs"].huey.pending_count())
            except Exception:  # noqa: BLE001 - the queue being down is what /healthz reports
                logging.getLogger("quire.metrics").warning("job queue depth unavailable")
        yield open_tasks
        yield overdue
        yield depth


def _registry(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # every worker's files in that folder, added up
    else:
        for collector in (REQUESTS, LATENCY, JOB_DURATION):
            registry.register(collector)
    registry.register(_BacklogCollector(app))
    return registry


def init_app(app: Flask) -> None:
    """Time every request, serve ``/metrics`` and switch logs to JSON when configured."""
    if app.config.get("LOG_JSON"):
        configure_json_logging()
    registry = _registry(app)

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = getattr(g, "request_started", None)
        endpoint = request.endpoint or "unknown"
        if started is not None and endpoint != "metrics":
            elapsed = time.perf_counter() - started
            REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
            LATENCY.labels(endpoint, request.method).observe(elapsed)
            logging.getLogger("quire.request").info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "endpoint": endpoint,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
        return response

    def metrics() -> Response:
        from . import access

        if not access.may_scrape_metrics(
            request.remote_addr, request.headers.get("Authorization", ""), app.config
        ):
            abort(404)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics)


def observe_job(name: str, started: float, outcome: str) -> None:
    JOB_DURATION.labels(name, outcome).observe(time.perf_counter() - started)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    _standard = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is None and has_request_context():
            request_id = getattr(g, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in self._standard and key not in entry and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_json_logging(stream: Any = None) -> logging.Handler:
    """Send every ``quire.*`` log line to ``stream`` (stderr) as JSON, at INFO and up."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("quire")
    for old in [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler
