"""One department's budget filled by several people, line by line, and the quarters a
re-forecast keeps closed.

People of the department change the lines of their own cost centre while the manager (the
budget's submitter) sees every line and submits; who may change which line is
:func:`quire.runtime.access.budget_line_refusal`. Each save carries the line as its writer
saw it (:func:`fingerprint`) and is merged into the budget as it is now, so two people saving
different lines both land; a line changed by someone else in between is refused (409) with
who changed it and when.

A re-forecast round (from Q3, say) keeps the quarters before it and the quarters already past
(by :mod:`quire.runtime.clock`, handed in as ``today``) as they are: the line editor shows
them read-only and every save, here or through the form's own editor, is refused with the
line and quarter named.

No Flask here: the actor and the moment are handed in.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from .. import access, clock
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound
from ..extensions import db
from ..forms import service as forms_service
from ..models import AuditEvent, BudgetRound, BudgetRoundEntry, RoundKind, Submission, User

QUARTERS = ("q1", "q2", "q3", "q4")
ZERO = Decimal("0.00")
#: The audit action of one line saved from the budget's line editor.
LINE_SAVED = "budget_line.save"


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0")).quantize(ZERO)
    except (InvalidOperation, ValueError):
        return ZERO


def _centre(line: Mapping[str, Any]) -> str:
    return str(line.get("cost_center") or "").strip()


def fingerprint(line: Mapping[str, Any]) -> str:
    """The line as its writer saw it: account, cost centre and the four quarters."""
    shown = [str(line.get("account") or ""), _centre(line)]
    shown += [str(_money(line.get(q))) for q in QUARTERS]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


# --- closed quarters ---------------------------------------------------------------------------
def closed_quarters(round: BudgetRound, today: date) -> dict[str, str]:
    """Quarter key → why it is closed, for a re-forecast round (nothing for an annual one):
    quarters before the round's first quarter, and quarters of the year that have ended."""
    if round.kind != RoundKind.REFORECAST.value:
        return {}
    closed = {}
    for number, key in enumerate(QUARTERS, start=1):
        last_month = number * 3
        ends = date(
            round.fiscal_year, last_month, calendar.monthrange(round.fiscal_year, last_month)[1]
        )
        if round.from_quarter and number < round.from_quarter:
            closed[key] = f"Q{number} lies before this re-forecast (from Q{round.from_quarter})"
        elif ends < today:
            closed[key] = f"Q{number} {round.fiscal_year} is already past"
    return closed


def closed_quarter_changes(
    closed: Mapping[str, str],
    before: Sequence[Any],
    after: Sequence[Any],
) -> list[Detail]:
    """Every closed quarter a save would change, by line and quarter. Lines are matched by
    account and cost centre (a line moved up or down is the same line); a new line must
    leave closed quarters at zero, a removed line must have had nothing in them."""
    if not closed:
        return []
    unused: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for line in before:
        if isinstance(line, Mapping):
            unused.setdefault((str(line.get("account") or ""), _centre(line)), []).append(line)
    problems = []
    for index, line in enumerate(after):
        if not isinstance(line, Mapping):
            continue
        account = str(line.get("account") or "")
        matches = unused.get((account, _centre(line))) or []
        prior: Mapping[str, Any] = matches.pop(0) if matches else {}
        for key, why in closed.items():
            if _money(line.get(key)) != _money(prior.get(key)):
                problems.append(
                    Detail(f"lines[{index}].{key}", f"line {index + 1} ({account}): {why}")
                )
    for (account, _c), left in unused.items():
        for line in left:
            for key, why in closed.items():
                if _money(line.get(key)) != ZERO:
                    problems.append(Detail("lines", f"a removed line ({account}): {why}"))
    return problems


def round_entry_of(submission: Submission) -> BudgetRoundEntry | None:
    return db.session.scalar(
        select(BudgetRoundEntry).where(BudgetRoundEntry.submission_id == submission.id).limit(1)
    )


def refuse_closed_quarters(submission: Submission, data: Mapping[str, Any], today: date) -> None:
    """The form editor's save of a budget in a re-forecast round: closed quarters stay."""
    entry = round_entry_of(submission)
    if entry is None:
        return
    problems = closed_quarter_changes(
        closed_quarters(entry.round, today),
        submission.data.get("lines") or [],
        data.get("lines") or [],
    )
    if problems:
        raise Invalid("These quarters are closed in this re-forecast.", problems)


