"""The sql connector on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from quire.plugins.base import ConfigInvalid, QueryRejected, SourceUnavailable
from quire.plugins.builtin.sql import SqlConnector, check_select_statement
from quire.plugins.testing.connector_contract import HOSTILE_VALUE, ConnectorContract

from .conftest import DOWN_URLS


def _sql(db_url: str, **extra) -> SqlConnector:
    return SqlConnector({"url": db_url, **extra})


class TestSqlContract(ConnectorContract):
    sample_query = "SELECT code, region, budget FROM {table} WHERE region = :region ORDER BY code"
    sample_params = {"region": "north"}
    hostile_query = "SELECT code, budget FROM {table} WHERE code = :code"
    hostile_param = "code"
    required_param = "region"
    rejected_query = "DELETE FROM {table}"
    lookup_key = "HQ"
    invalid_configs = [
        ({"url": "oracle://scott@db/orcl"}, ("url",)),
        ({"url": "postgresql+psycopg://u:pw@db/erp"}, ("url",)),
        ({"statement_timeout_s": 0}, ("statement_timeout_s",)),
        ({"lookup_query": "DELETE FROM t WHERE id = :key"}, ("lookup_query",)),
    ]

    @pytest.fixture(autouse=True)
    def _queries_for_table(self, departments, monkeypatch):
        for name in ("sample_query", "hostile_query", "rejected_query"):
            monkeypatch.setattr(self, name, getattr(type(self), name).format(table=departments))

    @pytest.fixture
    def connector(self, db_url, departments):
        return _sql(
            db_url, lookup_query=f"SELECT code, budget FROM {departments} WHERE code = :key"
        )

    @pytest.fixture
    def unavailable_connector(self, db_url, tmp_path):
        backend = sa.make_url(db_url).get_backend_name()
        if backend == "sqlite":
            return _sql(f"sqlite:///{tmp_path / 'missing-dir' / 'gone.db'}")
        return _sql(DOWN_URLS[backend], connect_timeout_s=2)


def test_a_department_code_with_a_quote_and_drop_table_is_just_a_value(db_url, departments):
    source = _sql(db_url)
    rows = list(
        source.fetch(
            f"SELECT code, budget FROM {departments} WHERE code = :dept",
            {"dept": HOSTILE_VALUE},
            10,
        )
    )
    assert rows == [{"code": HOSTILE_VALUE, "budget": Decimal("1.00")}]
    everything = list(source.fetch(f"SELECT code FROM {departments}", {}, 10))
    assert len(everything) == 4


def test_money_comes_back_as_decimal_and_lists_expand(db_url, departments):
    rows = list(
        _sql(db_url).fetch(
            f"SELECT code, budget FROM {departments} WHERE code IN :codes ORDER BY code",
            {"codes": ["FIN", "HQ"], "unused": "ignored"},
            10,
        )
    )
    assert [r["code"] for r in rows] == ["FIN", "HQ"]
    assert Decimal(rows[0]["budget"]) == Decimal("80000.50")
    if not db_url.startswith("sqlite"):
        assert isinstance(rows[0]["budget"], Decimal)


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM {t}",
        "UPDATE {t} SET budget = 0",
        "DROP TABLE {t}",
        "SELECT 1; DROP TABLE {t}",
        "SELECT * INTO quire_conn_test_copy FROM {t}",
        # Passes the text check; the read-only transaction (or the parser) refuses it.
        "WITH gone AS (SELECT 1) DELETE FROM {t}",
    ],
)
def test_a_write_statement_is_refused_as_query_rejected(db_url, departments, statement):
    source = _sql(db_url)
    with pytest.raises(QueryRejected):
        list(source.fetch(statement.format(t=departments), {}, 10))
    assert len(list(source.fetch(f"SELECT code FROM {departments}", {}, 10))) == 4


def test_a_data_modifying_with_on_postgresql_is_refused_and_changes_nothing(db_url, departments):
    if not db_url.startswith("postgresql"):
        pytest.skip("data-modifying WITH is PostgreSQL syntax")
    source = _sql(db_url)
    with pytest.raises(QueryRejected):
        list(
            source.fetch(
                f"WITH d AS (DELETE FROM {departments} RETURNING *) SELECT * FROM d", {}, 10
            )
        )
    assert len(list(source.fetch(f"SELECT code FROM {departments}", {}, 10))) == 4


SLOW = {
    "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
    "postgresql": "SELECT pg_sleep(10)",
    "mysql": "SELECT SLEEP(10)",
}


def test_a_slow_source_becomes_source_unavailable_within_the_timeout(db_url):
    backend = sa.make_url(db_url).get_backend_name()
    source = _sql(db_url, statement_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="within 0.5 seconds"):
        list(source.fetch(SLOW[backend], {}, 1))
    assert time.monotonic() - started < 3


def test_a_missing_placeholder_is_refused_before_reaching_the_database(db_url, departments):
    with pytest.raises(QueryRejected, match=":region"):
        _sql(db_url).fetch(f"SELECT code FROM {departments} WHERE region = :region", {}, 10)


def test_max_rows_caps_whatever_limit_is_asked(db_url, departments):
    rows = list(_sql(db_url, max_rows=2).fetch(f"SELECT code FROM {departments}", {}, 1000))
    assert len(rows) == 2


def test_columns_are_described_without_parameters(db_url, departments):
    columns = _sql(db_url).columns(f"SELECT code, budget FROM {departments} WHERE region = :r")
    assert [c.name for c in columns] == ["code", "budget"]
    if not db_url.startswith("sqlite"):
        assert [c.type for c in columns] == ["text", "number"]


def test_a_syntax_error_is_query_rejected(db_url):
    with pytest.raises(QueryRejected, match="refused"):
        list(_sql(db_url).fetch("SELECT nosuch_column FROM quire_conn_test_nosuch_table", {}, 1))


def test_password_lives_in_its_own_secret_field(tmp_path):
    source = _sql("postgresql+psycopg://reader@db/erp", password="s3cret")
    assert "s3cret" not in repr(source.config)
    with pytest.raises(ConfigInvalid) as sqlite:  # a SQLite file has no password: said so
        _sql(f"sqlite:///{tmp_path / 'a.db'}", password="s3cret")
    assert [i.dotted for i in sqlite.value.issues] == ["password"]
    assert "has no password" in sqlite.value.issues[0].message
    with pytest.raises(ConfigInvalid) as info:
        _sql("postgresql+psycopg://reader:s3cret@db/erp")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    "query",
    [
        "select code from t where note = ';'",
        "SELECT 1 -- trailing; comment",
        "  (SELECT 1)",
        "with x as (select 1) select * from x;",
        'SELECT "into" FROM t',
    ],
)
def test_statement_check_allows_reads(query):
    check_select_statement(query)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "insert into t values (1)",
        "select 1; select 2",
        "select 'open",
        "SELECT 1 INTO OUTFILE '/tmp/x'",
    ],
)
def test_statement_check_refuses_the_rest(query):
    with pytest.raises(QueryRejected):
        check_select_statement(query)
