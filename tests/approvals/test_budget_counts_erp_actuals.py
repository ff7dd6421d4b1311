"""The budget check of a claim counts the ERP ledger's actuals exactly as budget-vs-actual does:
a supplier's invoice in the ledger uses budget, a claim the ERP posted under its number does
not use it twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from quire.runtime.models import SubmissionStatus as S
from tests.datasources.conftest import make_source  # noqa: F401 - the fixture, shared

from .conftest import TODAY


@pytest.fixture
def ledger(org, make_source, tmp_path) -> Iterator[Any]:  # noqa: F811
    """``ledger([(department, account, day, amount, reference)])``: the `erp-actuals` source
    holding exactly those postings."""
    from quire_erp_ledger.sample import Posting, generate

    from quire.plugins.builtin.sql import dispose_engines

    def make(postings: list[tuple[str, str, date, Decimal, str]]) -> None:
        url = f"sqlite:///{tmp_path / 'erp.db'}"
        erp = sa.create_engine(url)
        generate(erp, TODAY.year, months=0, posted=[Posting(*p) for p in postings])
        erp.dispose()
        make_source("erp-actuals", "erp_ledger", {"url": url})

    yield make
    dispose_engines()


def _training(department: str) -> Any:
    from quire.runtime.approvals import budget
    from quire.runtime.org import department_by_code

    check = budget.check(department_by_code(department), TODAY.year, {"training": Decimal(1)})
    return next(a for a in check.accounts if a.account == "training")


def _an_approved_training_claim_line(department: str) -> dict[str, Any]:
    from quire.runtime.budgeting.actuals import Question, actual_lines
    from quire.runtime.org import department_by_code

    question = Question(year=TODAY.year, department=department_by_code(department), alone=True)
    return next(
        line
        for line in actual_lines(question)
        if line["kind"] == "claim" and line["account"] == "training"
    )


def test_a_small_claim_goes_over_budget_once_the_ledger_counts_a_suppliers_invoice(
    claim, submit, ledger, user
):
    from quire.runtime.approvals import engine
    from quire.runtime.reports import engine as reports

    before = _training("RD")
    assert before.remaining_before > Decimal("1000")
    posted = _an_approved_training_claim_line("RD")
    invoice = before.remaining_before - Decimal("500.00")
    ledger(
        [
            # The ERP's posting of an approved claim: already counted as the claim.
            ("RD", "training", date(TODAY.year, 3, 9), posted["actual"], posted["number"]),
            ("RD", "training", date(TODAY.year, 10, 5), invoice, "AP-2026-0001"),
        ]
    )

    after = _training("RD")
    assert after.spent == before.spent + invoice
    assert after.remaining_before == Decimal("500.00")

    c = submit(claim("rd1", 1000, category="training"))
    assert c.status == S.IN_REVIEW, "within budget on claims alone, over it with the ledger"
    facts = engine.compute_facts(c, engine.template_of(c))
    assert facts.checks["within_budget"] is False
    training = next(a for a in facts.checks["budget"]["accounts"] if a["account"] == "training")
    assert Decimal(training["remaining_after"]) == Decimal("-500.00")

    # The report's actual of RD's training is what the check counts as spent.
    rows = reports.run(user("cfo"), "budget-vs-actual", {"department": "RD"}, today=TODAY).rows
    row = next(r for r in rows if r.get("account") == "training" and not r.get("_style"))
    assert row["actual"] == after.spent
