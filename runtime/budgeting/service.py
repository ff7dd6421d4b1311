"""Budget rounds: open, start a department's budget, return it with line feedback, follow
progress, close; and adjustments of a closed year's budget.

Every function takes the acting user and the moment (``now``), asks
:mod:`quire.runtime.access`, raises domain errors and audits in the caller's transaction.
The department budgets themselves are ordinary ``department-budget`` submissions routed by
the approval engine (manager, finance reviewer, CFO); a round only says which ones it is
waiting for and makes the approved set the year's budget in one act.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from .. import access, audit
from ..approvals import budget as budget_service
from ..approvals import engine, notify, routing
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound
from ..extensions import affected_rows, db
from ..forms import service as forms_service
from ..forms import templates as template_service
from ..models import (
    AllocationLine,
    BudgetLineComment,
    BudgetRound,
    BudgetRoundEntry,
    Department,
    FormTemplate,
    RoundKind,
    RoundStatus,
    Submission,
    SubmissionStatus,
    User,
)
from ..nudges import due_nudge
from ..numbers import parse_date, parse_int

BUDGET_FORM = budget_service.BUDGET_FORM
#: A department's place in a round, in the order finance reads them.
STATUSES = ("not_started", "draft", "in_review", "returned", "approved")
#: Each status in Chinese and English (reports and pages show them in the reader's language).
STATUS_LABELS = {
    "not_started": ("未开始", "Not started"),
    "draft": ("草稿", "Draft"),
    "in_review": ("审批中", "In review"),
    "returned": ("已退回", "Returned"),
    "approved": ("已批准", "Approved"),
}
REFERENCES = ("last_budget", "actuals")
QUARTERS = ("q1", "q2", "q3", "q4")
ZERO = Decimal("0.00")
MAX_TEXT = 4000
S = SubmissionStatus
_STATUS_OF = {
    S.DRAFT: "draft",
    S.WITHDRAWN: "draft",
    S.IN_REVIEW: "in_review",
    S.RETURNED: "returned",
    S.REJECTED: "returned",
    S.APPROVED: "approved",
}


def _local_day(now: datetime) -> date:
    return engine.local_day(now)


def entry_status(entry: BudgetRoundEntry) -> str:
    """``not_started``, ``draft``, ``in_review``, ``returned`` or ``approved``."""
    if entry.submission is None:
        return "not_started"
    return _STATUS_OF[entry.submission.status]


# --- opening -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoundRequest:
    """What finance asks for when opening a round (parsed and checked)."""

    fiscal_year: int
    department: Department
    deadline: date
    instructions: str | None
    reference: tuple[str, ...]
    kind: str = RoundKind.ANNUAL.value
    from_quarter: int | None = None
    remind_days: int = 3


def parse_request(raw: Mapping[str, Any], today: date) -> RoundRequest:
    """Check a round's fields, reporting every problem at once by field name."""
    problems: list[Detail] = []
    year = parse_int(raw.get("fiscal_year"))
    if year is None or not 2000 <= year <= 2100:
        problems.append(Detail("fiscal_year", "must be a year such as 2027"))
    code = str(raw.get("department") or "").strip()
    department = (
        db.session.scalar(select(Department).where(Department.code == code)) if code else None
    )
    if department is None:
        problems.append(
            Detail("department", f"unknown department {code!r}" if code else "is required")
        )
    deadline = parse_date(raw.get("deadline"))
    if deadline is None:
        problems.append(Detail("deadline", "must be a date (YYYY-MM-DD)"))
    elif deadline < today:
        problems.append(Detail("deadline", "must not be in the past"))
    kind = str(raw.get("kind") or RoundKind.ANNUAL.value)
    if kind not in {k.value for k in RoundKind}:
        problems.append(Detail("kind", "must be annual or reforecast"))
    from_quarter = (
        parse_int(raw.get("from_quarter")) if kind == RoundKind.REFORECAST.value else None
    )
    if kind == RoundKind.REFORECAST.value and from_quarter not in (2, 3, 4):
        problems.append(Detail("from_quarter", "must be 2, 3 or 4"))
    instructions = str(raw.get("instructions") or "").strip() or None
    if instructions and len(instructions) > MAX_TEXT:
        problems.append(Detail("instructions", f"at most {MAX_TEXT} characters"))
    reference = raw.get("reference") or ()
    if isinstance(reference, str):
        reference = [reference]
    unknown = [r for r in reference if r not in REFERENCES]
    if unknown:
        problems.append(Detail("reference", "must be among " + ", ".join(REFERENCES)))
    remind = parse_int(raw.get("remind_days"))
    remind = 3 if raw.get("remind_days") in (None, "") else remind
    if remind is None or not 0 <= remind <= 60:
        problems.append(Detail("remind_days", "must be a number of days from 0 to 60"))
    if problems:
        raise Invalid("Please check the round.", problems)
    assert year is not None and department is not None and deadline is not None
    return RoundRequest(
        fiscal_year=year,
        department=department,
        deadline=deadline,
        instructions=instructions,
        reference=tuple(r for r in REFERENCES if r in reference),
        kind=kind,
        from_quarter=from_quarter,
        remind_days=int(remind or 0),
    )


