"""An allocation rule that reads its pool from the ERP ledger (one cost centre's account) and
splits it by a measure kept as a data source (square metres): the source is exactly that
cost centre's month, the shares follow the floor space and sum to the source to the cent,
the pool moves out of the cost centre, and running the month again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.datasources.conftest import make_source  # noqa: F401 - the fixture, shared

#: Floor space per department in m², as facilities keeps it (FIN is no receiver).
FLOOR_SPACE = {"SALES": "120.5", "SALES-E": "80", "RD": "200", "HR": "33.3", "FIN": "50"}
RECEIVERS = ["SALES", "SALES-E", "RD", "HR"]


@pytest.fixture
def office_rent(app, make_source, month, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    """The `erp-actuals` ledger with FIN's office costs of the month (and postings the rule
    must leave alone), and the `floor-space` measure; returns the pool the rule should read."""
    from quire_erp_ledger.sample import Posting, generate

    from quire.plugins.builtin.sql import dispose_engines

    day = month + timedelta(days=4)
    earlier = (month - timedelta(days=1)).replace(day=5)
    postings = [
        # The pool: FIN's cost centre (FIN-200), account office, this month.
        Posting("FIN", "office", day, Decimal("10000.00"), "AP-RENT-1", "office rent"),
        Posting("FIN", "office", day, Decimal("2345.67"), "AP-RENT-2", "building services"),
        # Not the pool: another account, another cost centre, another month.
        Posting("FIN", "travel", day, Decimal("999.99"), "AP-T-1", "a trip"),
        Posting("RD", "office", day, Decimal("777.77"), "AP-RD-1", "RD's own office"),
    ]
    if earlier.year == month.year:
        postings.append(Posting("FIN", "office", earlier, Decimal("555.55"), "AP-OLD", "last"))
    erp_url = f"sqlite:///{tmp_path / 'erp.db'}"
    erp = sa.create_engine(erp_url)
    generate(erp, month.year, months=0, posted=postings)
    erp.dispose()
    make_source("erp-actuals", "erp_ledger", {"url": erp_url})

    space_url = f"sqlite:///{tmp_path / 'facilities.db'}"
    space = sa.create_engine(space_url)
    with space.begin() as conn:
        conn.execute(sa.text("CREATE TABLE floor_space (department TEXT, sqm NUMERIC)"))
        for code, sqm in FLOOR_SPACE.items():
            conn.execute(sa.text("INSERT INTO floor_space VALUES (:d, :s)"), {"d": code, "s": sqm})
    space.dispose()
    make_source("floor-space", "sql", {"url": space_url})
    yield Decimal("12345.67")
    dispose_engines()


@pytest.fixture
def rent_rule(app, user, office_rent):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.extensions import db

    rule = service.save_rule(
        user("finadmin"),
        {
            "key": "rent-by-floor-space",
            "name_zh": "房租按面积分摊",
            "name_en": "Rent by floor space",
            "source_kind": "ledger",
            "source_datasource": "erp-actuals",
            "source_cost_center": "FIN-200",
            "source_account": "office",
            "driver": "measure",
            "driver_datasource": "floor-space",
            "driver_query": "SELECT department, sqm FROM floor_space",
            "driver_column": "sqm",
            "receivers": RECEIVERS,
            "account": "office",
            "schedule": "monthly",
        },
    )
    db.session.commit()
    return rule


def _lines(run):  # type: ignore[no-untyped-def]
    return sorted(
        (line.department.code, line.account, line.kind, line.amount, line.driver_value)
        for line in run.lines
    )


def test_the_ledger_source_reads_one_cost_centres_account_for_the_month(
    rent_rule, office_rent, month
):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service

    source = service.read_source(rent_rule, month)
    assert source.amount == office_rent
    assert source.booked == {("FIN", "office"): office_rent}


def test_the_measure_driver_splits_by_floor_space_to_the_cent(rent_rule, office_rent, user, month):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.extensions import db
    from quire.runtime.models import utcnow

    run = service.run(user("finadmin"), rent_rule, month, now=utcnow())
    db.session.commit()
    shares = {line.department.code: line for line in run.lines if line.kind == "in"}
    assert sorted(shares) == sorted(RECEIVERS)
    assert run.source_amount == office_rent
    assert sum(line.amount for line in shares.values()) == office_rent
    area = sum(Decimal(FLOOR_SPACE[code]) for code in RECEIVERS)
    for code, line in shares.items():
        assert line.driver_value == Decimal(FLOOR_SPACE[code])
        assert line.account == "office"
        exact = office_rent * Decimal(FLOOR_SPACE[code]) / area
        assert abs(line.amount - exact) < Decimal("0.01"), code
        assert abs(line.percent - Decimal(FLOOR_SPACE[code]) / area * 100) < Decimal("0.0001")
    # The pool leaves the cost centre's department: its office actual is moved out whole.
    [out] = [line for line in run.lines if line.kind == "out"]
    assert (out.department.code, out.account, out.amount) == ("FIN", "office", -office_rent)


def test_running_the_month_again_changes_nothing(rent_rule, user, month):  # type: ignore[no-untyped-def]
    from quire.runtime.allocation import service
    from quire.runtime.budgeting import service as budgeting
    from quire.runtime.extensions import db
    from quire.runtime.models import AllocationLine, utcnow
    from quire.runtime.org import department_by_code

    first = service.run(user("finadmin"), rent_rule, month, now=utcnow())
    db.session.commit()
    before = _lines(first)
    actuals = {c: budgeting.actuals(department_by_code(c), month.year) for c in RECEIVERS}

    again = service.run(user("finadmin"), rent_rule, month, now=utcnow())
    db.session.commit()
    db.session.expire_all()
    assert again.id == first.id and again.times == 2
    assert _lines(again) == before
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AllocationLine)
        .where(AllocationLine.rule_id == rent_rule.id)
    )
    assert count == len(before)
    assert {c: budgeting.actuals(department_by_code(c), month.year) for c in RECEIVERS} == actuals
