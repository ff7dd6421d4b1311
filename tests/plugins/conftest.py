"""Databases for the connector tests: SQLite always, PostgreSQL and MariaDB when their URLs are
set (QUIRE_TEST_DATABASE_URL, QUIRE_TEST_MYSQL_URL), skipped with the reason otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from quire.plugins.builtin.sql import dispose_engines

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", id="mariadb", marks=pytest.mark.postgres),
]

# Unreachable servers for "source is down" checks: nothing listens on port 9 here.
DOWN_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:9/test",
}


def backend_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'source.db'}"
    variable = {"postgresql": "QUIRE_TEST_DATABASE_URL", "mysql": "QUIRE_TEST_MYSQL_URL"}[backend]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set, so there is no {backend} server to test against")
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A database URL per backend; engines are disposed after each test."""
    yield backend_url(request.param, tmp_path)
    dispose_engines()


@pytest.fixture
def table_name(request) -> str:
    """A per-process table name, so parallel runs on a shared server do not collide."""
    return f"quire_conn_test_{os.getpid()}"


@pytest.fixture
def departments(db_url, table_name) -> Iterator[str]:
    """A small department table, including one code that looks like an injection."""
    engine = sa.create_engine(db_url)
    metadata = sa.MetaData()
    table = sa.Table(
        table_name,
        metadata,
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("region", sa.String(20), nullable=False),
        sa.Column("budget", sa.Numeric(14, 2), nullable=False),
    )
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"code": "HQ", "region": "north", "budget": "120000.00"},
                {"code": "FIN", "region": "north", "budget": "80000.50"},
                {"code": "SALES-E", "region": "east", "budget": "95000.00"},
                {"code": "x'; DROP TABLE t; --", "region": "east", "budget": "1.00"},
            ],
        )
    yield table_name
    dispose_engines()
    metadata.drop_all(engine)
    engine.dispose()
