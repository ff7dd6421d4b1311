"""Sample data for the demo: budgets and a year of expense claims, made through the real services.

Everything goes through the form service and the approval engine, so routes, history,
notifications and audit are real; afterwards the times are moved back to when things
"happened", so lists, timelines and the approval-efficiency report show realistic ages
and durations. Deterministic: the same ``today`` gives the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from . import clock as instance_clock
from .approvals import engine, notify
from .extensions import db
from .forms import service as forms_service
from .models import (
    ApprovalTask,
    Submission,
    SubmissionStatus,
    TaskStatus,
    User,
)
from .org import user_by_username

ACCOUNTS = ("travel", "meals", "office", "training", "other")
#: Who files each department's budget, and the annual budget per account (CNY).
BUDGET_FILERS = {
    "HQ": "cfo",
    "FIN": "finadmin",
    "SALES": "salesmgr",
    "SALES-E": "sales3",
    "RD": "rdmgr",
    "HR": "hr1",
}
ANNUAL_BUDGET = {
    "travel": Decimal("900000"),
    "meals": Decimal("600000"),
    "office": Decimal("600000"),
    "training": Decimal("600000"),
    "other": Decimal("600000"),
}
#: RD's training budget is small on purpose: the sample claims take it past 90 %.
RD_TRAINING_BUDGET = Decimal("40000")
RD_TRAINING_CLAIMS = (
    Decimal("12800.00"),
    Decimal("9600.00"),
    Decimal("8400.00"),
    Decimal("6200.00"),
)
#: Next year's budgets already sent into review in the demo (the others are drafts).
IN_REVIEW_NEXT_YEAR = ("HQ", "RD", "HR")
#: Who claims expenses in each department.
CLAIMANTS = {
    "HQ": ("cfo",),
    "FIN": ("finadmin", "finrev"),
    "SALES": ("sales1", "sales2", "salesmgr"),
    "SALES-E": ("sales3",),
    "RD": ("rd1", "rdmgr"),
    "HR": ("hr1",),
}
DESCRIPTIONS = {
    "travel": (
        "高铁 上海—杭州 客户拜访",
        "Flight Beijing–Shanghai",
        "出差住宿 2 晚",
        "Taxi to client site",
    ),
    "meals": ("客户午餐", "Team dinner after release", "商务宴请", "Working lunch"),
    "office": ("打印纸与墨盒", "Monitor stand", "办公文具", "Headset"),
    "training": ("Python 高级课程", "Conference ticket", "财务培训", "Online course"),
    "other": ("快递费", "Visa fee", "会议室租用", "Books"),
}
SEED = 20251101


@dataclass
class _Clock:
    """Moves a claim's story forward in plausible office hours, never past now."""

    moment: datetime
    limit: datetime

    def later(self, rng: random.Random, low_hours: float, high_hours: float) -> datetime:
        self.moment = min(
            self.moment + timedelta(hours=rng.uniform(low_hours, high_hours)), self.limit
        )
        return self.moment


def _at(day: date, hour: int, rng: random.Random) -> datetime:
    local = datetime.combine(day, time(hour, rng.randint(0, 59)))
    return (local - timedelta(hours=8)).replace(tzinfo=UTC)  # Asia/Shanghai office hours


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def budget_lines(code: str, scale: Decimal = Decimal("1")) -> list[dict[str, str]]:
    lines = []
    for account in ACCOUNTS:
        annual = (
            RD_TRAINING_BUDGET if (code, account) == ("RD", "training") else ANNUAL_BUDGET[account]
        )
        quarter = (annual * scale / 4).quantize(Decimal("0.01"))
        lines.append(
            {
                "account": account,
                "q1": _money(quarter),
                "q2": _money(quarter),
                "q3": _money(quarter),
                "q4": _money(annual * scale - 3 * quarter),
            }
        )
    return lines


def _backdate(submission: Submission, created: datetime) -> None:
    """Move a submission's creation (and the number's year) back to ``created``."""
    submission.created_at = created
    prefix = submission.number.split("-")[0]
    submission.number = f"{prefix}-{created.year}-{submission.id:05d}"
    db.session.flush()


def _decide_all(submission: Submission, clock: _Clock, rng: random.Random, *, stop: str) -> None:
    """Walk the route: every holder approves, until ``stop`` (approved, a step key to reject
    or return at, or ``first`` to leave it after the first decision)."""
    for _ in range(12):
        if submission.status != SubmissionStatus.IN_REVIEW:
            return
        task = db.session.scalar(
            select(ApprovalTask)
            .where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.status == TaskStatus.OPEN,
                ApprovalTask.step_key == submission.current_step,
            )
            .order_by(ApprovalTask.id)
        )
        if task is None:
            return
        when = clock.later(rng, 2, 40)
        step = submission.current_step
        if stop.startswith("reject:") and stop[7:] == step:
            engine.act(
                task.assignee,
                submission.id,
                "reject",
                version=submission.version,
                comment=rng.choice(["发票不合规", "Not a business expense", "超出差旅标准"]),
                now=when,
            )
            return
        if stop.startswith("return:") and stop[7:] == step:
            engine.act(
                task.assignee,
                submission.id,
                "return",
                version=submission.version,
                comment=rng.choice(["请补充发票", "Please attach the hotel invoice", "说明不清楚"]),
                now=when,
            )
            return
        if stop == "wait" or (stop == "first" and step != "manager"):
            return
        engine.act(
            task.assignee,
            submission.id,
            "approve",
            version=submission.version,
            comment=rng.choice([None, None, "同意", "OK"]),
            now=when,
        )


