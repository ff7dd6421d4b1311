"""The actual of a budget: which lines make the actual of a department, account and period.

One answer, :func:`actual_lines`, serves the budget-vs-actual report's rows, the drill-down
behind each of them and the budget check of a claim, so the three cannot disagree. An actual
line is one of:

- a line of an approved claim (every form whose table has an account and an amount column),
  in the claim's fiscal period;
- a posting of the ERP ledger (the :data:`LEDGER_SOURCE` data source, when one is set up);
- a cost allocation line: a share received, or a pool given away (always counted).

Where the ERP posts approved claims under their numbers, adding claims and ledger would count
each claim twice. Finance declares on the ledger source, per account, where the actual comes
from (:class:`quire.plugins.ledger.LedgerActualsSettings`): ``claims_and_ledger`` (the default:
approved claims plus the postings whose reference is not an approved claim's number),
``ledger`` or ``claims``. :func:`basis` says the rule in force in a sentence for the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from quire.designer.model import Template
from quire.plugins.ledger import LINES_QUERY, LedgerActualsSettings
from quire.widgets.base import Bilingual, localized

from .. import access
from ..access import Permission
from ..approvals.budget import BUDGET_FORM, ZERO, _money, account_labels, amount_columns
from ..datasources import service as datasources
from ..extensions import db
from ..forms import templates as template_service
from ..models import (
    DataSource,
    Department,
    FormTemplate,
    Submission,
    SubmissionStatus,
    TemplateVersion,
    User,
)

#: The data source whose postings are the ledger's actuals (``erp_ledger``, set up by finance).
LEDGER_SOURCE = "erp-actuals"
#: Postings read from the ledger for one question, at most.
MAX_LEDGER_LINES = 200_000
#: What an actual line is, as the report calls it.
KINDS: dict[str, Bilingual] = {
    "claim": Bilingual(zh="报销单", en="Claim"),
    "ledger": Bilingual(zh="ERP 总账", en="ERP ledger"),
    "allocation": Bilingual(zh="分摊", en="Allocation"),
}


@dataclass(frozen=True)
class ClaimForm:
    """A form whose approved submissions spend budget: its table and account column."""

    key: str
    table: str
    account: str
    #: The latest published version, whose account options name the accounts.
    template: Template = field(compare=False, repr=False)

    @property
    def config(self) -> dict[str, Any]:
        """As a ``submissions`` report source: the table's lines of approved submissions."""
        return {"form": self.key, "lines": self.table, "statuses": ["approved"]}


def claim_forms() -> list[ClaimForm]:
    """Forms whose approved submissions count as actuals, as the budget check reads them."""
    stmt = (
        select(FormTemplate.key, TemplateVersion)
        .join(TemplateVersion, TemplateVersion.template_id == FormTemplate.id)
        .where(
            FormTemplate.kind == "form",
            FormTemplate.key != BUDGET_FORM,
            TemplateVersion.version == FormTemplate.latest_version,
        )
        .order_by(FormTemplate.key)
    )
    found = []
    for key, version in db.session.execute(stmt):
        template = template_service.parsed(version)
        found += [ClaimForm(key, t, a, template) for t, a in amount_columns(template)]
    return found


