"""Numbers that reconcile: each actual of budget-vs-actual is the sum of the lines its
drill-down lists (claims, ERP ledger postings, allocations), and a claim the ERP also posted
counts once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from quire.runtime.datasources import service
from quire.runtime.extensions import db
from quire.runtime.reports import engine
from tests.datasources.conftest import make_source  # noqa: F401 - the fixture, shared

from .conftest import YEAR

DIMENSIONS = ("department", "account", "month", "project")
TODAY = date(YEAR, 12, 1)


def _lines_behind(reader: Any, row: dict[str, Any], column: str) -> list[dict[str, Any]]:
    target = row["_links"][column]
    assert target["report"] == "actual-lines"
    return engine.run(reader, "actual-lines", target["params"], today=TODAY).rows


def _assert_every_actual_is_its_lines(reader: Any, params: dict[str, str]) -> int:
    """Every row's actual (detail and subtotal) against the sum of its drill-down."""
    report = engine.run(reader, "budget-vs-actual", params, today=TODAY)
    checked = 0
    for row in report.rows:
        lines = _lines_behind(reader, row, "actual")
        assert sum((line["actual"] for line in lines), Decimal(0)) == (row["actual"] or 0), row
        if row.get("_style") == "subtotal" and row.get("department"):
            # The department's own drill-down lists the same lines as its subtotal's.
            lines = _lines_behind(reader, row, "department_name")
            assert sum((line["actual"] for line in lines), Decimal(0)) == row["actual"]
        checked += 1
    return checked


@pytest.fixture
def sample_ledger(app, make_source) -> Iterator[None]:  # noqa: F811
    """The demo's sample ERP ledger (`make demo` prints it), added as `erp-actuals`."""
    from quire.plugins.builtin.sql import dispose_engines
    from quire.runtime.demo import write_sample_ledger

    path = write_sample_ledger(TODAY)
    assert path is not None, "the quire-erp-ledger plugin is installed for the tests"
    make_source("erp-actuals", "erp_ledger", {"url": f"sqlite:///{path}"})
    yield
    dispose_engines()


@pytest.fixture
def ledger(app, make_source, tmp_path) -> Iterator[Any]:  # noqa: F811
    """``ledger([(department, account, day, amount, reference)], **settings)``: an ERP ledger
    holding exactly those postings, set up as `erp-actuals` with those settings."""
    from quire_erp_ledger.sample import Posting, generate

    from quire.plugins.builtin.sql import dispose_engines

    url = f"sqlite:///{tmp_path / 'erp.db'}"

    def make(postings: list[tuple[str, str, date, str, str]], **settings: Any) -> None:
        erp = sa.create_engine(url)
        posted = [
            Posting(d, a, day, Decimal(amount), ref, "GL") for d, a, day, amount, ref in postings
        ]
        generate(erp, YEAR, months=0, posted=posted)
        erp.dispose()
        existing = service.find_source("erp-actuals")
        if existing is not None:
            service.delete(None, existing, confirmed=True)
            db.session.commit()
        make_source("erp-actuals", "erp_ledger", {"url": url, **settings})

    yield make
    dispose_engines()


@pytest.mark.parametrize("username", ["cfo", "salesmgr"])
def test_every_actual_of_the_demo_with_its_erp_ledger_is_the_sum_of_its_drill_down(
    sample_ledger, user, username
):
    reader = user(username)
    for dimension in DIMENSIONS:
        assert _assert_every_actual_is_its_lines(reader, {"dimension": dimension}) > 0
    assert _assert_every_actual_is_its_lines(reader, {"department": "SALES"}) > 0


def test_the_demo_ledger_posts_approved_claims_and_they_are_not_counted_twice(app, user):
    cfo = user("cfo")

    def rd_training() -> dict[str, Any]:
        rows = engine.run(cfo, "budget-vs-actual", {"department": "RD"}, today=TODAY).rows
        return next(r for r in rows if r.get("account") == "training" and not r.get("_style"))

    claims_only = rd_training()
    assert Decimal("0.9") <= claims_only["execution_rate"] <= 1  # the budget-warning demo

    from quire.plugins.builtin.sql import dispose_engines
    from quire.runtime.demo import write_sample_ledger

    path = write_sample_ledger(TODAY)
    service.save(
        None,
        service.SourceInput(
            key="erp-actuals",
            name="ERP",
            connector="erp_ledger",
            values={"url": f"sqlite:///{path}"},
        ),
        confirmed=True,
    )
    db.session.commit()
    with_ledger = rd_training()
    dispose_engines()
    # Every RD training claim is in the ledger under its number: it still counts once.
    assert with_ledger["actual"] == claims_only["actual"]
    assert with_ledger["execution_rate"] == claims_only["execution_rate"]


