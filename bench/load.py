"""Load benchmark: Quire under month-end load beside a bare Flask endpoint, as ratios.

Run ``python bench/load.py`` (``--quick`` for 3-second runs; ``--database-url`` adds a
PostgreSQL run, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/quire_load``, dropped
and rebuilt each time). For each database it builds a fresh instance through the real
migrations and demo seed, starts ``quire serve --workers N --no-worker`` on loopback, and
starts a bare Flask app under gunicorn with the same workers and threads, returning a
20-item JSON list. ``wrk`` (Debian's package) drives each endpoint with the same
connections and duration: bare Flask, ``/healthz``, the inbox, the submissions list, one
submission and budget-vs-actual, each with a bearer token. It prints requests/s,
p50/p95/p99, errors and the ratio to bare.

Then a month-end scenario runs with a bounded number of operations: claimants file and
submit claims concurrently while their managers and the finance reviewer approve from
their inboxes, two approvals racing for each task. It prints operations/s and checks what
matters more than speed: no error, and every claim decided exactly once per step.

Targets (issue 18), on 2 workers at 50 connections: inbox, submissions list and a
submission within 3x bare Flask with p99 under 100 ms; budget-vs-actual within 5x; the
month-end scenario with 0 errors and 0 lost or double decisions. Traffic goes to
127.0.0.1 only; every run is bounded in time and count.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx

HERE = pathlib.Path(__file__).resolve().parent
PASSWORD = "quire-demo"
THREADS = 4  # what ``quire serve`` gives each gunicorn worker

BARE_APP = """
from flask import Flask, jsonify
app = Flask(__name__)
ITEMS = [{"id": i, "name": f"item {i}", "amount": f"{i * 100}.00"} for i in range(20)]
@app.get("/items")
def items():
    return jsonify(items=ITEMS, page=1, pages=1, total=20)
