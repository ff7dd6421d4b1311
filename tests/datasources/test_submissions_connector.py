"""The built-in `submissions` connector: approved data of another form, scoped by grants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from quire.plugins.base import QueryRejected
from quire.plugins.builtin.submissions import SubmissionsConnector
from quire.runtime.access import Permission
from quire.runtime.extensions import db
from quire.testing.connector_contract import ConnectorContract

from .conftest import YEAR


@pytest.fixture
def budgets(budget):
    budget("SALES", {"travel": 100000, "meals": 20000})
    budget("SALES-E", {"travel": 50000})
    budget("RD", {"training": 10000})
    db.session.commit()


def _budgets_as(username, user, **config):  # type: ignore[no-untyped-def]
    return SubmissionsConnector(
        {"form": "department-budget", **config}, session=db.session, actor=user(username)
    )


class TestSubmissionsContract(ConnectorContract):
    sample_query = "lines"
    hostile_query = "lines"
    hostile_param = "department"
    hostile_value_is_echoed = False
    rejected_query = "no_such_table"
    invalid_configs = [({"form": "Not A Key!"}, ("form",))]

    @pytest.fixture
    def connector(self, budgets, user):  # type: ignore[no-untyped-def]
        return _budgets_as("cfo", user)

    @pytest.fixture
    def unavailable_connector(self, app, user, tmp_path):  # type: ignore[no-untyped-def]
        import sqlalchemy as sa

        dead = sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'quire.db'}")
        return SubmissionsConnector(
            {"form": "department-budget"}, session=Session(dead), actor=user("cfo")
        )


def test_rows_are_scoped_by_the_asking_users_grants(budgets, user):
    cfo_rows = list(_budgets_as("cfo", user).fetch("lines", {}, 100))
    assert {r["department"] for r in cfo_rows} == {"SALES", "SALES-E", "RD"}
    sales_rows = list(_budgets_as("salesmgr", user).fetch("lines", {}, 100))
    assert {r["department"] for r in sales_rows} == {"SALES", "SALES-E"}
    assert list(_budgets_as("rd1", user).fetch("lines", {}, 100)) == []


def test_lines_are_typed_and_filtered_by_department_subtree_and_year(budgets, user):
    source = _budgets_as("cfo", user)
    rows = list(source.fetch("lines", {"department": "SALES", "year": str(YEAR)}, 100))
    assert {r["department"] for r in rows} == {"SALES", "SALES-E"}
    travel = next(r for r in rows if r["department"] == "SALES" and r["account"] == "travel")
    assert isinstance(travel["annual"], Decimal) and travel["annual"] == Decimal("100000.00")
    assert list(source.fetch("lines", {"year": YEAR - 5}, 100)) == []
    assert [r["account"] for r in source.fetch("lines", {"account": "training"}, 100)] == [
        "training"
    ]
    with pytest.raises(QueryRejected):
        source.fetch("lines", {"colour": "red"}, 10)


def test_masked_fields_of_a_form_are_never_offered(app, user, make_submission):
    make_submission(
        "expense-claim",
        "SALES",
        "sales1",
        {"payee_name": "Li", "bank_account": "6222 0210 0000 1234", "lines": []},
        period=date(YEAR, 1, 1),
    )
    db.session.commit()
    source = SubmissionsConnector(
        {"form": "expense-claim"},
        session=db.session,
        actor=user("cfo"),
        permission=Permission.REPORT_READ,
    )
    assert "bank_account" not in [c.name for c in source.columns("submissions")]
    [row] = list(source.fetch("submissions", {}, 10))
    assert row["payee_name"] == "Li" and "bank_account" not in row