def test_a_claim_posted_to_the_ledger_counts_once_whatever_the_rule(budget, claim, user, ledger):
    budget("RD", {"training": 40000, "travel": 30000})
    posted = claim("RD", [("training", "9600.00")], month=3)
    db.session.commit()
    cfo = user("cfo")
    postings = [
        ("RD", "training", date(YEAR, 3, 20), "9600.00", posted.number),  # the claim, posted
        ("RD", "training", date(YEAR, 4, 2), "1500.00", "AP-0001"),  # a supplier's invoice
        ("RD", "travel", date(YEAR, 5, 6), "700.00", "AP-0002"),
    ]

    def actual(account: str) -> Decimal:
        report = engine.run(cfo, "budget-vs-actual", {"department": "RD"}, today=TODAY)
        row = next(r for r in report.rows if r.get("account") == account and not r.get("_style"))
        lines = _lines_behind(cfo, row, "actual")
        assert sum((line["actual"] for line in lines), Decimal(0)) == row["actual"]
        return row["actual"]

    ledger(postings)  # the default: claims plus postings that are not a claim's
    assert actual("training") == Decimal("9600.00") + Decimal("1500.00")
    assert actual("travel") == Decimal("700.00")

    ledger(postings, ledger_accounts=["training"])  # the ledger alone: the posting, not the claim
    assert actual("training") == Decimal("9600.00") + Decimal("1500.00")
    rows = engine.run(
        cfo, "actual-lines", {"only_department": "RD", "account": "training"}, today=TODAY
    ).rows
    assert {(r["kind"], r["number"]) for r in rows} == {
        ("ledger", posted.number),
        ("ledger", "AP-0001"),
    }

    ledger(postings, claims_accounts=["training"])  # claims alone
    assert actual("training") == Decimal("9600.00")
    assert actual("travel") == Decimal("700.00")


def test_the_report_says_where_actuals_come_from_in_both_languages(budget, claim, user, ledger):
    budget("RD", {"training": 40000})
    db.session.commit()
    cfo = user("cfo")
    plain = engine.run(cfo, "budget-vs-actual", {}, today=TODAY, locale="en")
    assert plain.basis == [
        "Actual = approved claims + allocated costs (no ERP ledger source is set up)."
    ]
    ledger([], ledger_accounts=["travel"])
    english = engine.run(cfo, "budget-vs-actual", {}, today=TODAY, locale="en")
    assert english.basis == [
        "Actual: approved claims + ERP ledger postings whose reference is not a claim number "
        "(a claim posted to the ledger counts once); Travel: the ERP ledger alone; "
        "plus allocated costs."
    ]
    chinese = engine.run(cfo, "budget-vs-actual", {}, today=TODAY)
    assert chinese.basis[0].startswith(
        "实际数口径：已批准报销单 + ERP 总账中凭证号不是报销单号的分录"
    )
    assert "差旅费: 仅 ERP 总账" in chinese.basis[0]


def test_the_report_page_and_the_api_show_the_sentence_under_the_title(
    budget, claim, signed_in, api
):
    budget("RD", {"training": 40000})
    claim("RD", [("training", "100.00")], month=2)
    db.session.commit()
    page = signed_in("cfo").get("/reports/budget-vs-actual").text
    assert 'data-testid="report-basis"' in page and "已批准报销单" in page
    body = api("cfo").get(f"/api/v1/reports/expense-ledger?year={YEAR}").json
    assert {r["status"] for r in body["rows"]} == {"approved"}
    assert body["basis"] == ["仅含状态为“已批准”的单据，合计只计这些（默认；可选择其他状态查看）。"]


def test_finance_declares_the_rule_per_account_on_the_ledger_source_page(
    budget, claim, signed_in, user, ledger
):
    budget("RD", {"training": 40000})
    posted = claim("RD", [("training", "9600.00")], month=3)
    db.session.commit()
    ledger([("RD", "training", date(YEAR, 3, 20), "9600.00", posted.number)])
    finadmin = signed_in("finadmin")
    source = service.source_by_key("erp-actuals")
    saved = finadmin.post_form(
        "/admin/data-sources/erp-actuals/edit",
        {
            "name": source.name,
            "cfg_url": source.config["url"],
            "cfg_actuals": "claims_and_ledger",
            "cfg_ledger_accounts": "training\n",
            "confirm": "y",
        },
    )
    assert saved.status_code == 302, saved.text
    db.session.refresh(source)
    assert source.config["ledger_accounts"] == ["training"]
    report = engine.run(user("cfo"), "budget-vs-actual", {"department": "RD"}, today=TODAY)
    assert "培训费: 仅 ERP 总账" in report.basis[0]
    row = next(r for r in report.rows if r.get("account") == "training" and not r.get("_style"))
    assert row["actual"] == Decimal("9600.00")  # the posting, not the claim as well
    assert {line["kind"] for line in _lines_behind(user("cfo"), row, "actual")} == {"ledger"}


def test_seeding_again_renews_a_sample_ledger_written_before_postings_had_references(app):
    import sqlite3
    from contextlib import closing

    from quire.runtime.demo import sample_ledger_path, seed_demo

    path = sample_ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as old:
        old.execute("CREATE TABLE gl_actuals (id INTEGER PRIMARY KEY, amount NUMERIC)")
        old.commit()
    assert seed_demo() is False  # already seeded: only the ledger is written anew
    with closing(sqlite3.connect(path)) as renewed:
        columns = {row[1] for row in renewed.execute("PRAGMA table_info(gl_actuals)")}
        numbers = {r[0] for r in renewed.execute("SELECT reference FROM gl_actuals")}
    assert "reference" in columns
    assert any(n.startswith("EC-") for n in numbers)  # the approved claims, posted