def make_budget(
    filer: User,
    code: str,
    year: int,
    *,
    submitted: datetime | None,
    stop: str = "approved",
    scale: Decimal = Decimal("1"),
    rng: random.Random | None = None,
) -> Submission:
    """A department budget for ``year``; submitted and walked along its route unless a draft."""
    rng = rng or random.Random(SEED)
    created = submitted - timedelta(days=3) if submitted else None
    data = {
        "department": code,
        "fiscal_year": str(year),
        "lines": budget_lines(code, scale),
        "notes": f"{year} 年度预算编制 / Budget {year}",
    }
    submission = forms_service.create(
        filer,
        "department-budget",
        data,
        today=instance_clock.local_day(created or instance_clock.now()),
    )
    db.session.flush()
    if created:
        _backdate(submission, created)
    if submitted is None:
        return submission
    engine.submit(filer, submission.id, submission.version, now=submitted)
    clock = _Clock(submitted, instance_clock.now())
    _decide_all(submission, clock, rng, stop=stop)
    return submission


def make_claim(
    claimant: User, day: date, lines: list[tuple[str, Decimal]], rng: random.Random, *, serial: int
) -> Submission:
    data = {
        "payee_name": claimant.display_name.split(" ")[0],
        "bank_account": f"6222 0210 {serial % 10000:04d} {rng.randint(1000, 9999)}",
        "lines": [
            {
                "date": (day - timedelta(days=rng.randint(0, 6))).isoformat(),
                "category": account,
                "description": rng.choice(DESCRIPTIONS[account]),
                "amount": _money(amount),
                "invoice": f"FP{day:%Y%m}{serial:05d}{index}",
            }
            for index, (account, amount) in enumerate(lines)
        ],
    }
    submission = forms_service.create(claimant, "expense-claim", data, today=day)
    db.session.flush()
    return submission


def _claim_lines(rng: random.Random, code: str) -> list[tuple[str, Decimal]]:
    roll = rng.random()
    count = rng.choice((1, 1, 2, 2, 3, 4))
    accounts = [a for a in ACCOUNTS if not (code == "RD" and a == "training")]
    if roll < 0.55:
        low, high = 80, 2400  # small claims: approved automatically when within budget
    elif roll < 0.93:
        low, high = 2500, 16000
    else:
        low, high = 30000, 52000  # large: the CFO sees these
    return [
        (rng.choice(accounts), Decimal(rng.randint(low * 100, high * 100)) / 100)
        for _ in range(count)
    ]


def _story(rng: random.Random, age_days: int) -> str:
    roll = rng.random()
    if age_days <= 12:
        return rng.choice(["wait", "wait", "first", "first", "draft", "approved", "return:finance"])
    if roll < 0.74:
        return "approved"
    if roll < 0.82:
        return rng.choice(["reject:manager", "reject:finance"])
    if roll < 0.88:
        return "return:manager"
    if roll < 0.93:
        return "withdraw"
    return "draft"


