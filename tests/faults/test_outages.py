"""Issue 18: a PostgreSQL or Redis outage answers a clear 503 (the API's error shape, a page
in words on the web, /healthz naming what is down) and Quire recovers by itself after.

The outage is staged with a TCP proxy the test cuts and restores (tests/faultproxy.py); the
machine's shared PostgreSQL and Redis are never stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from quire.runtime.extensions import db
from tests.conftest import PASSWORD, PG_URL, REDIS_URL, base_config
from tests.faultproxy import FaultProxy


def _app(config):  # type: ignore[no-untyped-def]
    from flask import g

    from quire.runtime.app import create_app

    application = create_app(config)

    def forget_previous_request() -> None:
        for name in list(g):
            g.pop(name, None)

    application.before_request_funcs.setdefault(None, []).insert(0, forget_previous_request)
    return application


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _signed_in_cookie_client(application, username: str):  # type: ignore[no-untyped-def]
    from tests.conftest import Browser

    browser = Browser(application.test_client())
    assert browser.login(username).status_code == 302
    return browser.client


@pytest.fixture
def proxied_database(database_url: str) -> Iterator[tuple[str, FaultProxy]]:
    if not PG_URL:
        pytest.skip("needs PostgreSQL (QUIRE_TEST_DATABASE_URL)")
    url = make_url(database_url)
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    yield url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    proxy.close()


def test_a_database_outage_answers_503_in_words_and_quire_recovers_after(
    proxied_database, tmp_path
):
    url, proxy = proxied_database
    application = _app(base_config(tmp_path / "instance", url))
    with application.app_context():
        api = application.test_client()
        headers = _token(api, "salesmgr")
        web = _signed_in_cookie_client(application, "salesmgr")
        assert api.get("/api/v1/inbox", headers=headers).status_code == 200
        assert api.get("/healthz").json["database"] == "ok"

        proxy.cut()
        down = api.get("/api/v1/inbox", headers=headers)
        assert down.status_code == 503
        assert down.headers["Retry-After"]
        assert down.json["error"]["code"] == "unavailable"
        assert down.json["error"]["details"] == [{"path": "database", "message": "unreachable"}]
        health = api.get("/healthz")
        assert health.status_code == 503
        assert health.json["database"] == "unreachable" and health.json["jobs"] == "ok"
        page = web.get("/inbox", headers={"Accept-Language": "en"})
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert "The database cannot be reached at the moment." in page.text
        chinese = web.get("/inbox", headers={"Accept-Language": "zh-CN"})
        assert chinese.status_code == 503 and "数据库" in chinese.text

        proxy.restore()
        assert api.get("/api/v1/inbox", headers=headers).status_code == 200
        assert api.get("/healthz").status_code == 200
        assert web.get("/inbox").status_code == 200
        db.session.remove()
        db.engine.dispose()


@pytest.mark.redis
def test_a_redis_outage_answers_503_for_jobs_and_quire_recovers_after(database_url, tmp_path):
    if not REDIS_URL:
        pytest.skip("needs Redis (QUIRE_TEST_REDIS_URL)")
    target = make_url(REDIS_URL.replace("redis://", "postgresql://", 1))  # same URL syntax
    proxy = FaultProxy(target.host or "127.0.0.1", target.port or 6379)
    proxied = REDIS_URL.replace(f"{target.host}:{target.port or 6379}", f"127.0.0.1:{proxy.port}")
    config = {
        **base_config(tmp_path / "instance", database_url),
        "JOBS_IMMEDIATE": False,
        "REPORT_EXPORT_ASYNC_ROWS": 0,  # every export is a job, so it needs the queue
        "JOBS_QUEUE": f"quire-test-{uuid.uuid4().hex[:8]}",  # nobody else's consumer takes it
    }
    application = _app({**config, "REDIS_URL": proxied})
    export = "/api/v1/reports/expense-ledger/export?format=csv&async=1"
    try:
        with application.app_context():
            api = application.test_client()
            headers = _token(api, "cfo")
            web = _signed_in_cookie_client(application, "cfo")
            assert api.get("/healthz").json["jobs"] == "ok"

            proxy.cut()
            down = api.get(export, headers=headers)
            assert down.status_code == 503, down.json
            assert down.json["error"]["code"] == "unavailable"
            assert down.json["error"]["details"][0]["path"] == "jobs"
            health = api.get("/healthz")
            assert health.status_code == 503
            assert health.json["jobs"] == "unreachable" and health.json["database"] == "ok"
            page = web.get(
                "/reports/expense-ledger/download?format=csv",
                headers={"Accept-Language": "en"},
            )
            assert page.status_code == 503
            assert "The job queue cannot be reached at the moment." in page.text
            # Reading still works: only what needs the queue waits for it.
            assert api.get("/api/v1/inbox", headers=headers).status_code == 200

            proxy.restore()
            assert api.get(export, headers=headers).status_code == 202
            assert api.get("/healthz").status_code == 200
            application.extensions["quire.jobs"].huey.flush()  # no task left behind in Redis
            db.session.remove()
            db.engine.dispose()
    finally:
        proxy.close()
