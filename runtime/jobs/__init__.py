"""Background jobs on huey: SQLite in the instance folder by default, Redis at scale.

Task functions are plain functions named in :data:`TASKS`; :func:`init_app` binds them
to the queue chosen by configuration and runs each inside an application context, so a
task reads ``app.config`` and the database like a request does. Tests use immediate mode.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Result

#: Task name → "module:function". Each function takes keyword arguments only.
TASKS: dict[str, str] = {
    "audit.verify": "quire.runtime.audit_jobs:verify_audit_chain",
    "approvals.mail": "quire.runtime.approvals.mail:send_pending",
    "approvals.sweep": "quire.runtime.approvals.sweep:run",
    "reports.export": "quire.runtime.reports.export:run_job",
    "reports.deliver": "quire.runtime.reports.subscriptions:deliver_due",
    "reports.purge": "quire.runtime.reports.export:purge_expired",
}

#: Periodic task name → ("module:function", huey crontab kwargs).
PERIODIC: dict[str, tuple[str, dict[str, str]]] = {
    # Approval timeouts, absent approvers and the mail outbox, every five minutes.
    "approvals.sweep.periodic": ("quire.runtime.approvals.sweep:run", {"minute": "*/5"}),
    # Scheduled report deliveries that are due, every five minutes; expired exports hourly.
    "reports.deliver.periodic": (
        "quire.runtime.reports.subscriptions:deliver_due",
        {"minute": "*/5"},
    ),
    "reports.purge.periodic": ("quire.runtime.reports.export:purge_expired", {"minute": "17"}),
    # Exports whose worker died are queued again (once), every minute.
    "reports.recover.periodic": ("quire.runtime.jobs.recovery:recover_exports", {"minute": "*"}),
    # The organisation from the HR directory data source (if one is configured), hourly.
    "hr.sync.periodic": ("quire.runtime.hr_sync:run_scheduled", {"minute": "41"}),
    # Budget round reminders before the deadline and escalations after it, hourly.
    "budgeting.sweep.periodic": ("quire.runtime.budgeting.service:sweep", {"minute": "23"}),
    # Reminders to holders and role owners before temporary grants end, hourly.
    "grants.expiry.periodic": ("quire.runtime.access_requests.reminders:run", {"minute": "53"}),
    # Access reviews: the next quarterly campaign, reminders and escalations, hourly.
    "reviews.sweep.periodic": ("quire.runtime.reviews.service:sweep", {"minute": "29"}),
    # Last month's cost allocation for every monthly rule, on the 1st at 02:30.
    "allocation.monthly.periodic": (
        "quire.runtime.allocation.service:run_monthly",
        {"day": "1", "hour": "2", "minute": "30"},
    ),
}


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def make_huey(config: dict[str, Any]) -> Huey:
    name = str(config.get("JOBS_QUEUE") or "quire")
    if config.get("JOBS_IMMEDIATE"):
        return MemoryHuey(name, immediate=True)
    if config.get("REDIS_URL"):
        return RedisHuey(name, url=config["REDIS_URL"])
    path = Path(config["INSTANCE_PATH"]) / "jobs.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path))


class JobQueue:
    """The app's queue: ``app.extensions['quire.jobs']``."""

    def __init__(self, app: Flask):
        from huey import crontab

        self.app = app
        self.huey = make_huey(app.config)
        self.backend = (
            "immediate"
            if app.config.get("JOBS_IMMEDIATE")
            else "redis"
            if app.config.get("REDIS_URL")
            else "sqlite"
        )
        self._tasks: dict[str, Any] = {}
        for name, target in TASKS.items():
            self._tasks[name] = self.huey.task(name=name)(self._in_app(target))
        for name, (target, schedule) in PERIODIC.items():
            self.huey.periodic_task(crontab(**schedule), name=name)(self._in_app(target))

    def _in_app(self, target: str) -> Callable[..., Any]:
        app = self.app

        def run(**kwargs: Any) -> Any:
            from ..observability import observe_job

            started = time.perf_counter()
            outcome = "failed"
            try:
                with app.app_context():
                    result = _resolve(target)(**kwargs)
                outcome = "finished"
                return result
            finally:
                observe_job(target, started, outcome)

        run.__name__ = target.rpartition(":")[2]
        return run

    def enqueue(self, name: str, **kwargs: Any) -> Result:
        return self._tasks[name](**kwargs)

    def reachable(self) -> bool:
        try:
            self.huey.storage.queue_size()
        except Exception:  # noqa: BLE001 - any storage failure means "not reachable"
            return False
        return True


def init_app(app: Flask) -> None:
    app.extensions["quire.jobs"] = JobQueue(app)


def queue() -> JobQueue:
    return current_app.extensions["quire.jobs"]
