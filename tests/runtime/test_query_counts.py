"""Queries per endpoint are capped, and do not grow with the rows on a page (no N+1).

The month-end load (issue: speed under load) is mostly these endpoints; each statement saved
is saved on every request. The caps are today's counts with a little room: when one fails,
look at the statements it prints before raising it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select


@pytest.fixture(autouse=True)
def _build_every_answer(app):  # type: ignore[no-untyped-def]
    """These caps are about building an answer; a kept one costs two statements
    (tests/runtime/test_answer_cache.py)."""
    app.config["ANSWER_CACHE_SECONDS"] = 0


def _count(count_queries, client, url):  # type: ignore[no-untyped-def]
    client.get(url)  # warm: the first request loads templates and caches once per process
    with count_queries() as seen:
        response = client.get(url)
    assert response.status_code == 200, response.json
    return response, seen


def test_a_submissions_page_costs_the_same_for_5_rows_as_for_50(api, count_queries):
    cfo = api("cfo")
    small, few = _count(count_queries, cfo, "/api/v1/submissions?page=1&per_page=5")
    large, many = _count(count_queries, cfo, "/api/v1/submissions?page=1&per_page=50")
    assert len(small.json["items"]) == 5 and len(large.json["items"]) == 50
    assert len(many) == len(few), str(many)
    assert len(many) <= 12, str(many)


def test_the_inbox_and_one_submission_stay_within_their_caps(api, count_queries):
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    for who in ("salesmgr", "cfo"):
        _, seen = _count(count_queries, api(who), "/api/v1/inbox")
        assert len(seen) <= 10, f"{who}:\n{seen}"
    some = db.session.scalar(select(Submission.id).order_by(Submission.id).limit(1))
    _, seen = _count(count_queries, api("cfo"), f"/api/v1/submissions/{some}")
    assert len(seen) <= 15, str(seen)


def test_budget_vs_actual_stays_within_its_cap(api, count_queries):
    _, seen = _count(count_queries, api("cfo"), "/api/v1/reports/budget-vs-actual")
    # 15 on SQLite; PostgreSQL's push-down loads the reader's grants once more (20).
    assert len(seen) <= 20, str(seen)


def test_a_request_loads_the_callers_grants_once(api, count_queries):
    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    some = db.session.scalar(select(Submission.id).order_by(Submission.id).limit(1))
    _, seen = _count(count_queries, api("cfo"), f"/api/v1/submissions/{some}")
    grant_loads = [s for s in seen.statements if s.lstrip().startswith("SELECT role_grants.id")]
    assert len(grant_loads) == 1, str(seen)


def test_a_grant_revoked_in_this_unit_of_work_stops_counting_at_once(app, user):
    from quire.runtime import access
    from quire.runtime.access import Permission
    from quire.runtime.models import utcnow

    finrev = user("finrev")
    assert access.can(finrev, Permission.SUBMISSION_APPROVE)  # grants now loaded
    for grant in access.current_grants(finrev):
        grant.revoked_at = utcnow()  # not flushed yet
    assert not access.can(finrev, Permission.SUBMISSION_APPROVE)
