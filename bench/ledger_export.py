"""Expense ledger export benchmark: Quire's streamed Excel and CSV against a bare cursor.

Run ``python bench/ledger_export.py`` (``--quick`` for 50,000 lines). It builds once a
database of the demo organisation plus approved expense claims of this year holding
exactly the wanted number of lines: SQLite in a cache folder by default, or PostgreSQL
with ``QUIRE_BENCH_DATABASE_URL`` (built as ``bench/report_query.py`` builds it). Each case
runs in its own subprocess and prints its seconds (from the call to the closed file, the
imports and the app set-up before the clock) and its peak memory: the sampled resident
memory of the process tree and the largest process by ``getrusage``.

Quire's case is the CFO's ``expense-ledger`` export (:mod:`quire.runtime.reports.stream`:
scope filter, parameters, labels, totals). The baseline does the same work with the same
options by hand: one SQL cursor read in chunks (a server-side cursor on PostgreSQL), the
lines expanded from their JSON, written to an XlsxWriter ``constant_memory`` workbook with
the same number formats, or to ``csv.writer``, with a totals row. Both files must hold the
same number of lines. Target (issue 17): memory bounded (the same order as the baseline,
not growing with the ledger) and time within about 2x.
"""

from __future__ import annotations

import argparse
import csv
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
from report_query import CLAIMANTS, PREFIX, SEED, YEAR, _claims  # noqa: E402
from report_query import prepare as prepare_postgresql  # noqa: E402

CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "quire"
CHUNK = 1_000


def _default_url(lines: int) -> str:
    found = os.environ.get("QUIRE_BENCH_DATABASE_URL")
    if found:
        return found + ("_quick" if lines < 1_000_000 else "")
    CACHE.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{CACHE / f'ledger-bench-{lines}.sqlite'}"


def _app_config(url: str, instance: str) -> dict[str, object]:
    return {
        "INSTANCE_PATH": instance,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "PASSWORD_HASH_FAST": True,
        "JOBS_IMMEDIATE": True,
        "REDIS_URL": None,
    }


