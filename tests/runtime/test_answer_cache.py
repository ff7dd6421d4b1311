"""Read answers are kept per reader until the data generation moves (runtime/api/answer_cache.py).

What must hold: a kept answer is never stale after a committed write by anyone, never
another reader's, never in another language, and never older than an outside source's
cache time; and serving one costs the token check and the generation, nothing more.
"""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify
from sqlalchemy import select, update

from quire.runtime import clock, generation
from quire.runtime.api import answer_cache
from quire.runtime.extensions import db
from quire.runtime.models import Base, Department, Submission


def test_a_kept_answer_costs_one_statement_the_generation(api, count_queries):
    salesmgr = api("salesmgr")
    first = salesmgr.get("/api/v1/inbox")
    with count_queries() as seen:
        again = salesmgr.get("/api/v1/inbox")
    assert again.status_code == 200 and again.json == first.json
    # The token check itself is kept by generation too (auth.service.user_for_token).
    assert len(seen) == 1, str(seen)


def test_a_decision_by_someone_else_is_seen_at_once(api):
    salesmgr, finrev = api("salesmgr"), api("finrev")
    waiting = finrev.get("/api/v1/inbox").json
    before = salesmgr.get("/api/v1/inbox").json
    assert before["items"], "the demo leaves salesmgr something to approve"
    task = before["items"][0]
    decided = salesmgr.post(
        f"/api/v1/submissions/{task['submission_id']}/actions",
        json={"action": "approve", "version": task["version"]},
    )
    assert decided.status_code == 200, decided.json
    after = salesmgr.get("/api/v1/inbox").json
    assert task["task_id"] not in [t["task_id"] for t in after["items"]]
    assert after["total"] == before["total"] - 1
    # The next step's people see it too, on their own kept answers.
    assert finrev.get("/api/v1/inbox").json != waiting


def test_a_core_update_outside_the_orm_moves_the_generation(app):
    with app.app_context():
        before = generation.current()
        db.session.execute(
            update(Department).where(Department.code == "SALES").values(name_zh="销售部")
        )
        db.session.commit()
        assert generation.current() == before + 1


def test_a_rollback_or_a_read_leaves_it_alone(app):
    with app.app_context():
        before = generation.current()
        db.session.scalars(select(Submission).limit(3)).all()
        db.session.commit()
        db.session.execute(update(Department).values(name_zh="x"))
        db.session.rollback()
        assert generation.current() == before


def test_readers_and_languages_never_share_an_answer(api):
    cfo, salesmgr = api("cfo"), api("salesmgr")
    url = "/api/v1/submissions?page=1"
    assert cfo.get(url).json["total"] > salesmgr.get(url).json["total"]
    assert cfo.get(url).json["total"] > salesmgr.get(url).json["total"]
    report = "/api/v1/reports/budget-vs-actual"
    zh = cfo.get(report, headers={"Accept-Language": "zh-CN"}).json
    en = cfo.get(report, headers={"Accept-Language": "en"}).json
    assert zh["title"] != en["title"]


def test_the_next_minute_builds_a_new_answer(app, api):
    calls = _counting_route(app)
    reader = api("salesmgr")
    reader.get("/test-only/answer")
    reader.get("/test-only/answer")
    assert calls == [1]
    with clock.moved_to(clock.now() + timedelta(minutes=1)):
        reader.get("/test-only/answer")
    assert calls == [2]


def test_outside_data_is_kept_no_longer_than_its_source_allows(app, api):
    calls = _counting_route(app, outside_ttl=0)
    reader = api("salesmgr")
    reader.get("/test-only/answer")
    reader.get("/test-only/answer")
    assert calls == [2], "a source read afresh every time makes the answer uncacheable"


def test_off_means_off(app, api):
    app.config["ANSWER_CACHE_SECONDS"] = 0
    calls = _counting_route(app)
    reader = api("salesmgr")
    reader.get("/test-only/answer")
    reader.get("/test-only/answer")
    assert calls == [2]


def test_unwatched_tables_exist():
    """A misspelt name would leave a table's writes silently watched (harmless) or, renamed,
    a bookkeeping table moving the generation on every sign-in (costly): hold the list."""
    tables = set(Base.metadata.tables) | {"alembic_version"}
    assert generation.UNWATCHED <= tables, generation.UNWATCHED - tables


def _counting_route(app, outside_ttl: float | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    calls = [0]

    @answer_cache.kept
    def answer():  # type: ignore[no-untyped-def]
        calls[0] += 1
        if outside_ttl is not None:
            generation.outside_read(outside_ttl)
        return jsonify(n=calls[0])

    app.add_url_rule("/test-only/answer", "test_only_answer", answer)
    answer_cache.clear()
    return calls


def test_a_revoked_token_stops_at_once_though_its_check_was_kept(api):
    reader = api("salesmgr")
    assert reader.get("/api/v1/inbox").status_code == 200
    assert reader.get("/api/v1/inbox").status_code == 200  # token check and answer kept
    tokens = reader.get("/api/v1/me/tokens").json["items"]
    for token in tokens:
        assert reader.delete(f"/api/v1/me/tokens/{token['id']}").status_code in (200, 204)
    assert reader.get("/api/v1/inbox").status_code == 401


def test_a_token_past_its_expiry_stops_though_its_check_was_kept(app, api):
    reader = api("salesmgr")
    assert reader.get("/api/v1/inbox").status_code == 200
    with clock.moved_to(clock.now() + timedelta(days=400)):
        assert reader.get("/api/v1/inbox").status_code == 401


def test_someone_who_left_is_refused_at_once(app, api):
    from quire.runtime import org
    from quire.runtime.models import User

    reader = api("sales2")
    assert reader.get("/api/v1/submissions?page=1").status_code == 200
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        leaver = db.session.scalars(select(User).where(User.username == "sales2")).one()
        org.deprovision(admin, leaver)
        db.session.commit()
    assert reader.get("/api/v1/submissions?page=1").status_code == 401


def test_a_tokens_last_use_stamp_leaves_the_generation_alone_on_every_dialect(app):
    """The stamp is written once a minute per token: were it watched, every reader's kept
    answers would go at each stamp (PostgreSQL spells the bound value with a cast)."""
    from quire.runtime.auth import service
    from quire.runtime.models import User

    with app.app_context():
        sales1 = db.session.scalars(select(User).where(User.username == "sales1")).one()
        clear = service.create_token(sales1, "stamp")[1]
        db.session.commit()
        before = generation.current()
        with clock.moved_to(clock.now() + timedelta(minutes=5)):
            assert service.user_for_token(clear) is not None
        db.session.commit()
        assert generation.current() == before


def test_a_guarded_update_that_changes_nothing_leaves_the_generation_alone(app):
    """Once-a-day stamps and sweeps run guarded UPDATEs that often find nothing to change."""
    with app.app_context():
        before = generation.current()
        db.session.execute(
            update(Department).where(Department.code == "NO-SUCH").values(name_zh="x")
        )
        db.session.commit()
        assert generation.current() == before


def test_a_grants_daily_use_stamp_leaves_the_generation_alone(app):
    from quire.runtime import access
    from quire.runtime.models import RoleGrant

    with app.app_context():
        before = generation.current()
        grant = db.session.scalars(select(RoleGrant).limit(1)).one()
        access.note_grant_use([grant], clock.now() + timedelta(days=2))
        assert access.record_grant_use(clock.now() + timedelta(days=2)) == 1
        db.session.commit()
        assert generation.current() == before
