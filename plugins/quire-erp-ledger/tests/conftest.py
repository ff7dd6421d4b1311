"""A sample ledger per database: SQLite always, PostgreSQL / MariaDB when their URLs are set."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from quire_erp_ledger.sample import drop_schema, generate

from quire.plugins.builtin.sql import dispose_engines

YEAR = 2025
SERVERS = {"postgresql": "QUIRE_TEST_DATABASE_URL", "mysql": "QUIRE_TEST_MYSQL_URL"}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", id="mariadb", marks=pytest.mark.postgres),
    ]
)
def ledger_db(request, tmp_path):
    """(url, table prefix, summary) of a freshly generated sample ledger."""
    if request.param == "sqlite":
        url, prefix = f"sqlite:///{tmp_path / 'erp.db'}", ""
    else:
        url = os.environ.get(SERVERS[request.param])
        if not url:
            pytest.skip(f"{SERVERS[request.param]} is not set, so no {request.param} server")
        prefix = f"quire_conn_test_{os.getpid()}_"
    engine = sa.create_engine(url)
    summary = generate(engine, YEAR, seed=7, prefix=prefix)
    yield url, prefix, summary
    dispose_engines()
    drop_schema(engine, prefix)
    engine.dispose()