def _subtree(department: Department) -> list[Department]:
    return list(
        db.session.scalars(
            select(Department)
            .where(
                Department.path.startswith(department.path, autoescape=True),
                Department.active.is_(True),
            )
            .order_by(Department.path)
        )
    )


def _adoptable(department: Department, year: int) -> Submission | None:
    """A budget of the department already being prepared for the year (and in no round)."""
    taken = select(BudgetRoundEntry.submission_id).where(
        BudgetRoundEntry.submission_id.is_not(None)
    )
    return db.session.scalar(
        select(Submission)
        .join(FormTemplate, FormTemplate.id == Submission.template_id)
        .where(
            FormTemplate.key == BUDGET_FORM,
            Submission.department_id == department.id,
            Submission.period == date(year, 1, 1),
            Submission.status.in_([S.DRAFT, S.IN_REVIEW, S.RETURNED]),
            Submission.id.not_in(taken),
        )
        .order_by(Submission.updated_at.desc(), Submission.id.desc())
        .limit(1)
    )


def open_round(actor: User, request: RoundRequest, *, now: datetime) -> BudgetRound:
    """Ask every department of the subtree for its budget; each gets a task in the inbox."""
    if not access.may_manage_budgets(actor, request.department):
        raise Forbidden("Only finance administrators can open a budget round.")
    template_service.published(BUDGET_FORM)
    departments = _subtree(request.department)
    overlapping = db.session.scalar(
        select(BudgetRound)
        .join(BudgetRoundEntry, BudgetRoundEntry.round_id == BudgetRound.id)
        .where(
            BudgetRound.status == RoundStatus.OPEN.value,
            BudgetRound.fiscal_year == request.fiscal_year,
            BudgetRoundEntry.department_id.in_([d.id for d in departments]),
        )
        .limit(1)
    )
    if overlapping is not None:
        raise Conflict(
            f"A budget round for {request.fiscal_year} is already open for some of these "
            "departments; close it first.",
            [Detail("department", f"round {overlapping.id} is open")],
        )
    round = BudgetRound(
        fiscal_year=request.fiscal_year,
        kind=request.kind,
        from_quarter=request.from_quarter,
        form_key=BUDGET_FORM,
        department=request.department,
        deadline=request.deadline,
        instructions=request.instructions,
        reference=list(request.reference),
        remind_days=request.remind_days,
        status=RoundStatus.OPEN.value,
        opened_by_id=actor.id,
        opened_at=now,
    )
    db.session.add(round)
    for department in departments:
        adopted = _adoptable(department, request.fiscal_year) if request.kind == "annual" else None
        assignee = adopted.submitter if adopted is not None else routing.head_of(department)
        entry = BudgetRoundEntry(
            round=round,
            department=department,
            assignee=assignee,
            submission=adopted,
            created_at=now,
        )
        db.session.add(entry)
        db.session.flush()
        if assignee is not None:
            _tell(assignee, entry, "budget_task")
    audit.record(
        actor,
        "budget_round.open",
        object_type="budget_round",
        object_id=round.id,
        changes={
            "fiscal_year": round.fiscal_year,
            "kind": round.kind,
            "department": request.department.code,
            "deadline": round.deadline.isoformat(),
            "departments": [d.code for d in departments],
        },
    )
    db.session.flush()
    return round


def entry_path(entry: BudgetRoundEntry) -> str:
    return f"/budget/rounds/{entry.round_id}/departments/{entry.department.code}"