def prepare(url: str, lines: int, instance: str) -> None:
    """Build the database once (a file holding another number of lines is built again)."""
    if not url.startswith("sqlite"):
        prepare_postgresql(url, lines, instance)
        return
    from sqlalchemy import func, insert, select

    from quire.runtime.app import create_app
    from quire.runtime.cli import upgrade_database
    from quire.runtime.demo import seed_demo
    from quire.runtime.extensions import db
    from quire.runtime.models import Department, FormTemplate, Submission, SubmissionStatus, User

    claims = _claims(lines, random.Random(SEED), dt.date.today())
    path = pathlib.Path(url.removeprefix("sqlite:///"))
    app = create_app(_app_config(url, instance))
    if path.exists():
        with app.app_context():
            made = db.session.scalar(
                select(func.count()).where(Submission.number.like(PREFIX + "%"))
            )
            db.engine.dispose()
        if made == len(claims):
            return
        path.unlink()
        app = create_app(_app_config(url, instance))
    upgrade_database(app)
    print(f"  writing {len(claims):,} claims with {lines:,} lines to {path}", flush=True)
    with app.app_context():
        seed_demo()
        template = db.session.scalar(
            select(FormTemplate).where(FormTemplate.key == "expense-claim")
        )
        departments = {d.code: d.id for d in db.session.scalars(select(Department))}
        users = {u.username: u.id for u in db.session.scalars(select(User))}
        rng = random.Random(SEED + 1)
        batch: list[dict] = []
        for serial, (code, month, data_lines) in enumerate(claims, start=1):
            claimant = rng.choice(CLAIMANTS[code])
            total = sum(Decimal(line["amount"]) for line in data_lines)
            created = dt.datetime(YEAR, month, 1, 9, tzinfo=dt.UTC)
            batch.append(
                {
                    "template_id": template.id,
                    "template_version": template.latest_version,
                    "number": f"{PREFIX}{YEAR}-{serial:08d}",
                    "status": SubmissionStatus.APPROVED,
                    "department_id": departments[code],
                    "period": dt.date(YEAR, month, 1),
                    "submitter_id": users[claimant],
                    "data": {"department": code, "lines": data_lines, "total": f"{total:.2f}"},
                    "total": total,
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                    "submitted_at": created,
                    "decided_at": created,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(insert(Submission), batch)
                batch = []
        if batch:
            db.session.execute(insert(Submission), batch)
        db.session.commit()
        db.engine.dispose()


# --------------------------------------------------------------------------- cases


def case_quire(url: str, fmt: str, instance: str, out: pathlib.Path) -> int:
    from quire.runtime.app import create_app
    from quire.runtime.org import user_by_username
    from quire.runtime.reports import engine, export, stream

    app = create_app(_app_config(url, instance))
    with app.app_context(), app.test_request_context():
        user = user_by_username("cfo")
        report = engine.definition("expense-ledger")
        gc.collect()
        start = time.perf_counter()
        listing = stream.listing(user, report, {"year": str(YEAR)}, "zh_CN")
        with out.open("wb") as f:
            export.write(listing.document(company="Bench"), fmt, f)
        seconds = time.perf_counter() - start
        lines = listing.count()
    return _result(seconds, lines)


def _bare_rows(url: str):  # type: ignore[no-untyped-def]
    """(number, code, name, status, data) of the year's approved claims, in ledger order,
    read ``CHUNK`` at a time."""
    sql = (
        "SELECT s.number, d.code, d.name_zh, s.status, s.data FROM submissions s "
        "JOIN departments d ON d.id = s.department_id "
        "WHERE s.template_id = (SELECT id FROM form_templates WHERE key = 'expense-claim') "
        "AND s.status = 'approved' AND s.period >= {p} AND s.period <= {q} "
        "ORDER BY s.period, s.number"
    )
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        cursor = conn.execute(sql.format(p="?", q="?"), (f"{YEAR}-01-01", f"{YEAR}-12-31"))
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        libpq = make_url(url).set(drivername="postgresql").render_as_string(False)
        conn = psycopg.connect(libpq)
        cursor = conn.cursor(name="ledger")  # server-side
        cursor.execute(sql.format(p="%s", q="%s"), (dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)))
    while chunk := cursor.fetchmany(CHUNK):
        for number, code, name, status, data in chunk:
            yield number, code, name, status, json.loads(data) if isinstance(data, str) else data
    conn.close()


def _bare_lines(url: str):  # type: ignore[no-untyped-def]
    for number, code, name, status, data in _bare_rows(url):
        for line in data.get("lines") or []:
            yield (
                number,
                code,
                name,
                status,
                dt.date.fromisoformat(line["date"]),
                line["category"],
                line.get("description") or "",
                Decimal(line["amount"]),
            )


def case_bare(url: str, fmt: str, instance: str, out: pathlib.Path) -> int:
    import xlsxwriter

    gc.collect()
    start = time.perf_counter()
    lines, total = 0, Decimal(0)
    headings = ["单号", "部门代码", "部门", "状态", "日期", "类别", "说明", "金额"]
    if fmt == "csv":
        with out.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow(headings)
            for row in _bare_lines(url):
                writer.writerow([*row[:4], row[4].isoformat(), *row[5:7], f"{row[7]:.2f}"])
                lines += 1
                total += row[7]
            writer.writerow(["合计 Total", "", "", "", "", "", "", f"{total:.2f}"])
    else:
        book = xlsxwriter.Workbook(
            str(out),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        sheet = book.add_worksheet("费用明细")
        header = book.add_format({"bold": True, "bg_color": "#E7E6E6", "bottom": 1})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        money = book.add_format({"num_format": "#,##0.00"})
        for col, text in enumerate(headings):
            sheet.write_string(0, col, text, header)
        r = 1
        for row in _bare_lines(url):
            for col in range(4):
                sheet.write_string(r, col, row[col])
            sheet.write_datetime(r, 4, dt.datetime(row[4].year, row[4].month, row[4].day), day)
            sheet.write_string(r, 5, row[5])
            if row[6]:
                sheet.write_string(r, 6, row[6])
            sheet.write_number(r, 7, float(row[7]), money)
            total += row[7]
            lines += 1
            r += 1
        sheet.autofilter(0, 0, r - 1, 7)
        sheet.write_string(r, 0, "合计 Total")
        sheet.write_formula(r, 7, f"=SUBTOTAL(109,H2:H{r})", money, float(total))
        book.close()
    return _result(time.perf_counter() - start, lines)


def _result(seconds: float, lines: int) -> dict[str, object]:  # type: ignore[return]
    return {"seconds": seconds, "lines": lines}  # type: ignore[return-value]


CASES = {"quire": case_quire, "bare": case_bare}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split(field + ":", 1)[1].split()[0])


def run_case_here(name: str, url: str, fmt: str, instance: str) -> None:
    import xlsxwriter  # noqa: F401

    if name == "quire":
        import quire.runtime.reports.stream  # noqa: F401
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / f"ledger.{fmt}"
        before = _status_kb("VmRSS")
        result: dict = CASES[name](url, fmt, instance, out)  # type: ignore[assignment]
        # What the export itself added on top of the imports and the app: bounded memory
        # means this stays flat as the ledger grows.
        result["added_mb"] = max(0, _status_kb("VmHWM") - before) / 1024
        result["bytes"] = out.stat().st_size
    largest = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    result["largest_process_mb"] = largest / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 lines, for a smoke run")
    parser.add_argument("--database-url", help="SQLite or PostgreSQL URL (a database of its own)")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--format", default="xlsx", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case_here(args.case, args.database_url, args.format, args.instance)
        return
    if args.prepare:
        prepare(args.database_url, args.prepare, args.instance)
        return

    lines = 50_000 if args.quick else 1_000_000
    url = args.database_url or _default_url(lines)
    print(f"ledger export benchmark: {lines:,} expense lines, {url.split(':')[0]}", flush=True)
    with tempfile.TemporaryDirectory() as instance:
        # In a child of its own: a process started by this one inherits its peak RSS.
        subprocess.run(
            [sys.executable, str(HERE), "--prepare", str(lines), "--database-url", url]
            + ["--instance", instance],
            check=True,
        )
        for fmt in ("xlsx", "csv"):
            found = {}
            for name in ("bare", "quire"):
                argv = [sys.executable, str(HERE), "--case", name, "--database-url", url]
                argv += ["--format", fmt, "--instance", instance]
                found[name] = run_case(argv, name)
            bare, ours = found["bare"], found["quire"]
            if bare["lines"] != ours["lines"]:
                raise SystemExit(f"{fmt}: {ours['lines']} lines, the baseline {bare['lines']}")
            for name, result in (("bare cursor", bare), ("Quire export", ours)):
                print(
                    f"  {fmt:<4} {name:<13} {result['lines']:>9,} lines "
                    f"{result['seconds']:8.2f} s  peak {result['tree_peak_mb']:6.0f} MB "
                    f"(largest process {result['largest_process_mb']:5.0f} MB, "
                    f"added by the export {result['added_mb']:5.0f} MB)",
                    flush=True,
                )
            print(
                f"  {fmt:<4} Quire / bare: time {ours['seconds'] / bare['seconds']:.2f}x, "
                f"peak memory {ours['tree_peak_mb'] / bare['tree_peak_mb']:.2f}x "
                f"(the app and its libraries included; the export's own growth is above)",
                flush=True,
            )


if __name__ == "__main__":
    main()
