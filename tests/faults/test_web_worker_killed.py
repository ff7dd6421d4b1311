"""Issue 18: ``kill -9`` of a web worker in the middle of an approval leaves the decision all
or nothing. A real ``quire serve`` (gunicorn) on a free loopback port and PostgreSQL; the
test holds the audit chain's head row, so the worker's approval transaction waits inside
itself after writing the decision (its row locks on ``approval_tasks`` and
``approval_events`` show it) and before committing. The worker is then killed: the task is
still open, no decision row exists without its task state, ``quire audit verify`` passes,
and the respawned worker takes the same approval.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD, PG_URL, SECRET

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (QUIRE_TEST_DATABASE_URL)")


def _wait_for(check, what: str, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn_workers(master: int) -> list[int]:
    """The gunicorn worker processes under ``quire serve`` (its children's children)."""
    found = []
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            found.append(int(child))
            for grandchild_task in Path(f"/proc/{child}/task").iterdir():
                found.extend(int(g) for g in (grandchild_task / "children").read_text().split())
    return found


def _answering(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_web_worker_killed_mid_approval_leaves_the_decision_all_or_nothing(
    database_url, tmp_path
):
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (instance / "quire.toml").write_text(
        f'secret_key = "{SECRET}"\ndatabase_url = "{database_url}"\n'
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "QUIRE_INSTANCE_PATH": str(instance)}
    log = (instance / "serve.log").open("ab")
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "quire.runtime.cli", "serve", "--no-worker", "--workers", "1"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    engine = create_engine(database_url)
    holder = engine.connect()
    try:
        _wait_for(lambda: _answering(base), "quire serve to answer")
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"username": "salesmgr", "password": PASSWORD}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        item = httpx.get(f"{base}/api/v1/inbox", headers=headers).json()["items"][0]
        sid, task_id = item["submission_id"], item["task_id"]
        version = httpx.get(f"{base}/api/v1/submissions/{sid}", headers=headers).json()["version"]

        def counts() -> tuple:  # type: ignore[type-arg]
            with engine.connect() as conn:
                return (
                    conn.scalar(
                        text("SELECT status FROM approval_tasks WHERE id = :t"), {"t": task_id}
                    ),
                    conn.scalar(
                        text("SELECT count(*) FROM approval_events WHERE submission_id = :s"),
                        {"s": sid},
                    ),
                    conn.scalar(text("SELECT version FROM submissions WHERE id = :s"), {"s": sid}),
                    conn.scalar(text("SELECT seq FROM audit_head WHERE id = 1")),
                )

        before = counts()
        assert before[0] == "open"

        # Hold the audit chain's head: the approval writes its decision, then waits here.
        holder.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
        answers: list = []  # type: ignore[type-arg]

        def approve() -> None:
            try:
                answers.append(
                    httpx.post(
                        f"{base}/api/v1/submissions/{sid}/actions",
                        json={"action": "approve", "comment": "ok", "version": version},
                        headers=headers,
                        timeout=60,
                    )
                )
            except httpx.HTTPError as error:
                answers.append(error)

        sender = threading.Thread(target=approve)
        sender.start()

        def waiting_backend() -> int | None:
            with engine.connect() as conn:
                return conn.scalar(
                    text(
                        "SELECT a.pid FROM pg_stat_activity a WHERE a.datname = current_database()"
                        " AND a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()"
                    )
                )

        backend = _wait_for(waiting_backend, "the approval to wait inside its transaction")
        with engine.connect() as conn:
            written = set(
                conn.scalars(
                    text(
                        "SELECT relation::regclass::text FROM pg_locks WHERE pid = :p"
                        " AND mode = 'RowExclusiveLock' AND relation IS NOT NULL"
                    ),
                    {"p": backend},
                )
            )
        assert {"approval_tasks", "approval_events"} <= written, written  # decided, uncommitted

        workers = _gunicorn_workers(server.pid)
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        sender.join(timeout=30)
        assert isinstance(answers[0], httpx.HTTPError)  # the client saw the connection drop
        holder.rollback()  # let the orphaned transaction run into its dead client

        def backend_gone() -> bool:
            with engine.connect() as conn:
                return not conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": backend}
                )

        _wait_for(backend_gone, "PostgreSQL to end the killed worker's transaction")
        assert counts() == before  # task open, no event, same version, no audit event

        verified = CliRunner().invoke(
            __import__("quire.runtime.cli", fromlist=["main"]).main,
            ["audit", "verify"],
            env={"QUIRE_INSTANCE_PATH": str(instance)},
        )
        assert verified.exit_code == 0, verified.output

        # gunicorn replaced the worker; the same approval now goes through, once.
        _wait_for(lambda: _answering(base), "a new web worker")
        done = httpx.post(
            f"{base}/api/v1/submissions/{sid}/actions",
            json={"action": "approve", "comment": "ok", "version": version},
            headers=headers,
            timeout=60,
        )
        assert done.status_code == 200, done.text
        after = counts()
        assert after[0] == "approved" and after[1] > before[1] and after[3] > before[3]
    finally:
        holder.close()
        engine.dispose()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