@dataclass(frozen=True)
class Basis:
    """The rule in force: the ledger source (None when there is none), its settings, and the
    forms whose approved claims count."""

    ledger: DataSource | None
    forms: list[ClaimForm]
    settings: LedgerActualsSettings = field(default_factory=LedgerActualsSettings)

    def counts_claims(self, account: str) -> bool:
        return self.ledger is None or self.settings.rule(account) != "ledger"

    def counts_posting(self, account: str, *, posts_a_claim: bool) -> bool:
        rule = self.settings.rule(account)
        return rule == "ledger" or (rule == "claims_and_ledger" and not posts_a_claim)

    def sentence(self, locale: str, labels: Mapping[str, str] | None = None) -> str:
        """How the actual column is made, in the reader's language (accounts by ``labels``,
        their names, where given)."""
        if self.ledger is None:
            text = Bilingual(
                zh="实际数 = 已批准报销单 + 分摊转入（未设置 ERP 总账数据源）。",
                en="Actual = approved claims + allocated costs (no ERP ledger source is set up).",
            )
            return localized(text, locale)
        words = {
            "claims_and_ledger": Bilingual(
                zh="已批准报销单 + ERP 总账中凭证号不是报销单号的分录（已过账的报销单只计一次）",
                en="approved claims + ERP ledger postings whose reference is not a claim "
                "number (a claim posted to the ledger counts once)",
            ),
            "ledger": Bilingual(zh="仅 ERP 总账", en="the ERP ledger alone"),
            "claims": Bilingual(zh="仅已批准报销单", en="approved claims alone"),
        }
        parts = [localized(words[self.settings.actuals], locale)]
        for rule, accounts in (
            ("ledger", self.settings.ledger_accounts),
            ("claims", self.settings.claims_accounts),
        ):
            if accounts:
                names = ", ".join((labels or {}).get(a, a) for a in accounts)
                parts.append(f"{names}: {localized(words[rule], locale)}")
        if locale.startswith("zh"):
            return f"实际数口径：{'；'.join(parts)}；另加分摊转入。"
        return f"Actual: {'; '.join(parts)}; plus allocated costs."


def describe(locale: str) -> str:
    """The sentence under budget-vs-actual's title: where each account's actual comes from."""
    rule = basis(with_forms=False)
    listed = rule.settings.ledger_accounts or rule.settings.claims_accounts
    return rule.sentence(locale, _account_labels(claim_forms(), locale) if listed else None)


def basis(*, with_forms: bool = True) -> Basis:
    """The rule in force, read from the ledger source's settings (and the claim forms, unless
    only the sentence is wanted)."""
    forms = claim_forms() if with_forms else []
    source = datasources.find_source(LEDGER_SOURCE) if has_app_context() else None
    if source is None:
        return Basis(None, forms)
    known = LedgerActualsSettings.model_fields
    settings = LedgerActualsSettings.model_validate(
        {k: v for k, v in (source.config or {}).items() if k in known}
    )
    return Basis(source, forms, settings)


@dataclass(frozen=True)
class Question:
    """Whose actuals, and of which period and account.

    ``reader`` bounds every line by their REPORT_READ scope (a report); None is the
    organisation's own question (a claim's budget check), which sees every line.
    ``department`` includes its subtree unless ``alone``; ``project`` ``-`` is "no project"
    (claims without one, ledger postings and allocations)."""

    year: int
    reader: User | None = None
    department: Department | None = None
    alone: bool = False
    month: int | None = None
    account: str | None = None
    project: str | None = None


def actual_lines(
    question: Question,
    locale: str = "zh_CN",
    *,
    claims: bool = True,
    rule: Basis | None = None,
) -> list[dict[str, Any]]:
    """Every line that makes the actual of ``question``, each a row: ``kind`` (claim, ledger,
    allocation) and its name, ``number`` (the claim's number, the posting's reference, the
    allocation rule), department (code and name), account (code and name), period, month,
    project, date, description and ``actual`` (``allocated`` too for allocation lines).

    The sum of ``actual`` over the lines of a department and account is that row's actual in
    budget-vs-actual, and what a budget check counts as spent. ``claims=False`` leaves the
    claims out, for a report that sums them in the database (:func:`claim_totals`); ``rule``
    is the :func:`basis` already read for the same question."""
    rule = rule or basis()
    forms = rule.forms
    labels = _account_labels(forms, locale)
    lines = _claim_lines(question, forms, rule, labels, locale) if claims else []
    lines += _ledger_lines(question, forms, rule, labels, locale)
    lines += _allocation_lines(question, labels, locale)
    return lines


