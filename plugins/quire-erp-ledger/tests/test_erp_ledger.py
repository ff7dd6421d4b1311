"""The ERP ledger connector: the contract kit, then the finance stories."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
import sqlalchemy as sa
from quire_erp_ledger import ErpLedgerConnector
from quire_erp_ledger.sample import generate
from quire_erp_ledger.schema import ledger_tables

from quire.plugins.base import ConfigInvalid, QueryRejected, SourceUnavailable

try:  # installed Quire maps plugins/testing to quire.testing; a source checkout has the other
    from quire.testing.connector_contract import ConnectorContract
except ImportError:
    from quire.plugins.testing.connector_contract import ConnectorContract

YEAR = 2025


def _ledger(url: str, prefix: str, **extra) -> ErpLedgerConnector:
    return ErpLedgerConnector({"url": url, "table_prefix": prefix, **extra})


class TestErpLedgerContract(ConnectorContract):
    sample_query = "actuals"
    sample_params = {"year": YEAR}
    hostile_query = "actuals"
    hostile_param = "department"
    hostile_extra_params = {"year": YEAR}
    hostile_value_is_echoed = False
    required_param = "year"
    rejected_query = "DELETE FROM gl_actuals"
    lookup_key = "travel"
    invalid_configs = [
        ({"table_prefix": "erp; DROP TABLE gl_actuals; --"}, ("table_prefix",)),
        ({"url": "mssql+pyodbc://erp"}, ("url",)),
        ({"company": "A-VERY-LONG-COMPANY-CODE"}, ("company",)),
    ]

    @pytest.fixture
    def connector(self, ledger_db):
        url, prefix, _ = ledger_db
        return _ledger(url, prefix)

    @pytest.fixture
    def unavailable_connector(self, tmp_path):
        return _ledger(f"sqlite:///{tmp_path / 'no-such-dir' / 'erp.db'}", "")


def test_actuals_match_what_was_posted_per_department_and_account(ledger_db):
    url, prefix, summary = ledger_db
    rows = list(_ledger(url, prefix).fetch("actuals", {"year": YEAR}, 100_000))
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        assert isinstance(row["amount"], Decimal)
        assert row["period"].startswith(f"{YEAR}-") and len(row["period"]) == 7
        totals[(row["department"], row["account"])] += row["amount"]
    assert totals == dict(summary.by_department_account)
    assert sum(totals.values()) == summary.total


def test_budget_check_for_one_department_and_account(ledger_db):
    url, prefix, summary = ledger_db
    rows = list(
        _ledger(url, prefix).fetch(
            "actuals", {"year": str(YEAR), "department": "SALES-E", "account": "travel"}, 1000
        )
    )
    assert {r["department"] for r in rows} == {"SALES-E"}
    assert {r["cost_center"] for r in rows} <= {"SALES-E-310", "SALES-E-311"}
    assert sum(r["amount"] for r in rows) == summary.by_department_account[("SALES-E", "travel")]
    periods = sorted({r["period"] for r in rows})
    assert periods[0] == f"{YEAR}-01" and periods[-1] == f"{YEAR}-12"


def test_departments_can_be_a_list(ledger_db):
    url, prefix, _ = ledger_db
    rows = _ledger(url, prefix).fetch("actuals", {"year": YEAR, "department": ["HQ", "FIN"]}, 5000)
    assert {r["department"] for r in rows} == {"HQ", "FIN"}


def test_a_department_code_with_a_quote_and_drop_table_is_just_a_value(ledger_db):
    url, prefix, summary = ledger_db
    source = _ledger(url, prefix)
    hostile = "SALES'; DROP TABLE gl_actuals; --"
    assert list(source.fetch("actuals", {"year": YEAR, "department": hostile}, 10)) == []
    rows = list(source.fetch("actuals", {"year": YEAR}, 100_000))
    assert sum(r["amount"] for r in rows) == summary.total


def test_company_in_the_config_restricts_the_ledger(ledger_db):
    url, prefix, _ = ledger_db
    engine = sa.create_engine(url)
    generate(engine, YEAR, seed=8, company="Q200", prefix=prefix)
    engine.dispose()
    only_q200 = list(_ledger(url, prefix, company="Q200").fetch("actuals", {"year": YEAR}, 100_000))
    everything = list(_ledger(url, prefix).fetch("actuals", {"year": YEAR}, 100_000))
    assert 0 < sum(r["amount"] for r in only_q200) < sum(r["amount"] for r in everything)


def _generate_sqlite(path, seed):
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return generate(engine, YEAR, seed=seed)
    finally:
        engine.dispose()


def test_the_generator_is_deterministic(tmp_path):
    first = _generate_sqlite(tmp_path / "a.db", seed=3)
    second = _generate_sqlite(tmp_path / "b.db", seed=3)
    other = _generate_sqlite(tmp_path / "c.db", seed=4)
    assert first.total == second.total and first.postings == second.postings
    assert other.total != first.total


def test_regenerating_replaces_rather_than_doubles(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    generate(engine, YEAR, seed=3)
    summary = generate(engine, YEAR, seed=3)
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).select_from(ledger_tables().actuals)
        ).scalar()
    engine.dispose()
    assert count == summary.postings


def test_accounts_and_departments_feed_select_options(ledger_db):
    url, prefix, _ = ledger_db
    source = _ledger(url, prefix)
    accounts = list(source.fetch("accounts", {}, 100))
    assert [a["code"] for a in accounts] == ["meals", "office", "other", "training", "travel"]
    departments = {d["code"]: d for d in source.fetch("departments", {}, 100)}
    assert departments["SALES-E"]["parent"] == "SALES"
    assert source.lookup("meals")["name_zh"] == "业务招待费"


def test_bad_parameters_are_rejected(ledger_db):
    url, prefix, _ = ledger_db
    source = _ledger(url, prefix)
    with pytest.raises(QueryRejected, match="fiscal year"):
        source.fetch("actuals", {"year": "last year"}, 10)
    with pytest.raises(QueryRejected, match="no parameter region"):
        source.fetch("actuals", {"year": YEAR, "region": "east"}, 10)


def test_wrong_table_prefix_says_the_ledger_is_missing(ledger_db):
    url, _, _ = ledger_db
    with pytest.raises(SourceUnavailable, match="ledger tables were not found"):
        _ledger(url, "nosuch_").test_connection()


def test_a_prefix_cannot_smuggle_sql():
    with pytest.raises(ConfigInvalid):
        _ledger("sqlite://", 'x"; DROP TABLE t; --')


def test_lines_list_every_posting_with_its_reference(tmp_path):
    from datetime import date

    from quire_erp_ledger.sample import Posting

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    claim = Posting("RD", "training", date(YEAR, 3, 12), Decimal("12800.00"), "EC-0001", "课程")
    summary = generate(engine, YEAR, seed=3, posted=[claim])
    engine.dispose()
    source = _ledger(f"sqlite:///{tmp_path / 'erp.db'}", "")
    lines = list(source.fetch("lines", {"year": YEAR, "department": ["RD"]}, 100_000))
    assert {line["department"] for line in lines} == {"RD"}
    rd = sum((v for (d, _), v in summary.by_department_account.items() if d == "RD"), Decimal(0))
    assert sum(line["amount"] for line in lines) == rd
    posted = [line for line in lines if line["reference"] == "EC-0001"]
    assert len(posted) == 1
    assert posted[0]["period"] == f"{YEAR}-03" and posted[0]["posted_on"] == date(YEAR, 3, 12)
    assert posted[0]["cost_center"] == "RD-400" and posted[0]["amount"] == Decimal("12800.00")
    # The ERP's own postings carry a voucher number, never a claim's.
    assert all(line["reference"].startswith("AP-") for line in lines if line not in posted)


def test_finance_declares_one_actuals_rule_per_account_on_the_source():
    settings = _ledger("sqlite://", "", ledger_accounts=["travel", " "], claims_accounts=["meals"])
    assert settings.config.rule("travel") == "ledger"
    assert settings.config.rule("meals") == "claims"
    assert settings.config.rule("office") == "claims_and_ledger"
    with pytest.raises(ConfigInvalid, match="travel"):
        _ledger("sqlite://", "", ledger_accounts=["travel"], claims_accounts=["travel"])
