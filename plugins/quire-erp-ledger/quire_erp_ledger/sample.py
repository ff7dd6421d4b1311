"""A sample ERP ledger: schema plus a year of plausible, reproducible GL actuals.

For demos, tutorials and tests: the same seed always gives the same postings, so a test can
compare a report with the generator's own totals. Works on SQLite, PostgreSQL and MariaDB.

    python -m quire_erp_ledger.sample sqlite:///erp.db --year 2025 --seed 7
"""

from __future__ import annotations

import argparse
import calendar
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from .schema import ledger_tables

__all__ = [
    "ACCOUNTS",
    "DEPARTMENTS",
    "Posting",
    "SampleLedger",
    "create_schema",
    "drop_schema",
    "generate",
]

#: code, name, Chinese name, parent
DEPARTMENTS = [
    ("HQ", "Headquarters", "总部", None),
    ("FIN", "Finance", "财务部", None),
    ("SALES", "Sales", "销售部", None),
    ("SALES-E", "Sales East China", "华东销售部", "SALES"),
    ("RD", "Research & Development", "研发部", None),
    ("HR", "Human Resources", "人力资源部", None),
]

#: code, GL number, name, Chinese name
ACCOUNTS = [
    ("travel", "6601.01", "Travel", "差旅费"),
    ("meals", "6601.02", "Meals & entertainment", "业务招待费"),
    ("office", "6601.03", "Office expenses", "办公费"),
    ("training", "6601.04", "Training", "培训费"),
    ("other", "6601.99", "Other expenses", "其他费用"),
]

COST_CENTERS = [
    ("HQ-100", "HQ", "Executive office"),
    ("FIN-200", "FIN", "Accounting"),
    ("SALES-300", "SALES", "Sales management"),
    ("SALES-E-310", "SALES-E", "Shanghai office"),
    ("SALES-E-311", "SALES-E", "Hangzhou office"),
    ("RD-400", "RD", "Platform"),
    ("RD-410", "RD", "Product engineering"),
    ("HR-500", "HR", "People operations"),
]

#: Typical monthly spend in CNY per department and account, before noise and seasonality.
_MONTHLY_BASE = {
    "HQ": {"travel": 18000, "meals": 9000, "office": 6000, "training": 3000, "other": 2000},
    "FIN": {"travel": 4000, "meals": 1500, "office": 3500, "training": 2500, "other": 800},
    "SALES": {"travel": 22000, "meals": 15000, "office": 3000, "training": 2000, "other": 1500},
    "SALES-E": {"travel": 30000, "meals": 20000, "office": 2500, "training": 1500, "other": 1200},
    "RD": {"travel": 8000, "meals": 2500, "office": 9000, "training": 7000, "other": 2500},
    "HR": {"travel": 3000, "meals": 2000, "office": 2500, "training": 9000, "other": 1000},
}
#: Quieter in February (Spring Festival), busier at quarter and year ends.
_SEASON = [0.9, 0.6, 1.1, 1.0, 1.0, 1.15, 0.95, 0.9, 1.1, 0.85, 1.05, 1.3]
_CENT = Decimal("0.01")


@dataclass
class SampleLedger:
    """What `generate` wrote, so tests can check reports against it."""

    postings: int = 0
    total: Decimal = Decimal("0.00")
    #: (department, account) -> total for the year
    by_department_account: dict[tuple[str, str], Decimal] = field(
        default_factory=lambda: defaultdict(lambda: Decimal("0.00"))
    )


@dataclass(frozen=True)
class Posting:
    """A document posted to the ledger as it is, e.g. an approved expense claim that the ERP
    books under the claim's number (``reference``)."""

    department: str
    account: str
    posted_on: date
    amount: Decimal
    reference: str
    description: str = ""


def create_schema(engine: sa.Engine, prefix: str = "") -> None:
    """Create the tables; a ledger written before postings carried a reference is made anew."""
    tables = ledger_tables(prefix)
    inspector = sa.inspect(engine)
    if inspector.has_table(tables.actuals.name):
        names = {c["name"] for c in inspector.get_columns(tables.actuals.name)}
        if "reference" not in names:
            tables.metadata.drop_all(engine)
    tables.metadata.create_all(engine)