def spent_by_account(
    department: Department, year: int, *, exclude: Collection[int] = ()
) -> dict[str, Decimal]:
    """What a budget check counts as spent, per account: :func:`actual_lines` of the
    department alone, without the claims in ``exclude`` (the one being checked, and the
    original it revises)."""
    spent: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in actual_lines(Question(year=year, department=department, alone=True)):
        if line.get("submission_id") in exclude:
            continue
        spent[str(line["account"])] += _money(line["actual"])
    return dict(spent)


# --- the three kinds of line ------------------------------------------------------------------


def _filters(question: Question) -> Any:
    from ..reports.sources import Filters

    return Filters(
        year=question.year,
        month=question.month,
        department=question.department,
        alone=question.alone,
        project=question.project,
    )


def _of_a_project(question: Question) -> bool:
    from ..reports.sources import NO_PROJECT

    return bool(question.project) and question.project != NO_PROJECT


def _wanted(question: Question, account: str) -> bool:
    return question.account is None or account == question.account


def _claim_lines(
    question: Question,
    forms: list[ClaimForm],
    rule: Basis,
    labels: Mapping[str, str],
    locale: str,
) -> list[dict[str, Any]]:
    from ..reports.sources import submission_lines

    lines = []
    for form in forms:
        for row in submission_lines(question.reader, form.config, _filters(question), locale):
            account = str(row.get(form.account) or "")
            if not account or not rule.counts_claims(account) or not _wanted(question, account):
                continue
            amount = row.get("amount")
            lines.append(
                {
                    **_head(row, "claim", locale),
                    "number": row["number"],
                    "submission_id": row["submission_id"],
                    "line_no": row["line_no"],
                    "account": account,
                    "account_name": labels.get(account, account),
                    "date": row.get("date"),
                    "description": row.get("description") or "",
                    "actual": amount if amount is not None else ZERO,
                }
            )
    return lines


def claim_totals(
    question: Question, keys: frozenset[str], locale: str, *, rule: Basis | None = None
) -> list[dict[str, Any]] | None:
    """The claim part of :func:`actual_lines` summed by ``keys`` in the database (see
    :func:`quire.runtime.reports.sources.submission_line_totals`), or None when it cannot be."""
    from ..reports.sources import Rollup, submission_line_totals

    rule = rule or basis()
    forms = rule.forms
    labels = _account_labels(forms, locale)
    rows = []
    for form in forms:
        wanted = {form.account if k in ("account", "account_name") else k for k in keys}
        rollup = Rollup(frozenset(wanted | {form.account}), frozenset({"amount"}))
        found = submission_line_totals(
            question.reader, form.config, _filters(question), locale, rollup
        )
        if found is None:
            return None
        for row in found:
            account = str(row.get(form.account) or "")
            if not account or not rule.counts_claims(account) or not _wanted(question, account):
                continue
            rows.append(
                {
                    **{k: v for k, v in row.items() if k in keys},
                    "kind": "claim",
                    "account": account,
                    "account_name": labels.get(account, account),
                    "actual": row.get("amount") if row.get("amount") is not None else ZERO,
                }
            )
    return rows