def _tell(user: User, entry: BudgetRoundEntry, kind: str) -> None:
    """The inbox message of a department's part: the task, a reminder, an escalation."""
    round, code = entry.round, entry.department.code
    name_zh = entry.department.name_zh
    day = round.deadline
    what_zh = (
        f"{round.fiscal_year} 年预算"
        if round.kind == "annual"
        else f"{round.fiscal_year} 年滚动预测"
    )
    what_en = (
        f"the {round.fiscal_year} budget"
        if round.kind == "annual"
        else f"the {round.fiscal_year} re-forecast"
    )
    due_zh, due_en = f"{day.month} 月 {day.day} 日", f"{day.day} {day:%b}"
    subjects = {
        "budget_task": (
            f"请于 {due_zh} 前填报{name_zh}（{code}）的{what_zh}",
            f"Fill in {what_en} for {code} by {due_en}",
        ),
        "budget_reminder": (
            f"催办：{name_zh}（{code}）的{what_zh}将于 {due_zh} 截止",
            f"Reminder: {what_en} for {code} is due {due_en}",
        ),
        "budget_escalation": (
            f"已超期：{name_zh}（{code}）的{what_zh}截止于 {due_zh}，仍未提交",
            f"Overdue: {what_en} for {code} was due {due_en} and is not submitted",
        ),
    }
    body = (round.instructions or "", round.instructions or "")
    notify.message(user, kind, subjects[kind], body, entry_path(entry))


# --- reading -----------------------------------------------------------------------------------
def rounds_for(user: User) -> list[BudgetRound]:
    """Rounds in which the user follows at least one department, newest first."""
    ids = select(BudgetRoundEntry.round_id).where(access.round_entries_filter(user))
    return list(
        db.session.scalars(
            select(BudgetRound).where(BudgetRound.id.in_(ids)).order_by(BudgetRound.id.desc())
        )
    )


def load_round(user: User, round_id: int) -> BudgetRound:
    round = db.session.get(BudgetRound, round_id)
    if round is None or not visible_entries(user, round):
        raise NotFound("No such budget round, or it is outside your scope.")
    return round


def visible_entries(user: User, round: BudgetRound) -> list[BudgetRoundEntry]:
    return list(
        db.session.scalars(
            select(BudgetRoundEntry)
            .join(Department, Department.id == BudgetRoundEntry.department_id)
            .where(BudgetRoundEntry.round_id == round.id, access.round_entries_filter(user))
            .order_by(Department.path)
        )
    )


def load_entry(user: User, round_id: int, code: str) -> BudgetRoundEntry:
    entry = db.session.scalar(
        select(BudgetRoundEntry)
        .join(Department, Department.id == BudgetRoundEntry.department_id)
        .where(BudgetRoundEntry.round_id == round_id, Department.code == code)
    )
    if entry is None or not access.may_see_round_entry(user, entry):
        raise NotFound("No such department in this round, or it is outside your scope.")
    return entry


def open_tasks(user: User) -> list[BudgetRoundEntry]:
    """Departments' budgets waiting for the user to fill in (the inbox's budget tasks)."""
    found = db.session.scalars(
        select(BudgetRoundEntry)
        .join(BudgetRound, BudgetRound.id == BudgetRoundEntry.round_id)
        .where(
            BudgetRound.status == RoundStatus.OPEN.value,
            access.round_entries_asked_of(user),
        )
        .order_by(BudgetRound.deadline, BudgetRoundEntry.id)
    )
    return [e for e in found if entry_status(e) in ("not_started", "draft", "returned")]


# --- filling -----------------------------------------------------------------------------------
def _lines_of(submission: Submission | None, keep_quarters: int = 4) -> list[dict[str, str]]:
    if submission is None:
        return []
    lines = []
    for row in submission.data.get("lines") or []:
        if isinstance(row, Mapping) and row.get("account"):
            lines.append(
                {"account": str(row["account"])}
                | ({"cost_center": row["cost_center"]} if row.get("cost_center") else {})
                | {q: str(row.get(q) or "0.00") for q in QUARTERS[:keep_quarters]}
                | {q: "0.00" for q in QUARTERS[keep_quarters:]}
            )
    return lines


def prefill(entry: BudgetRoundEntry) -> list[dict[str, str]]:
    """Last year's budget in force (annual), this year's (re-forecast), or nothing."""
    round = entry.round
    year = round.fiscal_year - 1 if round.kind == "annual" else round.fiscal_year
    return _lines_of(budget_service.budget_submission(entry.department, year))


