"""The periodic sweep: timeouts (remind, escalate, decide), absent holders, the mail outbox.

Runs as a huey periodic job. Each task is handled in its own transaction and every
once-only effect is stamped with a guarded UPDATE, so running the sweep twice (or two
workers at once) sends one reminder and escalates once.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from ..errors import QuireError
from ..extensions import db
from ..models import utcnow
from . import engine, mail

log = logging.getLogger("quire.approvals.sweep")


def run(now: datetime | None = None) -> dict[str, int]:
    """One pass; returns counts by what was done (``remind``, ``escalate``, ``left``…)."""
    now = now or utcnow()
    done: Counter[str] = Counter()
    today = engine.local_day(now)
    for task_id in engine.absent_task_ids(today):
        done.update(_one(engine.reroute, task_id, now))
    for task_id in engine.overdue_task_ids(now):
        done.update(_one(engine.handle_overdue, task_id, now))
    db.session.commit()
    done["mailed"] = mail.send_pending()
    return dict(done)


def _one(step, task_id: int, now: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    try:
        outcome = step(task_id, now)
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        log.warning("sweep could not handle task %s: %s", task_id, exc.message)
        return ["failed"]
    return [outcome] if outcome else []
