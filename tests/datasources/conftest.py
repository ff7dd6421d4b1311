"""Data source fixtures: a sample ERP ledger on SQLite and configured sources made through the
service, as the admin page makes them."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from quire.plugins.base import Connector, ConnectorConfig
from tests.reports.conftest import (  # noqa: F401 - the report fixtures, shared
    budget,
    claim,
    clean_finance_data,
    make_submission,
)

YEAR = date.today().year


@pytest.fixture
def erp_ledger(tmp_path):  # type: ignore[no-untyped-def]
    """(SQLAlchemy URL, summary) of a generated sample ledger for the current year."""
    from quire_erp_ledger.sample import generate

    from quire.plugins.builtin.sql import dispose_engines

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    engine = sa.create_engine(url)
    summary = generate(engine, YEAR, seed=7)
    engine.dispose()
    yield url, summary
    dispose_engines()


@pytest.fixture
def make_source(app):  # type: ignore[no-untyped-def]
    """``make_source("erp-actuals", "erp_ledger", {"url": ...}, secrets={...})``."""
    from quire.runtime.datasources import service
    from quire.runtime.extensions import db

    def make(
        key: str,
        connector: str,
        values: dict[str, Any],
        *,
        secrets: dict[str, str] | None = None,
        ttl: int = 0,
        timeout: int = 15,
    ):  # type: ignore[no-untyped-def]
        source = service.save(
            None,
            service.SourceInput(
                key=key,
                name=key.upper(),
                connector=connector,
                values=values,
                new_secrets=secrets or {},
                cache_ttl_s=ttl,
                timeout_s=timeout,
            ),
            confirmed=True,
        )
        db.session.commit()
        return source

    return make


class SlowConfig(ConnectorConfig):
    seconds: float = 5.0


class SlowConnector(Connector):
    """A source that answers too late, or fails with a bug, for the runtime's guard."""

    type_name: ClassVar[str] = "slow"
    display_name: ClassVar[Mapping[str, str]] = {"zh": "慢", "en": "Slow"}
    version: ClassVar[str] = "1"
    Config: ClassVar[type[ConnectorConfig]] = SlowConfig

    def test_connection(self) -> None:
        time.sleep(self.config.seconds)

    def columns(self, query: str):  # type: ignore[no-untyped-def]
        return []

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        if query == "bug":
            raise ZeroDivisionError("plugin bug")
        time.sleep(self.config.seconds)
        return iter([{"department": "RD", "amount": 1}])


@pytest.fixture
def extra_connectors(app):  # type: ignore[no-untyped-def]
    """The installed connectors plus `slow` and a plugin that fails to import."""
    from importlib.metadata import EntryPoint, entry_points

    from quire.plugins.registry import ENTRY_POINT_GROUP, discover

    installed = list(entry_points(group=ENTRY_POINT_GROUP))
    extra = [
        EntryPoint("slow", "tests.datasources.conftest:SlowConnector", ENTRY_POINT_GROUP),
        EntryPoint("broken", "quire_no_such_plugin_module:Thing", ENTRY_POINT_GROUP),
    ]
    app.extensions["quire.connectors"] = discover([*installed, *extra])
    return app.extensions["quire.connectors"]