"""

#: wrk reports exact percentiles and every kind of error through this script.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {limit:.0f} s")


class Server:
    """A process group started in the background and stopped, whatever happens."""

    def __init__(self, argv: list[str], env: dict[str, str], log: pathlib.Path):
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def quire_env(instance: pathlib.Path, url: str | None) -> dict[str, str]:
    env = {**os.environ, "QUIRE_INSTANCE_PATH": str(instance), "QUIRE_SECRET_KEY": "bench-" * 6}
    if url:
        env["QUIRE_DATABASE_URL"] = url
    env.pop("QUIRE_REDIS_URL", None)
    return env


def prepare_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def wrk(url: str, seconds: int, connections: int, token: str | None) -> dict[str, float]:
    script = pathlib.Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT)
    argv = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 60)
    script.unlink()
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        raise SystemExit(f"wrk failed on {url}: {out.stdout}{out.stderr}")
    requests, micros, p50, p95, p99, errors = (int(x) for x in line.split()[1:])
    return {
        "rps": requests / (micros / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "errors": errors,
        "requests": requests,
    }


def token_for(base: str, username: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return response.json()["token"]


# --- month-end: file, submit, approve, list --------------------------------------------------
CLAIMANTS = {"sales1": "salesmgr", "sales2": "salesmgr", "sales3": "salesmgr", "rd1": "rdmgr"}


def _claim(n: int) -> dict:
    today = date.today().isoformat()
    line = {"date": today, "category": "office", "description": f"月末 {n}", "amount": "12000.00"}
    return {"lines": [line], "payee_name": "张三", "bank_account": "6222020200001234"}


def month_end(base: str, tokens: dict[str, str], claims: int, connections: int) -> dict:
    """File and submit ``claims`` claims while approvers race each other from their inboxes."""
    errors: list[str] = []
    clients = {
        u: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=60)
        for u, t in tokens.items()
    }
    lock = threading.Lock()
    filed: list[int] = []
    decisions = {"ok": 0, "conflict": 0}

    def file_one(n: int) -> None:
        who = list(CLAIMANTS)[n % len(CLAIMANTS)]
        c = clients[who]
        r = c.post("/api/v1/forms/expense-claim/submissions", json={"data": _claim(n)})
        if r.status_code != 201:
            errors.append(f"create {r.status_code} {r.text[:200]}")
            return
        sub = r.json()
        r = c.post(f"/api/v1/submissions/{sub['id']}/submit", json={"version": sub["version"]})
        if r.status_code != 200:
            errors.append(f"submit {r.status_code} {r.text[:200]}")
            return
        c.get("/api/v1/submissions?page=1")
        with lock:
            filed.append(sub["id"])

    def approve(approver: str, item: dict, version: int) -> None:
        r = clients[approver].post(
            f"/api/v1/submissions/{item['submission_id']}/actions",
            json={"action": "approve", "comment": "ok", "version": version},
        )
        with lock:
            if r.status_code == 200:
                decisions["ok"] += 1
            elif r.status_code == 409:
                decisions["conflict"] += 1  # the other racer decided first: expected
            else:
                errors.append(f"approve {r.status_code} {r.text[:200]}")

    def race(approver: str, item: dict) -> None:
        """Two approvals of the same task at the same version, sent at once: one wins."""
        sub = clients[approver].get(f"/api/v1/submissions/{item['submission_id']}")
        if sub.status_code != 200:
            with lock:
                errors.append(f"read {sub.status_code}")
            return
        racers = [
            threading.Thread(target=approve, args=(approver, item, sub.json()["version"]))
            for _ in range(2)
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()

    def waiting_for(approver: str) -> list[dict]:
        """Every inbox item on a filed claim, page by page."""
        items, page, pages = [], 1, 1
        while page <= pages:
            body = clients[approver].get(f"/api/v1/inbox?page={page}&per_page=100").json()
            items += [i for i in body["items"] if i["submission_id"] in filed_set]
            page, pages = page + 1, body["pages"]
        return items

    def approve_round(approver: str, pool: ThreadPoolExecutor) -> int:
        items = waiting_for(approver)
        for f in [pool.submit(race, approver, item) for item in items]:
            f.result()
        return len(items)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        for f in [pool.submit(file_one, n) for n in range(claims)]:
            f.result()
        filed_set = set(filed)
        for approver in ("salesmgr", "rdmgr", "finrev"):
            approve_round(approver, pool)
    elapsed = time.perf_counter() - started

    # Every filed claim is approved, each step decided exactly once.
    lost, double = 0, 0
    auditor = clients["finrev"]
    for sid in filed:
        history = auditor.get(f"/api/v1/submissions/{sid}/history").json()["items"]
        steps = [h["step"] for h in history if h["action"] == "approve"]
        status = auditor.get(f"/api/v1/submissions/{sid}").json()["status"]
        lost += status != "approved"
        double += len(steps) != len(set(steps))
    for c in clients.values():
        c.close()
    operations = claims * 3 + decisions["ok"] + decisions["conflict"]
    return {
        "claims": len(filed),
        "ops_per_s": operations / elapsed,
        "seconds": elapsed,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "lost": lost,
        "double": double,
        "decisions": decisions["ok"],
        "conflicts": decisions["conflict"],
    }


def run_database(label: str, url: str | None, args: argparse.Namespace, work: pathlib.Path) -> None:
    instance = work / f"instance-{label}"
    env = quire_env(instance, url)
    quire = [sys.executable, "-m", "quire.runtime.cli"]
    if url:
        prepare_postgres(url)
    for step in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(quire + step, env=env, check=True, capture_output=True, timeout=600)

    bare_dir = work / "bare"
    bare_dir.mkdir(exist_ok=True)
    (bare_dir / "bare_app.py").write_text(BARE_APP)
    bare_port, quire_port = free_port(), free_port()
    bare = Server(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "--threads",
            str(THREADS),
            "-b",
            f"127.0.0.1:{bare_port}",
            "--chdir",
            str(bare_dir),
            "--no-control-socket",
            "bare_app:app",
        ],
        dict(os.environ),
        work / f"bare-{label}.log",
    )
    server = Server(
        quire + ["serve", "--port", str(quire_port), "--workers", str(args.workers), "--no-worker"],
        env,
        work / f"quire-{label}.log",
    )
    try:
        base = f"http://127.0.0.1:{quire_port}"
        wait_for(f"http://127.0.0.1:{bare_port}/items")
        wait_for(f"{base}/healthz")
        tokens = {u: token_for(base, u) for u in ("salesmgr", "cfo", "finrev", "rdmgr", *CLAIMANTS)}
        some = httpx.get(
            f"{base}/api/v1/submissions?page=1",
            headers={"Authorization": f"Bearer {tokens['salesmgr']}"},
        ).json()
        one = some["items"][0]["id"]
        year = date.today().year
        cases = [
            ("bare Flask, 20-item list", f"http://127.0.0.1:{bare_port}/items", None),
            ("/healthz", f"{base}/healthz", None),
            ("/api/v1/inbox (salesmgr)", f"{base}/api/v1/inbox", tokens["salesmgr"]),
            (
                "/api/v1/submissions?page=1 (salesmgr)",
                f"{base}/api/v1/submissions?page=1",
                tokens["salesmgr"],
            ),
            (
                f"/api/v1/submissions/{one} (salesmgr)",
                f"{base}/api/v1/submissions/{one}",
                tokens["salesmgr"],
            ),
            (
                "/api/v1/reports/budget-vs-actual (cfo)",
                f"{base}/api/v1/reports/budget-vs-actual?year={year}",
                tokens["cfo"],
            ),
        ]
        print(
            f"\n## {label}: {args.workers} workers x {THREADS} threads, "
            f"{args.connections} connections, {args.seconds} s each"
        )
        print("| endpoint | req/s | p50 | p95 | p99 | errors | vs bare |")
        print("|---|---|---|---|---|---|---|")
        bare_rps = None
        for name, target, token in cases:
            r = wrk(target, args.seconds, args.connections, token)
            bare_rps = bare_rps or r["rps"]
            print(
                f"| {name} | {r['rps']:,.0f} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | "
                f"{r['p99']:.0f} ms | {r['errors']} | {bare_rps / r['rps']:.1f}x slower |",
                flush=True,
            )
        m = month_end(base, tokens, args.claims, args.connections)
        print(
            f"\nmonth-end ({label}): {m['claims']} claims filed and submitted, "
            f"{m['decisions']} decisions ({m['conflicts']} racing approvals refused with 409), "
            f"{m['ops_per_s']:.0f} operations/s over {m['seconds']:.1f} s; "
            f"errors {m['errors']}, lost decisions {m['lost']}, double decisions {m['double']}"
            + (f"; first error: {m['first_error']}" if m["first_error"] else "")
        )
    finally:
        server.stop()
        bare.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--claims", type=int, default=60)
    parser.add_argument("--database-url", default=os.environ.get("QUIRE_BENCH_LOAD_DATABASE_URL"))
    parser.add_argument("--quick", action="store_true", help="3-second runs, 20 claims")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.claims = 3, 20
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work = pathlib.Path(tempfile.mkdtemp(prefix="quire-load-"))
    try:
        run_database("SQLite", None, args, work)
        if args.database_url:
            run_database("PostgreSQL", args.database_url, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "note": "targets: inbox/list/submission <= 3x bare, p99 < 100 ms; "
                "budget-vs-actual <= 5x; month-end 0 errors, 0 lost, 0 double"
            }
        )
    )


if __name__ == "__main__":
    main()