def start(actor: User, entry: BudgetRoundEntry, *, now: datetime) -> Submission:
    """The department's budget as a draft, prefilled; the actor becomes its submitter."""
    if not entry.round.is_open:
        raise Conflict("This budget round is closed.")
    if not access.may_fill_round_entry(actor, entry):
        raise Forbidden("You cannot fill in this department's budget.")
    if entry.submission is not None and entry.submission.status not in (S.WITHDRAWN, S.REJECTED):
        return entry.submission  # already started: carry on with it
    round = entry.round
    note = "" if round.kind == "annual" else f"Re-forecast from Q{round.from_quarter}"
    data = {
        "department": entry.department.code,
        "fiscal_year": str(round.fiscal_year),
        "lines": prefill(entry),
        "notes": note,
    }
    submission = forms_service.create(actor, round.form_key, data, today=_local_day(now))
    entry.submission = submission
    if entry.assignee_id is None:
        entry.assignee = actor
    audit.record(
        actor,
        "budget_round.start",
        object_type="budget_round",
        object_id=round.id,
        changes={"department": entry.department.code, "submission": submission.number},
    )
    db.session.flush()
    return submission


# --- feedback ----------------------------------------------------------------------------------
def return_with_feedback(
    actor: User,
    entry: BudgetRoundEntry,
    *,
    version: Any,
    comment: Any,
    line_comments: Mapping[int, str],
    now: datetime,
) -> Submission:
    """Finance sends a department's budget back with a comment and comments on its lines."""
    if not entry.round.is_open:
        raise Conflict("This budget round is closed.")
    if not access.may_manage_budgets(actor, entry):
        raise Forbidden("Only finance administrators can return a budget from the round.")
    submission = entry.submission
    if submission is None:
        raise Conflict("This department has not started its budget yet.")
    lines = submission.data.get("lines") or []
    problems = []
    cleaned: dict[int, str] = {}
    for number, text in line_comments.items():
        text = (text or "").strip()
        if not text:
            continue
        if not 1 <= number <= len(lines):
            problems.append(Detail(f"lines[{number - 1}]", "no such line"))
        elif len(text) > MAX_TEXT:
            problems.append(Detail(f"lines[{number - 1}]", f"at most {MAX_TEXT} characters"))
        else:
            cleaned[number] = text
    if problems:
        raise Invalid("Please check the line comments.", problems)
    review_round = engine.current_round(submission)
    engine.return_for_rework(actor, submission.id, version=version, comment=comment, now=now)
    for number, text in sorted(cleaned.items()):
        line = lines[number - 1] if isinstance(lines[number - 1], Mapping) else {}
        db.session.add(
            BudgetLineComment(
                entry_id=entry.id,
                submission_id=submission.id,
                line_no=number,
                account=str(line.get("account") or "") or None,
                comment=text,
                author_id=actor.id,
                review_round=review_round,
                created_at=now,
            )
        )
    audit.record(
        actor,
        "budget_round.return",
        object_type="budget_round",
        object_id=entry.round_id,
        changes={"department": entry.department.code, "lines": sorted(cleaned)},
    )
    db.session.flush()
    return submission


def feedback(entry: BudgetRoundEntry) -> list[BudgetLineComment]:
    if entry.submission_id is None:
        return []
    return list(
        db.session.scalars(
            select(BudgetLineComment)
            .where(BudgetLineComment.submission_id == entry.submission_id)
            .order_by(BudgetLineComment.created_at.desc(), BudgetLineComment.line_no)
        )
    )


# --- consolidation -----------------------------------------------------------------------------
def actuals(department: Department, year: int) -> Decimal:
    """What the department spent in the year: approved claims and allocated costs."""
    spent, _committed = budget_service.used(department, year)
    total = sum(spent.values(), ZERO)
    lines = db.session.scalars(
        select(AllocationLine.amount).where(
            AllocationLine.department_id == department.id,
            AllocationLine.period >= date(year, 1, 1),
            AllocationLine.period <= date(year, 12, 31),
        )
    )
    return total + sum((Decimal(a) for a in lines), ZERO)


@dataclass
class DepartmentRow:
    entry: BudgetRoundEntry
    status: str
    total: Decimal
    last_budget: Decimal | None
    actuals: Decimal | None

    @property
    def department(self) -> Department:
        return self.entry.department

    @property
    def change(self) -> Decimal | None:
        base = self.last_budget if self.last_budget is not None else None
        return self.total - base if base is not None else None

    @property
    def change_percent(self) -> Decimal | None:
        if self.last_budget in (None, ZERO) or self.change is None:
            return None
        assert self.last_budget is not None
        return (self.change / self.last_budget * 100).quantize(Decimal("0.1"))


