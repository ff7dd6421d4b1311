"""Two people pressing approve at the same moment: one decision and one 409, on SQLite
(two connections) and on PostgreSQL (row locks) alike."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from quire.runtime.models import SubmissionStatus as S

from .conftest import COMMITTEE, step


def _race(app, submission_id: int, version: int, people: list[str]) -> list[Any]:  # type: ignore[no-untyped-def]
    """Each person approves in their own thread, connection and transaction, at once."""
    from quire.runtime.approvals import engine
    from quire.runtime.errors import Conflict
    from quire.runtime.extensions import db
    from quire.runtime.org import user_by_username

    barrier = threading.Barrier(len(people))
    outcomes: dict[str, Any] = {}

    def press(username: str) -> None:
        with app.app_context():
            actor = user_by_username(username)
            barrier.wait()
            try:
                engine.act(actor, submission_id, "approve", version=version)
                db.session.commit()
                outcomes[username] = "approved"
            except Conflict:
                db.session.rollback()
                outcomes[username] = 409
            except Exception as exc:  # noqa: BLE001 - report anything else to the test
                db.session.rollback()
                outcomes[username] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(name,)) for name in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return [outcomes.get(name) for name in people]


def _refresh(submission):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db

    db.session.expire_all()
    return db.session.get(type(submission), submission.id)


def test_two_approvers_pressing_approve_at_once_give_one_decision_and_one_409(
    app, route, capex, submit
):
    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalEvent

    route(step("finance", COMMITTEE), step("manager", {"kind": "manager_of_submitter"}))
    c = submit(capex("sales1"))
    outcomes = _race(app, c.id, c.version, ["finrev", "cfo"])

    assert sorted(map(str, outcomes)) == ["409", "approved"], outcomes
    c = _refresh(c)
    decisions = db.session.scalar(
        select(func.count())
        .select_from(ApprovalEvent)
        .where(ApprovalEvent.submission_id == c.id, ApprovalEvent.action == "approve")
    )
    assert decisions == 1
    assert c.current_step == "manager"


def test_a_parallel_all_step_finishes_exactly_once(app, route, capex, submit, holders):
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.org import user_by_username

    route(step("board", COMMITTEE, mode="all"), step("manager", {"kind": "manager_of_submitter"}))
    c = submit(capex("sales1"))
    engine.act(user_by_username("finadmin"), c.id, "approve", version=c.version)
    db.session.commit()

    outcomes = _race(app, c.id, c.version, ["finrev", "cfo"])
    assert sorted(map(str, outcomes)) == ["409", "approved"], outcomes
    c = _refresh(c)
    assert c.current_step == "board"

    loser = "finrev" if outcomes[0] == 409 else "cfo"
    engine.act(user_by_username(loser), c.id, "approve", version=c.version)
    db.session.commit()
    assert (c.status, c.current_step, holders(c)) == (S.IN_REVIEW, "manager", ["salesmgr"])
