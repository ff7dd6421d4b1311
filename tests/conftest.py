"""Shared fixtures: a seeded demo database copied fresh for each test.

The demo organisation is built once per session (per xdist worker) through the real
migrations and seed; each test gets its own copy (a file copy on SQLite,
``CREATE DATABASE … TEMPLATE`` on PostgreSQL when ``QUIRE_TEST_DATABASE_URL`` is set), so
tests can change anything. On PostgreSQL the next copy is made, and the last one dropped,
by a background thread while a test runs: both are disk work, the tests are CPU work.

``--db-only`` keeps only the tests that reach the database under test (the PostgreSQL run
uses it: a test that never touches the database gains nothing from running there twice).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("QUIRE_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("QUIRE_TEST_REDIS_URL")
SECRET = "test-secret-key-not-for-production"
PASSWORD = "quire-demo"


def _defer_url_builders() -> None:
    """Build each route's URL builder on its first use instead of when the app is made.

    Every test makes its own app, and Werkzeug compiles two Python functions per route when
    a route is added (two thirds of ``create_app``'s time); a test builds a few URLs at most.
    The builder is the same function, made later from the same rule, so URLs do not change.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "deferred", False):
        return

    def deferred(self: Rule, append_unknown: bool = True):  # type: ignore[no-untyped-def]
        built: list[Any] = []

        def build(rule: Rule, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
            if not built:
                built.append(compile_builder(rule, append_unknown).__get__(rule, None))
            return built[0](*args, **kwargs)

        return build

    deferred.deferred = True  # type: ignore[attr-defined]
    Rule._compile_builder = deferred  # type: ignore[method-assign]


_defer_url_builders()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db-only",
        action="store_true",
        help="run only the tests that use the database under test (the seeded demo copy, "
        "QUIRE_TEST_DATABASE_URL itself, or the `postgres` mark)",
    )


def _reaches_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("postgres") is not None:
        return True
    if {"database_url", "template_database"} & set(getattr(item, "fixturenames", ())):
        return True
    # A module that builds its own databases on the server (migrations, backups).
    module = getattr(item, "module", None)
    return module is not None and getattr(module, "PG_URL", None) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--db-only", default=False):
        return
    keep = [item for item in items if _reaches_database(item)]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if not _reaches_database(i)])
        items[:] = keep


def base_config(instance: Path, database_url: str) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "PASSWORD_HASH_FAST": True,
        "JOBS_IMMEDIATE": True,
        "REDIS_URL": None,
    }


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _build_template(instance: Path, url: str) -> None:
    from quire.runtime.app import create_app
    from quire.runtime.cli import upgrade_database
    from quire.runtime.demo import seed_demo
    from quire.runtime.extensions import db

    app = create_app(base_config(instance, url))
    upgrade_database(app)
    with app.app_context():
        seed_demo()
        db.session.remove()
        db.engine.dispose()


class _Copies:
    """Copies of the template database, one ready ahead, made and dropped by one thread.

    ``take()`` hands over a fresh copy (waiting if the thread is still making it) and asks
    for the next; ``drop(name)`` queues a used copy. WAL_LOG copies a small database
    without the two checkpoints of FILE_COPY.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self.ready: queue.Queue[str | BaseException] = queue.Queue()
        self.work: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="pg-copies", daemon=True)
        self.thread.start()
        self.work.put("")  # "" = make a copy

    def _run(self) -> None:
        admin = _admin_engine()
        try:
            while (job := self.work.get()) is not None:
                try:
                    with admin.connect() as conn:
                        if job:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{job}" WITH (FORCE)'))
                        else:
                            name = f"quire_t_{uuid.uuid4().hex[:12]}"
                            conn.execute(
                                text(
                                    f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" '
                                    "STRATEGY WAL_LOG"
                                )
                            )
                            self.ready.put(name)
                except BaseException as error:  # handed to the test that waits for it
                    if not job:
                        self.ready.put(error)
        finally:
            admin.dispose()

    def take(self) -> str:
        got = self.ready.get()
        if isinstance(got, BaseException):
            raise got
        self.work.put("")
        return got

    def drop(self, name: str) -> None:
        self.work.put(name)

    def close(self) -> None:
        self.work.put(None)
        self.thread.join()
        while not self.ready.empty():  # the copy made ahead for a test that never came
            got = self.ready.get()
            if isinstance(got, str):
                admin = _admin_engine()
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{got}" WITH (FORCE)'))
                admin.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the seeded template database (built once per test session and xdist worker)."""
    instance = tmp_path_factory.mktemp("template")
    if PG_URL:
        name = f"quire_tpl_{os.getpid()}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _build_template(instance, url)
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = instance / "template.db"
        _build_template(instance, f"sqlite:///{path}")
        yield str(path)