# --- the line editor ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetLine:
    """One line as a person sees it in the line editor."""

    number: int
    account: str
    cost_center: str
    quarters: list[Decimal]
    annual: Decimal
    base: str
    #: None when the viewer may change the line, else why not (a sentence).
    refusal: str | None

    @property
    def editable(self) -> bool:
        return self.refusal is None


def lines_for(user: User, entry: BudgetRoundEntry) -> list[BudgetLine]:
    submission = entry.submission
    out = []
    for number, line in enumerate((submission.data.get("lines") if submission else None) or []):
        if not isinstance(line, Mapping):
            continue
        quarters = [_money(line.get(q)) for q in QUARTERS]
        out.append(
            BudgetLine(
                number=number + 1,
                account=str(line.get("account") or ""),
                cost_center=_centre(line),
                quarters=quarters,
                annual=sum(quarters, ZERO),
                base=fingerprint(line),
                refusal=access.budget_line_refusal(user, entry, line),
            )
        )
    return out


def _last_change(submission: Submission, line: Mapping[str, Any]) -> AuditEvent | None:
    """The latest save of this line (by account and cost centre), or of the whole form."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "submission",
            AuditEvent.object_id == str(submission.id),
            AuditEvent.action.in_([LINE_SAVED, "submission.update"]),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(50)
    )
    key = [str(line.get("account") or ""), _centre(line)]
    for event in events:
        said = event.changes or {}
        if (
            event.action == "submission.update"
            or [
                said.get("account"),
                said.get("cost_center") or "",
            ]
            == key
        ):
            return event
    return None


def _refuse(message: str, number: int | None, line: Mapping[str, Any] | None) -> Forbidden:
    if line is None:
        return Forbidden(message, [Detail("lines", "a new line")])
    where = f"line {number} ({line.get('account') or '-'}, cost centre {_centre(line) or '-'})"
    return Forbidden(message, [Detail(f"lines[{(number or 1) - 1}]", where)])


def save_line(
    actor: User,
    entry: BudgetRoundEntry,
    *,
    number: int | None,
    base: str | None,
    values: Mapping[str, Any],
    now: datetime,
) -> Submission:
    """Save one line (``number`` from 1; None adds a line for the actor's cost centre) into
    the budget as it is now. ``base`` is the line's :func:`fingerprint` as the actor saw it."""
    submission = entry.submission
    if submission is None:
        raise Conflict("This department has not started its budget yet.")
    lines = [dict(line) for line in submission.data.get("lines") or [] if isinstance(line, Mapping)]
    if number is None:
        refusal = access.budget_line_refusal(actor, entry, None)
        if refusal:
            raise _refuse(refusal, None, None)
        account = str(values.get("account") or "").strip()
        if not account:
            raise Invalid("Please check the line.", [Detail("account", "is required")])
        mine = access.is_submitter(actor, submission)
        centre = str(values.get("cost_center") or "").strip() if mine else actor.cost_center
        line: dict[str, Any] = {"account": account} | ({"cost_center": centre} if centre else {})
        line |= {q: str(values.get(q) or "0") for q in QUARTERS}
        lines.append(line)
        number = len(lines)
        was: Mapping[str, Any] = {}
    else:
        if not 1 <= number <= len(lines):
            raise NotFound("No such line in this budget.")
        was = lines[number - 1]
        refusal = access.budget_line_refusal(actor, entry, was)
        if refusal:
            raise _refuse(refusal, number, was)
        if base != fingerprint(was):
            changed = _last_change(submission, was)
            who = "changed since you opened it"
            if changed is not None:
                when = changed.at.astimezone(clock.zone())
                who = f"changed by {changed.actor_name} at {when:%Y-%m-%d %H:%M}"
            raise Conflict(
                "Someone else changed this line after you opened it; reload to see their figures.",
                [Detail(f"lines[{number - 1}]", f"line {number} ({was.get('account')}): {who}")],
            )
        lines[number - 1] = dict(was) | {q: values[q] for q in QUARTERS if q in values}
    today = clock.local_day(now)
    problems = closed_quarter_changes(
        closed_quarters(entry.round, today), submission.data.get("lines") or [], lines
    )
    if problems:
        raise Invalid("These quarters are closed in this re-forecast.", problems)
    saved = lines[number - 1]
    forms_service.save_in_submitters_name(
        actor,
        submission,
        {"lines": lines},
        action=LINE_SAVED,
        changes={
            "line": number,
            "account": saved.get("account"),
            "cost_center": _centre(saved) or None,
            "was": fingerprint(was) if was else None,
        },
        today=today,
    )
    return submission
