"""What a general-ledger connector gives Quire's budget actuals, and what it lets finance declare.

A connector whose rows are GL postings (the `erp_ledger` plugin) answers the query
:data:`LINES_QUERY` with one row per posting and mixes :class:`LedgerActualsSettings` into its
`Config`. Quire then counts the ledger in budget-vs-actual, its drill-down and the budget check
of a claim (:mod:`quire.runtime.budgeting.actuals`), per account as declared here, so a claim
that is also posted to the ledger is never counted twice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from .base import ConnectorConfig

__all__ = [
    "ACTUALS_RULES",
    "LEDGER_ACTUALS_WORDS",
    "LINES_COLUMNS",
    "LINES_QUERY",
    "ActualsRule",
    "LedgerActualsSettings",
]

#: The query giving one row per posting. Parameters: `year` (required), `department` (a code or
#: a list of codes). Columns: :data:`LINES_COLUMNS`.
LINES_QUERY = "lines"
#: `period` is `YYYY-MM`, `posted_on` a date, `amount` a Decimal; `reference` is the document
#: the posting came from (a claim's number when the ERP posts an approved claim), or empty.
LINES_COLUMNS = (
    "id",
    "department",
    "cost_center",
    "account",
    "period",
    "posted_on",
    "reference",
    "description",
    "amount",
)

ActualsRule = Literal["claims_and_ledger", "ledger", "claims"]
#: claims_and_ledger: approved claims, plus the ledger's postings whose reference is not an
#: approved claim's number (a claim posted to the ledger counts once, as the claim).
#: ledger: the ledger alone (claims are assumed posted). claims: approved claims alone.
ACTUALS_RULES: tuple[str, ...] = ("claims_and_ledger", "ledger", "claims")


#: What the admin form calls these settings (a connector mixing them in adds these words to its
#: own `setting_words`).
LEDGER_ACTUALS_WORDS: dict[str, dict[str, str]] = {
    "actuals": {
        "zh": "预算实际数口径",
        "en": "Budget actuals from",
        "help_zh": "下面未列出的科目的实际数来源：claims_and_ledger（默认：已批准报销单 + "
        "凭证号不是报销单号的总账分录，已过账的报销单只计一次）、ledger（仅总账）或 claims"
        "（仅已批准报销单）。",
    },
    "ledger_accounts": {
        "zh": "仅按总账计实际数的科目",
        "en": "Accounts counted from the ledger alone",
        "help_zh": "每行一个科目代码（如 travel）：这些科目的实际数只取总账，不再计报销单。",
    },
    "claims_accounts": {
        "zh": "仅按报销单计实际数的科目",
        "en": "Accounts counted from claims alone",
        "help_zh": "每行一个科目代码：这些科目的实际数只取已批准报销单，总账分录不计。",
    },
}


class LedgerActualsSettings(ConnectorConfig):
    """Where each account's actual comes from, declared by finance on the ledger source."""

    actuals: ActualsRule = "claims_and_ledger"
    """Actuals of every account not listed below: claims_and_ledger (approved claims plus
    ledger postings whose reference is not a claim number, so a posted claim counts once),
    ledger (the ledger alone) or claims (approved claims alone)."""
    ledger_accounts: tuple[str, ...] = ()
    """Accounts whose actual is the ledger alone, one per line (e.g. travel)."""
    claims_accounts: tuple[str, ...] = ()
    """Accounts whose actual is approved claims alone, one per line; the ledger's postings
    on them are not counted."""

    @field_validator("ledger_accounts", "claims_accounts")
    @classmethod
    def _account_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(v.strip() for v in value if v and v.strip()))
        for code in codes:
            if len(code) > 40:
                raise ValueError(f"{code[:40]}… is not an account code")
        return codes

    @model_validator(mode="after")
    def _one_rule_per_account(self) -> LedgerActualsSettings:
        both = sorted(set(self.ledger_accounts) & set(self.claims_accounts))
        if both:
            raise ValueError(
                f"an account takes its actual from one place: {', '.join(both)} "
                "is listed under both ledger and claims"
            )
        return self

    def rule(self, account: str) -> ActualsRule:
        """The rule of one account."""
        if account in self.ledger_accounts:
            return "ledger"
        if account in self.claims_accounts:
            return "claims"
        return self.actuals