@dataclass
class Consolidation:
    round: BudgetRound
    rows: list[DepartmentRow]
    #: account → [q1, q2, q3, q4, annual] over every department's current submission.
    by_account: dict[str, list[Decimal]] = field(default_factory=dict)

    @property
    def progress(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for row in self.rows:
            counts[row.status] += 1
        return counts

    @property
    def done_percent(self) -> int:
        return round(100 * self.progress["approved"] / len(self.rows)) if self.rows else 0

    def total(self, name: str) -> Decimal | None:
        values = [getattr(r, name) for r in self.rows if getattr(r, name) is not None]
        return sum(values, ZERO) if values else None


def quarter_lines(submission: Submission | None) -> list[dict[str, Any]]:
    """The submission's lines with Decimal quarters and the annual sum."""
    out = []
    for row in (submission.data.get("lines") if submission else None) or []:
        if not isinstance(row, Mapping) or not row.get("account"):
            continue
        quarters = [budget_service._money(row.get(q)) for q in QUARTERS]
        out.append(
            {"account": str(row["account"]), "quarters": quarters, "annual": sum(quarters, ZERO)}
        )
    return out


def consolidate(user: User, round: BudgetRound) -> Consolidation:
    """Each department's status and total against the reference columns, and the sum by
    account and quarter, over the departments the user may follow."""
    return consolidate_entries(round, visible_entries(user, round))


def consolidate_entries(round: BudgetRound, entries: list[BudgetRoundEntry]) -> Consolidation:
    ref_year = round.fiscal_year - 1 if round.kind == "annual" else round.fiscal_year
    rows = []
    by_account: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 5)
    for entry in entries:
        submission = entry.submission
        last = None
        if "last_budget" in round.reference:
            found = budget_service.approved_budget(entry.department, ref_year)
            last = sum(found.values(), ZERO) if found is not None else ZERO
        spent = actuals(entry.department, ref_year) if "actuals" in round.reference else None
        total = submission.total if submission is not None and submission.total else ZERO
        rows.append(DepartmentRow(entry, entry_status(entry), Decimal(total), last, spent))
        for line in quarter_lines(submission):
            slot = by_account[line["account"]]
            for index, amount in enumerate([*line["quarters"], line["annual"]]):
                slot[index] += amount
    return Consolidation(round, rows, dict(sorted(by_account.items())))


