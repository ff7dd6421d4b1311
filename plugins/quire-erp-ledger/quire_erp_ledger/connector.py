"""The `erp_ledger` connector: GL actuals for budget-vs-actual reports and budget checks.

It is the `sql` connector with the SQL written once, here, instead of by each administrator:
the same read-only transaction, statement timeout, streaming and error mapping, but only named
queries (`actuals`, `accounts`, `departments`) whose statements SQLAlchemy builds with bound
parameters. That keeps report authors away from the ERP schema and lets the ERP team review the
exact queries that run against their database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import Field

from quire.plugins.base import (
    Capabilities,
    ColumnInfo,
    ConnectorConfig,
    QueryRejected,
    SourceUnavailable,
    check_limit,
)
from quire.plugins.builtin.sql import SqlConnector, SqlDatabaseConfig
from quire.plugins.ledger import LEDGER_ACTUALS_WORDS, LINES_QUERY, LedgerActualsSettings

from .schema import LedgerTables, ledger_tables

__all__ = ["QUERIES", "ErpLedgerConfig", "ErpLedgerConnector"]

_CENT = Decimal("0.01")

#: The named queries, with their parameters and the columns they yield.
QUERIES: dict[str, dict[str, Any]] = {
    "actuals": {
        "params": {"year": "required", "department": "optional", "account": "optional"},
        "columns": [
            ColumnInfo("department", "text"),
            ColumnInfo("cost_center", "text"),
            ColumnInfo("account", "text"),
            ColumnInfo("period", "text"),
            ColumnInfo("amount", "money"),
        ],
    },
    LINES_QUERY: {
        "params": {"year": "required", "department": "optional", "account": "optional"},
        "columns": [
            ColumnInfo("id", "number"),
            ColumnInfo("department", "text"),
            ColumnInfo("cost_center", "text"),
            ColumnInfo("account", "text"),
            ColumnInfo("period", "text"),
            ColumnInfo("posted_on", "date"),
            ColumnInfo("reference", "text"),
            ColumnInfo("description", "text"),
            ColumnInfo("amount", "money"),
        ],
    },
    "accounts": {
        "params": {},
        "columns": [
            ColumnInfo("code", "text"),
            ColumnInfo("gl_number", "text"),
            ColumnInfo("name", "text"),
            ColumnInfo("name_zh", "text"),
        ],
    },
    "departments": {
        "params": {},
        "columns": [
            ColumnInfo("code", "text"),
            ColumnInfo("name", "text"),
            ColumnInfo("name_zh", "text"),
            ColumnInfo("parent", "text"),
        ],
    },
}


class ErpLedgerConfig(LedgerActualsSettings, SqlDatabaseConfig):
    company: str | None = Field(default=None, max_length=10)
    """ERP company code to restrict to; all companies when empty."""
    table_prefix: str = Field(default="", pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$", max_length=40)
    """Prefix of the ledger tables in this ERP installation, e.g. erp_."""


class ErpLedgerConnector(SqlConnector):
    """GL actuals by department, cost centre, account and period, from the ERP database."""

    type_name: ClassVar[str] = "erp_ledger"
    display_name: ClassVar[Mapping[str, str]] = {"zh": "ERP 总账实际数", "en": "ERP ledger actuals"}
    version: ClassVar[str] = "0.1.0"
    Config: ClassVar[type[ConnectorConfig]] = ErpLedgerConfig
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {
        **LEDGER_ACTUALS_WORDS,
        "company": {
            "zh": "公司代码",
            "en": "Company code",
            "help_zh": "只读取此 ERP 公司代码；留空则读取所有公司。",
        },
        "table_prefix": {
            "zh": "表名前缀",
            "en": "Table prefix",
            "help_zh": "此 ERP 安装中总账表的前缀，例如 erp_。",
        },
    }
    capabilities: ClassVar[Capabilities] = Capabilities(filter_pushdown=True, lookup=True)

    config: ErpLedgerConfig  # type: ignore[assignment]

    def test_connection(self) -> None:
        super().test_connection()
        probe = sa.select(self._tables.actuals.c.id).limit(1)
        try:
            list(self._stream(probe, {}, 1))
        except QueryRejected as exc:
            raise SourceUnavailable(
                f"The ERP database answers but its ledger tables were not found "
                f"(table prefix {self.config.table_prefix!r}): {exc.message}"
            ) from exc

    def columns(self, query: str) -> list[ColumnInfo]:
        return list(self._query(query)["columns"])

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        spec = self._query(query)
        check_limit(limit)
        unknown = sorted(set(params) - set(spec["params"]))
        if unknown:
            raise QueryRejected(f"The {query} query has no parameter {', '.join(unknown)}.")
        if query == "actuals":
            return self._actual_rows(self._stream(self._actuals_statement(params), {}, limit))
        if query == LINES_QUERY:
            return self._line_rows(self._stream(self._lines_statement(params), {}, limit))
        table = self._tables.accounts if query == "accounts" else self._tables.departments
        statement = sa.select(*table.c).order_by(table.c.code)
        return self._stream(statement, {}, limit)

    def lookup(self, key: str) -> dict[str, Any] | None:
        """An account of the chart of accounts by its code, for look-up fields."""
        accounts = self._tables.accounts
        statement = sa.select(*accounts.c).where(accounts.c.code == key)
        return next(self._stream(statement, {}, 1), None)

    # ---------------------------------------------------------------------------------------

    @property
    def _tables(self) -> LedgerTables:
        return ledger_tables(self.config.table_prefix)

    def _query(self, query: str) -> dict[str, Any]:
        try:
            return QUERIES[query]
        except (KeyError, TypeError):
            names = ", ".join(QUERIES)
            raise QueryRejected(f"{query!r} is not a query of this source (use {names}).") from None

    def _actuals_statement(self, params: Mapping[str, Any]) -> sa.Select:
        gl = self._tables.actuals
        keys = [gl.c.department, gl.c.cost_center, gl.c.account, gl.c.fiscal_year, gl.c.period_no]
        statement = (
            sa.select(*keys, sa.func.sum(gl.c.amount).label("amount"))
            .group_by(*keys)
            .order_by(*keys)
        )
        return self._filtered(statement, "actuals", params)

    def _lines_statement(self, params: Mapping[str, Any]) -> sa.Select:
        gl = self._tables.actuals
        statement = sa.select(
            gl.c.id,
            gl.c.department,
            gl.c.cost_center,
            gl.c.account,
            gl.c.fiscal_year,
            gl.c.period_no,
            gl.c.posted_on,
            gl.c.reference,
            gl.c.description,
            gl.c.amount,
        ).order_by(gl.c.fiscal_year, gl.c.period_no, gl.c.posted_on, gl.c.id)
        return self._filtered(statement, LINES_QUERY, params)

    def _filtered(self, statement: sa.Select, query: str, params: Mapping[str, Any]) -> sa.Select:
        """The year, company, department and account filters both ledger queries share."""
        if "year" not in params:
            raise QueryRejected(f"The {query} query needs a year.")
        gl = self._tables.actuals
        statement = statement.where(gl.c.fiscal_year == _year(params["year"]))
        if self.config.company is not None:
            statement = statement.where(gl.c.company == self.config.company)
        for name, column in (("department", gl.c.department), ("account", gl.c.account)):
            value = params.get(name)
            if value is None or value == "":
                continue
            if isinstance(value, list | tuple):
                statement = statement.where(column.in_([str(v) for v in value]))
            else:
                statement = statement.where(column == str(value))
        return statement

    @staticmethod
    def _actual_rows(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            yield {
                "department": row["department"],
                "cost_center": row["cost_center"],
                "account": row["account"],
                "period": f"{int(row['fiscal_year']):04d}-{int(row['period_no']):02d}",
                # SQLite sums NUMERIC as float; str() gives the shortest exact digits first.
                "amount": Decimal(str(row["amount"])).quantize(_CENT),
            }

    @staticmethod
    def _line_rows(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            posted_on = row["posted_on"]
            yield {
                "id": row["id"],
                "department": row["department"],
                "cost_center": row["cost_center"],
                "account": row["account"],
                "period": f"{int(row['fiscal_year']):04d}-{int(row['period_no']):02d}",
                "posted_on": posted_on if isinstance(posted_on, date) else _day(posted_on),
                "reference": row["reference"] or "",
                "description": row["description"] or "",
                "amount": Decimal(str(row["amount"])).quantize(_CENT),
            }


def _day(value: Any) -> date | None:
    """A posting date as SQLite hands it back (text)."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _year(value: Any) -> int:
    try:
        year = int(str(value).strip())
    except ValueError:
        raise QueryRejected(f"{value!r} is not a fiscal year.") from None
    if not 1900 <= year <= 2999:
        raise QueryRejected(f"{year} is not a plausible fiscal year.")
    return year