def _ledger_lines(
    question: Question,
    forms: list[ClaimForm],
    rule: Basis,
    labels: Mapping[str, str],
    locale: str,
) -> list[dict[str, Any]]:
    source = rule.ledger
    if source is None:
        return []
    departments = {d.code: d for d in _departments(question)}
    if not departments:
        return []
    params = {"year": question.year, "department": sorted(departments)}
    limit = MAX_LEDGER_LINES
    if has_app_context():
        limit = int(current_app.config.get("REPORT_SOURCE_MAX_ROWS", MAX_LEDGER_LINES))
    postings = datasources.fetch(
        source,
        LINES_QUERY,
        params,
        limit,
        actor=question.reader,
        permission=Permission.REPORT_READ if question.reader is not None else None,
    )
    posted_claims = _approved_numbers(
        {str(p.get("reference") or "") for p in postings} - {""}, forms
    )
    lines = []
    for posting in postings:
        department = departments.get(str(posting.get("department") or ""))
        account = str(posting.get("account") or "")
        period = _month_start(posting.get("period"))
        if department is None or not account or period is None:
            continue
        if question.month is not None and period.month != question.month:
            continue
        if _of_a_project(question) or not _wanted(question, account):
            continue  # the ledger knows no projects
        reference = str(posting.get("reference") or "")
        if not rule.counts_posting(account, posts_a_claim=reference in posted_claims):
            continue
        lines.append(
            {
                "kind": "ledger",
                "kind_name": localized(KINDS["ledger"], locale),
                "number": reference,
                "department": department.code,
                "department_name": department.name(locale),
                "account": account,
                "account_name": labels.get(account, account),
                "period": period,
                "year": period.year,
                "month": period.strftime("%Y-%m"),
                "project": "",
                "cost_center": posting.get("cost_center") or "",
                "date": posting.get("posted_on"),
                "description": posting.get("description") or "",
                "actual": _money(posting.get("amount")),
            }
        )
    return lines


def _allocation_lines(
    question: Question, labels: Mapping[str, str], locale: str
) -> list[dict[str, Any]]:
    from ..allocation.reports import allocation_rows

    if _of_a_project(question):
        return []  # allocations are not booked to projects
    config = {"lines": "all"}
    lines = []
    for row in allocation_rows(question.reader, config, _filters(question), locale):
        account = str(row["account"])
        if not _wanted(question, account):
            continue
        lines.append(
            {
                "kind": "allocation",
                "kind_name": localized(KINDS["allocation"], locale),
                "number": row["rule"],
                "department": row["department"],
                "department_name": row["department_name"],
                "account": account,
                "account_name": labels.get(account, account),
                "period": row["period"],
                "year": row["year"],
                "month": row["month"],
                "project": "",
                "date": row["period"],
                "description": row["rule_name"],
                "actual": row["amount"],
                "allocated": row["amount"],
            }
        )
    return lines


# --- helpers ------------------------------------------------------------------------------------


def _head(row: Mapping[str, Any], kind: str, locale: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "kind_name": localized(KINDS[kind], locale),
        "department": row["department"],
        "department_name": row["department_name"],
        "period": row["period"],
        "year": row["year"],
        "month": row["month"],
        "project": row.get("project") or "",
    }


def _account_labels(forms: Iterable[ClaimForm], locale: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for form in forms:
        labels.update(account_labels(form.template, locale))
    return labels


def _departments(question: Question) -> list[Department]:
    """The departments whose postings count: the reader's REPORT_READ scope, within the
    chosen department (with its subtree unless ``alone``)."""
    stmt = select(Department)
    if question.reader is not None:
        stmt = stmt.where(
            access.scope_filter(
                question.reader, Permission.REPORT_READ, Department, include_own=False
            )
        )
    chosen = question.department
    if chosen is not None and question.alone:
        stmt = stmt.where(Department.id == chosen.id)
    elif chosen is not None:
        stmt = stmt.where(Department.path.startswith(chosen.path, autoescape=True))
    return list(db.session.scalars(stmt))


def _approved_numbers(references: set[str], forms: list[ClaimForm]) -> set[str]:
    """The references that are approved claims' numbers, in whatever period they count."""
    if not references or not forms:
        return set()
    keys = [f.key for f in forms]
    found: set[str] = set()
    ordered = sorted(references)
    for start in range(0, len(ordered), 500):
        stmt = (
            select(Submission.number)
            .join(FormTemplate, FormTemplate.id == Submission.template_id)
            .where(
                FormTemplate.key.in_(keys),
                Submission.status == SubmissionStatus.APPROVED,
                Submission.number.in_(ordered[start : start + 500]),
            )
        )
        found.update(db.session.scalars(stmt))
    return found


def _month_start(value: Any) -> date | None:
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value or "")
    try:
        return date(int(text[:4]), int(text[5:7]), 1)
    except ValueError:
        return None
