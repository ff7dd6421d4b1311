"""The ERP tables this connector reads, as SQLAlchemy Core tables.

Described once here so the connector's queries and the sample generator agree, and so every
statement is built by SQLAlchemy with bound parameters. Some ERPs prefix their tables per
company or installation; `table_prefix` is validated as an identifier before it gets here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa

__all__ = ["LedgerTables", "ledger_tables"]


@dataclass(frozen=True)
class LedgerTables:
    metadata: sa.MetaData
    #: Chart of accounts: one row per expense account the budget is kept on.
    accounts: sa.Table
    #: Departments, with the parent for sub-departments (SALES-E under SALES).
    departments: sa.Table
    #: Cost centres, each belonging to one department.
    cost_centers: sa.Table
    #: Posted journal lines: one amount per account, cost centre and period.
    actuals: sa.Table


@lru_cache(maxsize=32)
def ledger_tables(prefix: str = "") -> LedgerTables:
    metadata = sa.MetaData()
    accounts = sa.Table(
        f"{prefix}gl_accounts",
        metadata,
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("gl_number", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
    )
    departments = sa.Table(
        f"{prefix}departments",
        metadata,
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("parent", sa.String(20), nullable=True),
    )
    cost_centers = sa.Table(
        f"{prefix}cost_centers",
        metadata,
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("department", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
    )
    actuals = sa.Table(
        f"{prefix}gl_actuals",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("company", sa.String(10), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("period_no", sa.Integer, nullable=False),
        sa.Column("department", sa.String(20), nullable=False),
        sa.Column("cost_center", sa.String(20), nullable=False),
        sa.Column("account", sa.String(20), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("description", sa.String(200), nullable=False, default=""),
        #: The document the posting came from: a claim's number when the ERP posts an approved
        #: Quire claim, a voucher or invoice number otherwise.
        sa.Column("reference", sa.String(40), nullable=True),
        sa.Index(f"{prefix}ix_gl_actuals_year_dept", "company", "fiscal_year", "department"),
    )
    return LedgerTables(metadata, accounts, departments, cost_centers, actuals)