def seed_sample_data(today: date) -> dict[str, int]:
    """Budgets for this year (approved) and next year (in compilation), and a year of claims."""
    rng = random.Random(SEED)
    counts = {"budgets": 0, "claims": 0, "allocations": 0}
    now = instance_clock.now()
    people = {name: user_by_username(name) for names in CLAIMANTS.values() for name in names}
    people.update({name: user_by_username(name) for name in BUDGET_FILERS.values()})
    with notify.email_muted():
        for year in (today.year - 1, today.year):
            for code, filer in BUDGET_FILERS.items():
                submitted = _at(date(year - 1, 12, 10 + rng.randint(0, 8)), 10, rng)
                make_budget(people[filer], code, year, submitted=submitted, rng=rng)
                counts["budgets"] += 1
        db.session.commit()
        # Next year's budgets: November is budget season.
        for index, (code, filer) in enumerate(BUDGET_FILERS.items()):
            recent = _at(today - timedelta(days=2 + index), 15, rng)
            if code not in IN_REVIEW_NEXT_YEAR:
                make_budget(
                    people[filer],
                    code,
                    today.year + 1,
                    submitted=None,
                    scale=Decimal("1.08"),
                    rng=rng,
                )
            else:
                make_budget(
                    people[filer],
                    code,
                    today.year + 1,
                    submitted=min(recent, now),
                    # The CFO's own (HQ) budget has only finrev left to decide it once (four
                    # eyes across steps): it waits there, as the others wait at their first step.
                    stop="wait" if code == "HQ" else "first",
                    scale=Decimal("1.05"),
                    rng=rng,
                )
            counts["budgets"] += 1
        db.session.commit()

        serial = 0
        for code, names in CLAIMANTS.items():
            for name in names:
                claimant = people[name]
                for _ in range(rng.randint(28, 40) if code != "HQ" else 16):
                    serial += 1
                    age = rng.randint(0, 364)
                    _one_claim(claimant, today, age, _claim_lines(rng, code), rng, serial, now)
                    counts["claims"] += 1
                db.session.commit()
        # RD's training claims: past 90 % of the small training budget (the warning demo).
        for index, amount in enumerate(RD_TRAINING_CLAIMS):
            serial += 1
            age = min(20 + index * 35, (today - date(today.year, 1, 1)).days)
            claimant = people["rd1"] if index % 2 == 0 else people["rdmgr"]
            _one_claim(
                claimant,
                today,
                age,
                [("training", amount)],
                rng,
                serial,
                now,
                story="approved" if index < 3 else "wait",
            )
            counts["claims"] += 1
        # Fresh claims waiting for their managers: every approver's inbox has work.
        for names in CLAIMANTS.values():
            for name in names[:2]:
                serial += 1
                lines = [
                    (
                        rng.choice(("travel", "meals", "office")),
                        Decimal(rng.randint(1200000, 4800000)) / 100,
                    )
                ]
                _one_claim(
                    people[name], today, rng.randint(0, 3), lines, rng, serial, now, story="wait"
                )
                counts["claims"] += 1
        # Two claims left at the finance step for days: the sweep escalates them.
        for name in ("sales2", "sales3"):
            serial += 1
            _one_claim(
                people[name],
                today,
                6,
                [("travel", Decimal("18600.00"))],
                rng,
                serial,
                now,
                story="first",
            )
            counts["claims"] += 1
        db.session.commit()
        counts["allocations"] = seed_it_allocation(people["finadmin"], today, rng)
        db.session.commit()
    return counts


#: The demo's shared cost: IT services paid by finance, split monthly by headcount.
IT_RULE = {
    "key": "it-by-headcount",
    "name_zh": "IT 费用按人数分摊",
    "name_en": "IT costs by headcount",
    "source_kind": "submission",
    "source_department": "FIN",
    "driver": "headcount",
    "receivers": ["HQ", "FIN", "SALES", "SALES-E", "RD", "HR"],
    "account": "other",
    "schedule": "monthly",
}


def seed_it_allocation(finadmin: User, today: date, rng: random.Random) -> int:
    """Each past month of this year: an approved IT services form (cost-allocation), then
    the IT rule run for the month, as the monthly job would have."""
    from .allocation import service as allocation

    rule = allocation.save_rule(finadmin, IT_RULE)
    runs = 0
    for month in range(1, today.month):
        day = date(today.year, month, 5)
        data = {
            "period": f"{day:%Y-%m}",
            "description": "IT 服务费（云服务与软件许可）/ IT services",
            "amount": _money(Decimal(36000 + 150 * month)),
            "shares": [{"department": "FIN", "percent": "100"}],
        }
        submission = forms_service.create(finadmin, "cost-allocation", data, today=day)
        db.session.flush()
        submitted = _at(day, 10, rng)
        _backdate(submission, submitted - timedelta(hours=1))
        engine.submit(finadmin, submission.id, submission.version, now=submitted)
        _decide_all(submission, _Clock(submitted, instance_clock.now()), rng, stop="approved")
        allocation.run(finadmin, rule, day.replace(day=1), now=_at(day, 16, rng))
        runs += 1
    return runs


def _one_claim(
    claimant: User,
    today: date,
    age: int,
    lines: list[tuple[str, Decimal]],
    rng: random.Random,
    serial: int,
    now: datetime,
    story: str | None = None,
) -> None:
    day = today - timedelta(days=age)
    if (
        story is None
        and (story := _story(rng, age)) in ("wait", "first", "return:finance")
        and sum(a for _, a in lines) < 10000
    ):
        lines = [(account, amount * 6) for account, amount in lines]  # big enough to need people
    submission = make_claim(claimant, day, lines, rng, serial=serial)
    created = min(_at(day, rng.randint(9, 17), rng), now - timedelta(minutes=30))
    _backdate(submission, created)
    if story == "draft":
        submission.updated_at = created
        return
    clock = _Clock(created, now)
    submitted = clock.later(rng, 0.2, 20)
    engine.submit(claimant, submission.id, submission.version, now=submitted)
    if story == "withdraw":
        if submission.status == SubmissionStatus.IN_REVIEW:
            engine.act(
                claimant,
                submission.id,
                "withdraw",
                version=submission.version,
                comment="重复提交 / duplicate",
                now=clock.later(rng, 1, 8),
            )
        return
    if story == "first" and age >= 5:
        # Manager approved on day one; finance has not looked at it since.
        clock.limit = min(now, submitted + timedelta(hours=20))
    assert story is not None  # chosen above when the caller gave none
    _decide_all(submission, clock, rng, stop=story)