@pytest.fixture(scope="session")
def _database_copies(template_database: str) -> Iterator[_Copies | None]:
    if not PG_URL:
        yield None
        return
    copies = _Copies(template_database)
    yield copies
    copies.close()


@pytest.fixture
def database_url(
    template_database: str, _database_copies: _Copies | None, tmp_path: Path
) -> Iterator[str]:
    if _database_copies is not None:
        name = _database_copies.take()
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _database_copies.drop(name)
    else:
        target = tmp_path / "instance" / "quire.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template_database, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from quire.runtime.app import create_app
    from quire.runtime.extensions import db

    application = create_app(base_config(tmp_path / "instance", database_url))

    def forget_previous_request() -> None:
        # Tests keep an app context open so they can use the database; Flask then reuses
        # it (and its ``g``) for every request, so the signed-in user and CSRF token would leak between
        # test clients. A real server starts each request with a fresh context.
        from flask import g

        for name in list(g):
            g.pop(name, None)

    application.before_request_funcs.setdefault(None, []).insert(0, forget_previous_request)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


class Browser:
    """A signed-in (or not) web client that posts forms with their CSRF token, like a browser."""

    def __init__(self, client):  # type: ignore[no-untyped-def]
        self.client = client

    def get(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)

    def post_form(self, url: str, data: dict[str, Any], *, page: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        token = csrf_from(self.client.get(page or url).text)
        return self.client.post(url, data={"csrf_token": token, **data}, **kw)

    def login(self, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self.post_form("/login", {"username": username, "password": password})


@pytest.fixture
def browser(client) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(client)


@pytest.fixture
def signed_in(app):  # type: ignore[no-untyped-def]
    """``signed_in("salesmgr")`` → a Browser with that demo user's session."""

    def make(username: str) -> Browser:
        b = Browser(app.test_client())
        response = b.login(username)
        assert response.status_code == 302, response.text[:500]
        return b

    return make


class ApiClient:
    def __init__(self, client, token: str):  # type: ignore[no-untyped-def]
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):  # type: ignore[no-untyped-def]
        call = getattr(self.client, method)

        def send(url: str, **kw: Any):  # type: ignore[no-untyped-def]
            return call(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

        return send


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    """``api("finrev")`` → a client sending that demo user's bearer token."""

    def make(username: str) -> ApiClient:
        client = app.test_client()
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.json
        return ApiClient(client, response.json["token"])

    return make


@pytest.fixture
def user(app):  # type: ignore[no-untyped-def]
    """``user("sales1")`` → the demo User row."""
    from quire.runtime.org import user_by_username

    return user_by_username


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "QUIRE_DATABASE_URL": database_url,
        "QUIRE_SECRET_KEY": SECRET,
    }


@pytest.fixture
def runner(cli_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from quire.runtime.cli import main

    class Runner:
        def invoke(self, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
            return CliRunner().invoke(
                main, list(args), env=cli_env, input=input, catch_exceptions=False
            )

    return Runner()


# --- a real browser ----------------------------------------------------------------------
CHROMIUM = os.environ.get("QUIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("QUIRE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


#: How long a browser test waits for the state it expects (an element, a text, a URL). Each
#: wait ends as soon as the state is there; the bound only decides when a busy machine
#: (CI on two cores running the server, Chromium and pytest at once) counts as failure.
BROWSER_WAIT_MS = 30_000


@pytest.fixture
def page(chromium, live_server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect.set_options(timeout=BROWSER_WAIT_MS)
    context = chromium.new_context(base_url=live_server, locale="zh-CN")
    context.set_default_timeout(BROWSER_WAIT_MS)
    pg = context.new_page()
    pg.csp_violations = []  # type: ignore[attr-defined]
    pg.on(
        "console",
        lambda msg: (
            pg.csp_violations.append(msg.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    yield pg
    context.close()


class QueryCount:
    """The SQL statements sent while a `with` block ran (see the `count_queries` fixture)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"{i + 1}. {s[:160]}" for i, s in enumerate(self.statements))


@pytest.fixture
def count_queries(app):  # type: ignore[no-untyped-def]
    """``with count_queries() as seen: …`` → ``len(seen)`` statements sent to the database,
    to cap the queries of a page or endpoint (an N+1 shows as a count that grows with rows)."""
    from contextlib import contextmanager

    from sqlalchemy import event

    from quire.runtime.extensions import db

    @contextmanager
    def counting():  # type: ignore[no-untyped-def]
        seen = QueryCount()

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "PRAGMA")):
                seen.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting
