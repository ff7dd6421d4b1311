"""Report query benchmark: Quire's budget-vs-actual against the bare SQL aggregate, as ratios.

Run ``python bench/report_query.py`` (``--quick`` for 50,000 lines). The first run builds a
PostgreSQL database (``quire_bench``, or ``quire_bench_quick``; ``--database-url`` for
another server) through the real migrations and demo seed, plus approved expense claims
for this year holding exactly the wanted number of expense lines, written with ``COPY``
in the shape the forms service saves; later runs reuse it. Every case runs in its own
subprocess, timed from the call to the answer (imports, the app, the database connection
and one report call for a year without claims come before the clock); peak RSS is the
client's (the case's process and its children, sampled from /proc as in ``exports.py``),
not the server's.

Target (issue 10): budget-vs-actual as the CFO (the report query and every transform,
through :func:`quire.runtime.reports.engine.run`) on 1,000,000 lines within 1.5x the bare
aggregate a DBA would write for its actual column: sum of line amounts per department
and category of the year's approved claims. Both answers are compared, total by total.
The same pair is measured for the sales manager (row-level scope: Sales and East China
only), and the engine without its SQL push-down is shown for reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import pathlib
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from exports import run_case  # noqa: E402

DEFAULT_URL = os.environ.get(
    "QUIRE_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/quire_bench"
)
YEAR = dt.date.today().year
#: Synthetic claims are numbered apart from the demo's, so a rerun can find and count them.
PREFIX = "BQ-"
SEED = 20261125
#: Who files claims in each demo department (as the demo seed does).
CLAIMANTS = {
    "HQ": ("cfo",),
    "FIN": ("finadmin", "finrev"),
    "SALES": ("sales1", "sales2", "salesmgr"),
    "SALES-E": ("sales3",),
    "RD": ("rd1", "rdmgr"),
    "HR": ("hr1",),
}
DESCRIPTIONS = {
    "travel": ("高铁 上海—杭州 客户拜访", "Flight Beijing–Shanghai", "出差住宿 2 晚"),
    "meals": ("客户午餐", "Team dinner after release", "商务宴请"),
    "office": ("打印纸与墨盒", "Monitor stand", "办公文具"),
    "training": ("Python 高级课程", "Conference ticket", "财务培训"),
    "other": ("快递费", "Visa fee", "会议室租用"),
}

#: The bare aggregate: what a DBA writes for budget-vs-actual's actual column, in the two
#: usual spellings (lines as JSON elements, or as typed records); the faster is the baseline.
#: Aggregating by department id and joining the few department rows afterwards is faster
#: than grouping by the joined code.
BARE_SQL = {
    "elements": """
SELECT d.code, t.category, t.actual
FROM (
    SELECT s.department_id, line->>'category' AS category,
           SUM((line->>'amount')::numeric) AS actual
    FROM submissions s
    CROSS JOIN LATERAL json_array_elements(s.data->'lines') AS line
    WHERE s.template_id = (SELECT id FROM form_templates WHERE key = 'expense-claim')
      AND s.status = 'approved'
      AND s.period >= make_date(%(year)s, 1, 1) AND s.period < make_date(%(year)s + 1, 1, 1)
      {scope}
    GROUP BY s.department_id, line->>'category'
) t
JOIN departments d ON d.id = t.department_id
""",
    "records": """
SELECT d.code, t.category, t.actual
FROM (
    SELECT s.department_id, line.category, SUM(line.amount) AS actual
    FROM submissions s
    CROSS JOIN LATERAL json_to_recordset(s.data->'lines') AS line(category text, amount numeric)
    WHERE s.template_id = (SELECT id FROM form_templates WHERE key = 'expense-claim')
      AND s.status = 'approved'
      AND s.period >= make_date(%(year)s, 1, 1) AND s.period < make_date(%(year)s + 1, 1, 1)
      {scope}
    GROUP BY s.department_id, line.category
) t
JOIN departments d ON d.id = t.department_id
""",
}
#: The sales manager's scope as a DBA would hand-write it: the Sales subtree.
BARE_SCOPE = {
    "cfo": "",
    "salesmgr": (
        "AND s.department_id IN (SELECT id FROM departments WHERE path LIKE "
        "(SELECT path FROM departments WHERE code = 'SALES') || '%%')"
    ),
}


# --------------------------------------------------------------------------- the database


def _urls(url: str) -> tuple[str, str, str]:
    """(SQLAlchemy URL, libpq URL, database name)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return parsed.render_as_string(hide_password=False), libpq, str(parsed.database)


def _app_config(url: str, instance: str) -> dict[str, object]:
    return {
        "INSTANCE_PATH": instance,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "PASSWORD_HASH_FAST": True,
        "JOBS_IMMEDIATE": True,
        "REDIS_URL": None,
    }


def _claims(n: int, rng: random.Random, today: dt.date) -> list[tuple[str, int, list[dict]]]:
    """(department code, month, lines) for claims holding exactly ``n`` lines, with the demo's
    mix of line counts and amounts."""
    out: list[tuple[str, int, list[dict]]] = []
    codes = list(CLAIMANTS)
    weights = [1, 2, 3, 1, 2, 1]
    left = n
    while left > 0:
        code = rng.choices(codes, weights)[0]
        month = rng.randint(1, today.month)
        count = min(left, rng.choice((1, 1, 2, 2, 3, 4)))
        roll = rng.random()
        low, high = (80, 2400) if roll < 0.55 else (2500, 16000) if roll < 0.93 else (30000, 52000)
        last_day = today.day if month == today.month else 28
        lines = []
        for _ in range(count):
            category = rng.choice(list(DESCRIPTIONS))
            lines.append(
                {
                    "date": dt.date(YEAR, month, rng.randint(1, last_day)).isoformat(),
                    "category": category,
                    "description": rng.choice(DESCRIPTIONS[category]),
                    "amount": f"{Decimal(rng.randint(low * 100, high * 100)) / 100:.2f}",
                    "invoice": f"FP{YEAR}{month:02d}{len(out):07d}{len(lines)}",
                }
            )
        out.append((code, month, lines))
        left -= count
    return out


def _bench_claims(libpq: str) -> int:
    import psycopg

    with psycopg.connect(libpq) as conn:
        if conn.execute("SELECT to_regclass('submissions')").fetchone()[0] is None:
            return 0
        found = conn.execute(
            "SELECT count(*) FROM submissions WHERE number LIKE %s", (PREFIX + "%",)
        ).fetchone()
        return int(found[0])


def prepare(url: str, lines: int, instance: str) -> None:
    """Create the database once: schema, demo organisation, then ``lines`` expense lines. A
    database holding another number of lines is dropped and built again (deleting 10^5
    submissions row by row is slower than building afresh)."""
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    sa_url, libpq, name = _urls(url)
    claims = _claims(lines, random.Random(SEED), dt.date.today())
    admin = create_engine(make_url(sa_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and _bench_claims(libpq) not in (0, len(claims)):
            print(f"  dropping database {name} (another size)", flush=True)
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = False
        if not exists:
            print(f"  creating database {name}", flush=True)
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    from quire.runtime.app import create_app
    from quire.runtime.cli import upgrade_database
    from quire.runtime.demo import seed_demo
    from quire.runtime.extensions import db

    app = create_app(_app_config(sa_url, instance))
    upgrade_database(app)
    with app.app_context():
        if seed_demo():
            print("  seeded the demo organisation", flush=True)
        db.session.remove()
        db.engine.dispose()
    if _bench_claims(libpq) == len(claims):
        return

    print(f"  writing {len(claims):,} claims with {lines:,} lines", flush=True)
    started = time.perf_counter()
    with psycopg.connect(libpq, autocommit=True) as conn:
        template_id, version = conn.execute(
            "SELECT id, latest_version FROM form_templates WHERE key = 'expense-claim'"
        ).fetchone()
        departments = dict(conn.execute("SELECT code, id FROM departments"))
        users = dict(conn.execute("SELECT username, id FROM users"))
        names = dict(conn.execute("SELECT username, display_name FROM users"))
        rng = random.Random(SEED + 1)
        columns = (
            "template_id, template_version, number, status, department_id, project, period, "
            "submitter_id, data, total, version, created_at, updated_at, submitted_at, "
            "decided_at"
        )
        with (
            conn.transaction(),
            conn.cursor().copy(f"COPY submissions ({columns}) FROM STDIN") as copy,
        ):
            for serial, (code, month, data_lines) in enumerate(claims, start=1):
                claimant = rng.choice(CLAIMANTS[code])
                total = sum(Decimal(line["amount"]) for line in data_lines)
                # The shape and encoding the forms service saves.
                data = {
                    "department": code,
                    "project": None,
                    "payee_name": names[claimant].split(" ")[0],
                    "bank_account": f"6222 0210 {serial % 10000:04d} {rng.randint(1000, 9999)}",
                    "lines": data_lines,
                    "total": f"{total:.2f}",
                }
                created = dt.datetime(YEAR, month, 1, 9, tzinfo=dt.UTC) + dt.timedelta(
                    hours=rng.randint(0, 24 * 20)
                )
                copy.write_row(
                    (
                        template_id,
                        version,
                        f"{PREFIX}{YEAR}-{serial:08d}",
                        "approved",
                        departments[code],
                        None,
                        dt.date(YEAR, month, 1),
                        users[claimant],
                        json.dumps(data),
                        total,
                        1,
                        created,
                        created + dt.timedelta(days=2),
                        created + dt.timedelta(hours=1),
                        created + dt.timedelta(days=2),
                    )
                )
        conn.execute("VACUUM ANALYZE submissions")
    print(f"  written in {time.perf_counter() - started:.1f} s", flush=True)


# --------------------------------------------------------------------------- cases
# Each prints its seconds and its actuals as {"DEPT|category": "amount"}.


def _case_bare(url: str, username: str, spelling: str) -> dict[str, object]:
    import psycopg

    _, libpq, _ = _urls(url)
    sql = BARE_SQL[spelling].format(scope=BARE_SCOPE[username])
    with psycopg.connect(libpq) as conn:
        conn.execute("SELECT 1")
        gc.collect()
        start = time.perf_counter()
        found = conn.execute(sql, {"year": YEAR}).fetchall()
        seconds = time.perf_counter() - start
    totals = {f"{code}|{category}": str(actual) for code, category, actual in found}
    return {"seconds": seconds, "totals": totals, "rows": len(found)}


def case_bare_elements(url: str, username: str, instance: str) -> dict[str, object]:
    return _case_bare(url, username, "elements")


def case_bare_records(url: str, username: str, instance: str) -> dict[str, object]:
    return _case_bare(url, username, "records")


def _case_quire(url: str, username: str, instance: str, push_down: bool) -> dict[str, object]:
    from quire.runtime.app import create_app
    from quire.runtime.extensions import db
    from quire.runtime.org import user_by_username
    from quire.runtime.reports import engine

    app = create_app(_app_config(_urls(url)[0], instance))
    with app.app_context():
        user = user_by_username(username)
        # A year without claims, untimed: it warms what a running server has warm (the
        # formula grammar, mapper set-up, compiled SQL, parsed templates), not the data.
        engine.run(user, "budget-vs-actual", {"year": str(YEAR - 3)}, push_down=push_down)
        db.session.rollback()
        gc.collect()  # else a full collection of the app's heap (0.14 s) lands in the timing
        start = time.perf_counter()
        result = engine.run(user, "budget-vs-actual", {"year": str(YEAR)}, push_down=push_down)
        seconds = time.perf_counter() - start
    totals = {
        f"{row['department']}|{row['account']}": str(row["actual"])
        for row in result.rows
        if not row.get("_style") and row.get("actual")
    }
    return {"seconds": seconds, "totals": totals, "rows": len(result.rows)}


def case_quire(url: str, username: str, instance: str) -> dict[str, object]:
    return _case_quire(url, username, instance, push_down=True)


def case_quire_rows(url: str, username: str, instance: str) -> dict[str, object]:
    """The engine reading every line into pandas (the path before the SQL push-down)."""
    return _case_quire(url, username, instance, push_down=False)


CASES = {
    "bare_elements": case_bare_elements,
    "bare_records": case_bare_records,
    "quire": case_quire,
    "quire_rows": case_quire_rows,
}


def run_case_here(name: str, url: str, username: str, instance: str) -> None:
    """Child side: import, then run the case (it times only its own query or call)."""
    import psycopg  # noqa: F401

    if name.startswith("quire"):
        import pandas  # noqa: F401

        import quire.runtime.reports.engine  # noqa: F401
    result = CASES[name](url, username, instance)
    largest = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    result["largest_process_mb"] = largest / 1024
    print(json.dumps(result))


# --------------------------------------------------------------------------- harness


def measure_once(name: str, url: str, username: str, instance: str) -> dict:
    argv = [sys.executable, str(HERE), "--case", name, "--database-url", url]
    return run_case(argv + ["--user", username, "--instance", instance], name)


def measure(names: list[str], url: str, username: str, instance: str, repeat: int) -> dict:
    """Best time of ``repeat`` runs of each case, the cases taking turns so that a busy spell
    on this shared machine slows them alike (the minimum is the least noisy), and the highest
    peak memory of any run."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(max(1, repeat)):
        for name in names:
            runs[name].append(measure_once(name, url, username, instance))
    best = {}
    for name, found in runs.items():
        best[name] = min(found, key=lambda r: r["seconds"])
        best[name]["tree_peak_mb"] = max(r["tree_peak_mb"] for r in found)
    return best


def _same_totals(label: str, ours: dict, base: dict) -> None:
    mine = {k: Decimal(v) for k, v in ours["totals"].items()}
    theirs = {k: Decimal(v) for k, v in base["totals"].items() if Decimal(v)}
    if mine != theirs:
        wrong = sorted(set(mine.items()) ^ set(theirs.items()))[:6]
        raise SystemExit(f"{label}: totals differ from the bare aggregate: {wrong}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 lines, for a smoke run")
    parser.add_argument("--database-url", help="PostgreSQL URL (a database of its own)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case; the best counts")
    parser.add_argument(
        "--rows-path",
        action="store_true",
        help="also time the engine without push-down at full size (about 20 GB, minutes)",
    )
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--user", default="cfo", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case_here(args.case, args.database_url, args.user, args.instance)
        return
    if args.prepare:
        prepare(args.database_url, args.prepare, args.instance)
        return

    lines = 50_000 if args.quick else 1_000_000
    url = args.database_url or (DEFAULT_URL + "_quick" if args.quick else DEFAULT_URL)
    print(
        f"report query benchmark ({'quick' if args.quick else 'full'}): {lines:,} expense "
        f"lines, database {_urls(url)[2]}, {os.cpu_count()} CPUs",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as instance:
        # In a child of its own: a process started by this one inherits its peak RSS.
        subprocess.run(
            [sys.executable, str(HERE), "--prepare", str(lines), "--database-url", url]
            + ["--instance", instance],
            check=True,
        )
        # One untimed pass so that every case starts from the same warm cache.
        measure_once("bare_elements", url, "cfo", instance)

        def report(label: str, ours: dict, base: dict | None, target: str) -> None:
            ratio = f"{ours['seconds'] / base['seconds']:.2f}x" if base else "-"
            print(
                f"  {label:<44} {ours['seconds']:7.3f} s {ratio:>7}  "
                f"peak {ours['tree_peak_mb']:5.0f} MB (largest process "
                f"{ours['largest_process_mb']:4.0f} MB)  {target}",
                flush=True,
            )

        for username, target in (("cfo", "target <=1.5x"), ("salesmgr", "")):
            best = measure(
                ["bare_elements", "bare_records", "quire"], url, username, instance, args.repeat
            )
            for spelling in ("elements", "records"):
                found = best[f"bare_{spelling}"]
                report(f"{username}: bare SQL, json lines as {spelling}", found, None, "")
            _same_totals(username, best["bare_records"], best["bare_elements"])
            bare = min(best["bare_elements"], best["bare_records"], key=lambda b: b["seconds"])
            _same_totals(username, best["quire"], bare)
            report(f"{username}: budget-vs-actual / faster bare", best["quire"], bare, target)
            if username == "cfo" and (args.quick or args.rows_path):
                rows = measure(["quire_rows"], url, username, instance, 1)["quire_rows"]
                _same_totals(f"{username} (rows)", rows, bare)
                report(f"{username}: without push-down / faster bare", rows, bare, "(reference)")


if __name__ == "__main__":
    main()
