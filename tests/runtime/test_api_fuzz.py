"""schemathesis against the whole ``/api/v1/openapi.json``: no 500, answers as documented.

Every documented operation gets a few generated requests with a signed-in user's token,
against one seeded database: valid ones aimed at real objects (the expense-claim template,
the budget-vs-actual report, an approved claim, a data source), and invalid ones (wrong
types, missing fields, odd ids). Every response must be a documented status with a body
that matches its schema and media type; a 500 fails whatever else is right. ``EXAMPLES``
stays small so ``make test`` stays quick; ``QUIRE_FUZZ_EXAMPLES=50`` looks harder.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from quire.runtime.extensions import db

EXAMPLES = int(os.environ.get("QUIRE_FUZZ_EXAMPLES", "5"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Operations that would end the fuzzer's own credentials half-way through.
SKIPPED = {"revoke_my_token"}
#: Who calls each tag's operations: someone who may use them, so answers are not all 403.
CALLERS = {
    "submissions": "finrev",
    "approvals": "finrev",
    "print copies": "finrev",
    "users": "admin",
    "audit": "auditor",
}


def _real_objects(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Path values that name things the callers may see."""
    from quire.runtime.models import DataSource, Submission, SubmissionStatus

    approved = db.session.scalar(
        select(Submission.id).where(Submission.status == SubmissionStatus.APPROVED).limit(1)
    )
    source = db.session.scalar(select(DataSource.key).limit(1))
    return {"submission_id": approved, "username": "sales1", "datasource": source}


def _path_values(path: str, real: dict[str, Any]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    if "{key}" in path:
        if path.startswith("/api/v1/reports/"):
            values["key"] = "budget-vs-actual"
        elif path.startswith("/api/v1/datasources/"):
            if real["datasource"] is None:
                return None
            values["key"] = real["datasource"]
        else:
            values["key"] = "expense-claim"
    if "{submission_id}" in path:
        values["submission_id"] = real["submission_id"]
    if "{username}" in path:
        values["username"] = real["username"]
    return values


def _fuzz(operation, headers, mode, statuses, path_values=None):  # type: ignore[no-untyped-def]
    failures: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_values or None)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):  # type: ignore[no-untyped-def]
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
            failures.append(f"{case.method} {case.formatted_path} {case.query}: {exc}"[:2000])

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters has no invalid request to send: nothing failed.
        return failures
    return failures


@pytest.mark.slow
def test_no_generated_request_gets_a_500_or_an_undocumented_answer(app, api):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tokens = {name: api(name).headers for name in {"finadmin", *CALLERS.values()}}
    real = _real_objects(app)
    failures: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        if raw.get("operationId") in SKIPPED:
            continue
        caller = next((CALLERS[t] for t in raw.get("tags", []) if t in CALLERS), "finadmin")
        headers = tokens[caller]
        path_values = _path_values(operation.path, real)
        if path_values is not None:
            failures.extend(_fuzz(operation, headers, GenerationMode.POSITIVE, [], path_values))
        failures.extend(_fuzz(operation, headers, GenerationMode.POSITIVE, statuses))
        failures.extend(_fuzz(operation, headers, GenerationMode.NEGATIVE, statuses))
    assert not failures, "\n\n".join(failures)
    # The tokens worked: the fuzzer reached the endpoints, not only the sign-in wall.
    assert statuses.count(401) < len(statuses) / 3, statuses
