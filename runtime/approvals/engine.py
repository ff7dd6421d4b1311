"""The approval engine's public face: one import for callers.

The engine lives in modules along its seams — :mod:`.state` (the locked row, tasks, history
lines), :mod:`.facts` (what conditions see), :mod:`.route` (the state machine and step
outcomes), :mod:`.handing` (the one way a task changes hands), :mod:`.actions` (what people
do), :mod:`.inbox` (reading) and :mod:`.timeouts` (the sweep's work). Nothing here knows
Flask: the actor and the moment are arguments, the instance's settings are handed in by the
app factory (:func:`.settings.configure`).
"""

from __future__ import annotations

from ..models import utcnow
from .actions import (
    ACTIONS,
    BulkResult,
    act,
    bulk_approve,
    edit_at_step,
    people_to_hand_on,
    return_for_rework,
    submit,
)
from .facts import Facts, compute_facts, evaluate, facts_at_submission
from .inbox import INBOX_SORTS, history_query, inbox_count, inbox_query, step_name
from .route import return_targets, step_outcome
from .settings import local_day
from .state import (
    DECISIONS,
    MAX_COMMENT,
    current_round,
    decided_in_round,
    races_are_conflicts,
    steps_of,
    template_of,
)
from .timeouts import (
    absent_task_ids,
    finance_people,
    handle_overdue,
    overdue_task_ids,
    reroute,
)

__all__ = [
    "ACTIONS",
    "DECISIONS",
    "INBOX_SORTS",
    "MAX_COMMENT",
    "BulkResult",
    "Facts",
    "absent_task_ids",
    "act",
    "bulk_approve",
    "compute_facts",
    "current_round",
    "decided_in_round",
    "edit_at_step",
    "people_to_hand_on",
    "evaluate",
    "facts_at_submission",
    "finance_people",
    "handle_overdue",
    "history_query",
    "inbox_count",
    "inbox_query",
    "local_day",
    "overdue_task_ids",
    "races_are_conflicts",
    "reroute",
    "return_for_rework",
    "return_targets",
    "step_name",
    "step_outcome",
    "steps_of",
    "submit",
    "template_of",
    "utcnow",
]