# --- closing -----------------------------------------------------------------------------------
def close_round(actor: User, round: BudgetRound, *, now: datetime) -> BudgetRound:
    """Make every department's approved budget the year's budget, all at once."""
    if not access.may_manage_budgets(actor, round):
        raise Forbidden("Only finance administrators can close a budget round.")
    locked = db.session.execute(
        update(BudgetRound)
        .where(BudgetRound.id == round.id, BudgetRound.status == RoundStatus.OPEN.value)
        .values(status=RoundStatus.CLOSED.value, closed_at=now, closed_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(locked) != 1:
        raise Conflict("This budget round is already closed.")
    db.session.refresh(round)
    waiting = [e.department.code for e in round.entries if entry_status(e) != "approved"]
    if waiting:
        raise Conflict(
            "Every department's budget must be approved before the round closes.",
            [Detail(code, "not approved yet") for code in waiting],
        )
    for entry in round.entries:
        assert entry.submission is not None
        entry.adopted = {
            k: str(v) for k, v in budget_service.annual_by_account(entry.submission.data).items()
        }
    audit.record(
        actor,
        "budget_round.close",
        object_type="budget_round",
        object_id=round.id,
        changes={
            "fiscal_year": round.fiscal_year,
            "departments": {e.department.code: str(e.submission.total) for e in round.entries},  # type: ignore[union-attr]
        },
    )
    db.session.flush()
    return round


# --- adjustments -------------------------------------------------------------------------------
def adopted_entry(department: Department, year: int) -> BudgetRoundEntry | None:
    """The department's part of the latest closed round for the year, if any."""
    return db.session.scalar(
        select(BudgetRoundEntry)
        .join(BudgetRound, BudgetRound.id == BudgetRoundEntry.round_id)
        .where(
            BudgetRound.fiscal_year == year,
            BudgetRound.status == RoundStatus.CLOSED.value,
            BudgetRoundEntry.department_id == department.id,
        )
        .order_by(BudgetRound.closed_at.desc())
        .limit(1)
    )


def start_adjustment(
    actor: User, department: Department, year: int, *, now: datetime
) -> Submission:
    """A budget adjustment (调整): a copy of the budget in force, to change and route."""
    current = budget_service.budget_submission(department, year)
    if current is None:
        raise Conflict(f"{department.code} has no approved budget for {year} to adjust.")
    pending = db.session.scalar(
        select(BudgetRound)
        .join(BudgetRoundEntry, BudgetRoundEntry.round_id == BudgetRound.id)
        .where(
            BudgetRound.status == RoundStatus.OPEN.value,
            BudgetRound.fiscal_year == year,
            BudgetRoundEntry.department_id == department.id,
        )
        .limit(1)
    )
    if pending is not None:
        raise Conflict(f"A budget round for {year} is still open for {department.code}.")
    data = {
        "department": department.code,
        "fiscal_year": str(year),
        "lines": _lines_of(current),
        "notes": f"预算调整 / Budget adjustment of {current.number}",
    }
    submission = forms_service.create(actor, BUDGET_FORM, data, today=_local_day(now))
    submission.supersedes_id = current.id
    audit.record(
        actor,
        "budget.adjust",
        object_type="submission",
        object_id=submission.id,
        changes={"department": department.code, "year": year, "adjusts": current.number},
    )
    db.session.flush()
    return submission


@dataclass
class YearBudget:
    """A department's year: the budget the round made, adjustments since, what is in force."""

    department: Department
    year: int
    #: account → (original, adjustments, current)
    accounts: dict[str, tuple[Decimal, Decimal, Decimal]]
    adjustments: list[Submission]
    current: Submission | None

    def total(self, index: int) -> Decimal:
        return sum((v[index] for v in self.accounts.values()), ZERO)


def year_budget(department: Department, year: int) -> YearBudget:
    entry = adopted_entry(department, year)
    current = budget_service.budget_submission(department, year)
    now_in_force = budget_service.annual_by_account(current.data) if current else {}
    if entry is not None and entry.adopted is not None:
        original = {k: Decimal(v) for k, v in entry.adopted.items()}
    else:
        original = dict(now_in_force)
    adjustments: list[Submission] = []
    if entry is not None and entry.submission_id is not None:
        chain = {entry.submission_id}
        for submission in db.session.scalars(
            select(Submission)
            .where(Submission.supersedes_id.is_not(None))
            .where(Submission.department_id == department.id)
            .where(Submission.period == date(year, 1, 1))
            .order_by(Submission.id)
        ):
            if submission.supersedes_id in chain:
                chain.add(submission.id)
                adjustments.append(submission)
    accounts = {}
    for account in dict.fromkeys([*original, *now_in_force]):
        before, after = original.get(account, ZERO), now_in_force.get(account, ZERO)
        accounts[account] = (before, after - before, after)
    return YearBudget(department, year, accounts, adjustments, current)


# --- reminders and escalation (the periodic sweep) ---------------------------------------------
def sweep(now: datetime | None = None) -> dict[str, int]:
    """Remind managers as the deadline nears; past it, tell their own manager. Once each."""
    now = now or engine.utcnow()
    today = _local_day(now)
    done = {"remind": 0, "escalate": 0}
    entries = db.session.scalars(
        select(BudgetRoundEntry)
        .join(BudgetRound, BudgetRound.id == BudgetRoundEntry.round_id)
        .where(BudgetRound.status == RoundStatus.OPEN.value)
    ).all()
    for entry in entries:
        if entry_status(entry) not in ("not_started", "draft", "returned"):
            continue
        deadline = entry.round.deadline
        holder = entry.assignee
        if holder is None:
            continue
        nudge = due_nudge(
            BudgetRoundEntry,
            entry,
            deadline=deadline,
            remind_days=entry.round.remind_days,
            today=today,
            now=now,
        )
        if nudge == "escalate":
            boss = routing.head_of(entry.department, besides=holder) or routing.manager_of(holder)
            db.session.refresh(entry)
            if boss is not None:
                entry.escalated_to = boss
                _tell(boss, entry, "budget_escalation")
            _tell(holder, entry, "budget_escalation")
            done["escalate"] += 1
        elif nudge == "remind":
            _tell(holder, entry, "budget_reminder")
            done["remind"] += 1
        db.session.commit()
    return done