def drop_schema(engine: sa.Engine, prefix: str = "") -> None:
    ledger_tables(prefix).metadata.drop_all(engine)


def generate(
    engine: sa.Engine,
    year: int,
    *,
    seed: int = 2025,
    company: str = "Q100",
    prefix: str = "",
    months: int = 12,
    posted: Iterable[Posting | Mapping[str, object]] = (),
    accounts: Iterable[str] | None = None,
) -> SampleLedger:
    """Create the schema if needed, load master data and `months` months of actuals.

    The generated postings are the ERP's own (supplier invoices, each with a voucher number as
    its reference); `posted` adds documents posted as they are, such as approved claims under
    their numbers; `accounts` limits the ERP's own postings to those accounts (all by
    default). Existing actuals of the same company and year are replaced, so running it
    twice gives the same ledger rather than doubled amounts.
    """
    tables = ledger_tables(prefix)
    create_schema(engine, prefix)
    rng = random.Random(f"{seed}:{company}:{year}")
    own = set(accounts) if accounts is not None else None
    summary = SampleLedger()
    lines = []
    centers_by_dept = defaultdict(list)
    for code, dept, _name in COST_CENTERS:
        centers_by_dept[dept].append(code)

    for month in range(1, months + 1):
        last_day = calendar.monthrange(year, month)[1]
        for dept, *_ in DEPARTMENTS:
            for account, *_ in ACCOUNTS:
                if own is not None and account not in own:
                    continue
                budget = _MONTHLY_BASE[dept][account] * _SEASON[month - 1]
                postings = rng.randint(1, 4)
                for _ in range(postings):
                    share = budget / postings * rng.uniform(0.6, 1.4)
                    amount = Decimal(str(round(share, 2))).quantize(_CENT)
                    voucher = f"AP-{year}{month:02d}-{len(lines) + 1:05d}"
                    lines.append(
                        {
                            "company": company,
                            "fiscal_year": year,
                            "period_no": month,
                            "department": dept,
                            "cost_center": rng.choice(centers_by_dept[dept]),
                            "account": account,
                            "amount": amount,
                            "posted_on": date(year, month, rng.randint(1, last_day)),
                            "description": f"{account} {dept} {year}-{month:02d}",
                            "reference": voucher,
                        }
                    )
                    summary.postings += 1
                    summary.total += amount
                    summary.by_department_account[(dept, account)] += amount

    for given in posted:
        posting = given if isinstance(given, Posting) else Posting(**given)  # type: ignore[arg-type]
        if posting.posted_on.year != year:
            continue
        amount = Decimal(str(posting.amount)).quantize(_CENT)
        lines.append(
            {
                "company": company,
                "fiscal_year": year,
                "period_no": posting.posted_on.month,
                "department": posting.department,
                "cost_center": (centers_by_dept.get(posting.department) or [posting.department])[0],
                "account": posting.account,
                "amount": amount,
                "posted_on": posting.posted_on,
                "description": posting.description[:200],
                "reference": posting.reference,
            }
        )
        summary.postings += 1
        summary.total += amount
        summary.by_department_account[(posting.department, posting.account)] += amount

    with engine.begin() as conn:
        for table, records in (
            (tables.accounts, ACCOUNTS),
            (tables.departments, DEPARTMENTS),
            (tables.cost_centers, COST_CENTERS),
        ):
            rows = [dict(zip(table.c.keys(), record, strict=True)) for record in records]
            conn.execute(table.delete())
            conn.execute(table.insert(), rows)
        gl = tables.actuals
        conn.execute(gl.delete().where(gl.c.company == company, gl.c.fiscal_year == year))
        if lines:
            conn.execute(gl.insert(), lines)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Create a sample ERP ledger database.")
    parser.add_argument("url", help="SQLAlchemy URL, e.g. sqlite:///erp.db")
    parser.add_argument("--year", type=int, default=date.today().year)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--company", default="Q100")
    parser.add_argument("--prefix", default="")
    args = parser.parse_args(argv)
    engine = sa.create_engine(args.url)
    summary = generate(engine, args.year, seed=args.seed, company=args.company, prefix=args.prefix)
    print(f"{summary.postings} postings, total {summary.total} CNY, year {args.year}")


if __name__ == "__main__":
    main()
