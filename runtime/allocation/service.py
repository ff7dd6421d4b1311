"""Cost allocation: collect a shared cost for a month, split it by a driver, book the shares.

A run reads the rule's source (ERP ledger actuals of a cost centre or account, or the month's
approved ``cost-allocation`` forms), weighs the receiving departments by the driver (fixed
percentages, headcount, a measure kept as a data source, or the form's own percentages) and
writes one line per department. Shares always sum to the source to the cent: each share is
cut down to the cent, and the cents left over go one each to the departments with the largest
remainders (ties by department code). Re-running a month replaces that month's lines.

Functions take the actor (None for the monthly job) and the moment; no Flask here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .. import access, audit
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound, QuireError
from ..extensions import db
from ..forms.revisions import in_effect
from ..models import (
    AllocationLine,
    AllocationRule,
    AllocationRun,
    Department,
    FormTemplate,
    Submission,
    SubmissionStatus,
    User,
    UserStatus,
)

log = logging.getLogger("quire.allocation")

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SOURCE_KINDS = ("ledger", "submission")
DRIVERS = ("fixed", "headcount", "measure", "form_shares")
SCHEDULES = ("manual", "monthly")
ALLOCATION_FORM = "cost-allocation"
DEFAULT_ACCOUNT = "other"
#: Ledger rows read for one run, at most.
MAX_SOURCE_ROWS = 200_000


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip()) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


# --- the split ---------------------------------------------------------------------------------
def split(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """``amount`` shared in proportion to ``weights``, to the cent, summing exactly to it
    (largest remainder; ties go to the department code that sorts first)."""
    positive = {k: Decimal(w) for k, w in weights.items() if Decimal(w) > 0}
    total_weight = sum(positive.values(), Decimal(0))
    if total_weight <= 0:
        raise Invalid(
            "The driver gives no department a share.",
            [Detail("driver", "every receiving department's driver value is zero")],
        )
    cents = int((amount.quantize(CENT) / CENT).to_integral_value())
    sign, cents = (-1 if cents < 0 else 1), abs(cents)
    exact = {k: Decimal(cents) * w / total_weight for k, w in positive.items()}
    floors = {k: int(v) for k, v in exact.items()}
    left = cents - sum(floors.values())
    for key in sorted(positive, key=lambda k: (-(exact[k] - floors[k]), k))[:left]:
        floors[key] += 1
    return {k: (sign * Decimal(floors[k]) * CENT).quantize(CENT) for k in sorted(positive)}


# --- rules -------------------------------------------------------------------------------------
def _department(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code))


def _month(value: Any) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        year, month = text[:7].split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def parse_month(value: Any) -> date:
    """A run's month from ``YYYY-MM``; a clear error otherwise."""
    found = _month(value)
    if found is None:
        raise Invalid("Please check the month.", [Detail("month", "must be a month (YYYY-MM)")])
    return found


def parse_percentages(value: Any) -> dict[str, str]:
    """``SALES=40, RD=60`` (or a mapping) → {code: "40"}."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    found: dict[str, str] = {}
    for part in str(value or "").replace("\n", ",").split(","):
        if part.strip():
            code, _, percent = part.partition("=")
            found[code.strip()] = percent.strip()
    return found


def save_rule(
    actor: User, raw: Mapping[str, Any], rule: AllocationRule | None = None
) -> AllocationRule:
    """Create or change a rule, reporting every problem by field name."""
    if not access.may_manage_budgets(actor):
        raise Forbidden("Only finance administrators keep allocation rules.")
    problems: list[Detail] = []
    key = str(raw.get("key") or (rule.key if rule else "")).strip()
    if not key or len(key) > 64 or not all(c.isalnum() or c in "-_" for c in key):
        problems.append(Detail("key", "letters, digits, - and _ only, at most 64"))
    elif rule is None and db.session.scalar(
        select(AllocationRule).where(AllocationRule.key == key)
    ):
        problems.append(Detail("key", f"a rule {key} exists already"))
    names = {n: str(raw.get(n) or "").strip() for n in ("name_zh", "name_en")}
    for name, text in names.items():
        if not text or len(text) > 200:
            problems.append(Detail(name, "is required (at most 200 characters)"))
    source_kind = str(raw.get("source_kind") or "")
    if source_kind not in SOURCE_KINDS:
        problems.append(Detail("source_kind", "must be ledger or submission"))
    driver = str(raw.get("driver") or "")
    if driver not in DRIVERS:
        problems.append(Detail("driver", "must be one of " + ", ".join(DRIVERS)))
    receivers = raw.get("receivers") or []
    if isinstance(receivers, str):
        receivers = [r.strip() for r in receivers.split(",") if r.strip()]
    for code in receivers:
        if _department(code) is None:
            problems.append(Detail("receivers", f"unknown department {code!r}"))
    if not receivers:
        problems.append(Detail("receivers", "name at least one receiving department"))
    source_code = str(raw.get("source_department") or "").strip()
    source_department = _department(source_code) if source_code else None
    if source_code and source_department is None:
        problems.append(Detail("source_department", f"unknown department {source_code!r}"))
    if source_kind == "ledger" and not str(raw.get("source_datasource") or "").strip():
        problems.append(Detail("source_datasource", "name the ledger data source"))
    percentages = parse_percentages(raw.get("percentages"))
    if driver == "fixed":
        values = [_decimal(v) for v in percentages.values()]
        if set(percentages) != set(receivers) or any(v is None or v < 0 for v in values):
            problems.append(Detail("percentages", "give each receiving department a percentage"))
        elif sum(v for v in values if v is not None) != 100:
            problems.append(Detail("percentages", "must add up to exactly 100"))
    if driver == "measure":
        for name in ("driver_datasource", "driver_query", "driver_column"):
            if not str(raw.get(name) or "").strip():
                problems.append(Detail(name, "is required for a measure driver"))
    if driver == "form_shares" and source_kind != "submission":
        problems.append(Detail("driver", "the form's own shares need a submission source"))
    schedule = str(raw.get("schedule") or "manual")
    if schedule not in SCHEDULES:
        problems.append(Detail("schedule", "must be manual or monthly"))
    period_from, period_until = _month(raw.get("period_from")), _month(raw.get("period_until"))
    for name, parsed in (("period_from", period_from), ("period_until", period_until)):
        if raw.get(name) and parsed is None:
            problems.append(Detail(name, "must be a month (YYYY-MM)"))
    if period_from and period_until and period_until < period_from:
        problems.append(Detail("period_until", "must not be before period_from"))
    if problems:
        raise Invalid("Please check the allocation rule.", problems)
    creating = rule is None
    rule = rule or AllocationRule(key=key, created_by_id=actor.id)
    rule.name_zh, rule.name_en = names["name_zh"], names["name_en"]
    rule.source_kind, rule.driver = source_kind, driver
    rule.source_datasource = str(raw.get("source_datasource") or "").strip() or None
    rule.source_cost_center = str(raw.get("source_cost_center") or "").strip() or None
    rule.source_account = str(raw.get("source_account") or "").strip() or None
    rule.source_department = source_department
    rule.percentages = percentages if driver == "fixed" else None
    for name in ("driver_datasource", "driver_query", "driver_column"):
        setattr(rule, name, str(raw.get(name) or "").strip() or None)
    rule.receivers = list(dict.fromkeys(receivers))
    rule.account = str(raw.get("account") or "").strip() or None
    rule.schedule = schedule
    rule.period_from, rule.period_until = period_from, period_until
    rule.active = str(raw.get("active", "1")).lower() not in ("0", "false", "off", "")
    db.session.add(rule)
    db.session.flush()
    audit.record(
        actor,
        "allocation.rule.create" if creating else "allocation.rule.update",
        object_type="allocation_rule",
        object_id=rule.id,
        changes={"key": rule.key, "source": source_kind, "driver": driver, "receivers": receivers},
    )
    return rule


def rule_by_id(rule_id: int) -> AllocationRule:
    rule = db.session.get(AllocationRule, rule_id)
    if rule is None:
        raise NotFound("No such allocation rule.")
    return rule


# --- sources and drivers -----------------------------------------------------------------------
@dataclass
class Source:
    """The pooled cost of one month, where it came from, and (for ledger sources) the
    department and account it was booked to, so the run can move it out."""

    amount: Decimal
    #: (department code, account) → amount, for ledger sources.
    booked: dict[tuple[str, str], Decimal]
    #: Approved cost-allocation forms read (submission sources).
    submissions: list[Submission]


def _ledger_source(rule: AllocationRule, period: date) -> Source:
    from ..datasources import service as datasources

    source = datasources.find_source(rule.source_datasource or "")
    if source is None:
        raise Invalid(
            "The rule reads a data source that is not set up.",
            [Detail("source_datasource", f"no data source {rule.source_datasource!r}")],
        )
    params: dict[str, Any] = {"year": period.year}
    if rule.source_department is not None:
        params["department"] = [rule.source_department.code]
    if rule.source_account:
        params["account"] = [rule.source_account]
    rows = datasources.fetch(source, "actuals", params, MAX_SOURCE_ROWS)
    month = f"{period:%Y-%m}"
    booked: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        if str(row.get("period")) != month:
            continue
        if rule.source_cost_center and str(row.get("cost_center")) != rule.source_cost_center:
            continue
        if rule.source_account and str(row.get("account")) != rule.source_account:
            continue
        amount = _decimal(row.get("amount"))
        if amount is not None:
            booked[(str(row.get("department")), str(row.get("account")))] += amount
    booked = {k: v.quantize(CENT) for k, v in booked.items()}
    return Source(sum(booked.values(), ZERO), booked, [])


def _form_source(rule: AllocationRule, period: date) -> Source:
    stmt = (
        select(Submission)
        .join(FormTemplate, FormTemplate.id == Submission.template_id)
        .where(
            FormTemplate.key == ALLOCATION_FORM,
            Submission.status == SubmissionStatus.APPROVED,
            in_effect(),
            Submission.period == period,
        )
        .order_by(Submission.id)
    )
    if rule.source_department is not None:
        stmt = stmt.where(Submission.department_id == rule.source_department_id)
    found = list(db.session.scalars(stmt))
    amount = sum((_decimal(s.data.get("amount")) or ZERO for s in found), ZERO)
    return Source(amount.quantize(CENT), {}, found)


def read_source(rule: AllocationRule, period: date) -> Source:
    if rule.source_kind == "ledger":
        return _ledger_source(rule, period)
    return _form_source(rule, period)


def headcount(codes: list[str]) -> dict[str, Decimal]:
    """Active people per department, as the HR directory keeps them in sync."""
    rows = db.session.execute(
        select(Department.code, func.count(User.id))
        .join(User, User.department_id == Department.id)
        .where(Department.code.in_(codes), User.status != UserStatus.LEFT)
        .group_by(Department.code)
    ).all()
    counts = dict.fromkeys(codes, Decimal(0))
    counts.update({code: Decimal(n) for code, n in rows})
    return counts


def _measure(rule: AllocationRule, period: date) -> dict[str, Decimal]:
    from ..datasources import service as datasources

    source = datasources.find_source(rule.driver_datasource or "")
    if source is None:
        raise Invalid(
            "The rule's driver reads a data source that is not set up.",
            [Detail("driver_datasource", f"no data source {rule.driver_datasource!r}")],
        )
    rows = datasources.fetch(source, rule.driver_query or "", {}, 10_000)
    values: dict[str, Decimal] = dict.fromkeys(rule.receivers, Decimal(0))
    for row in rows:
        code = str(row.get("department") or "")
        value = _decimal(row.get(rule.driver_column or ""))
        if code in values and value is not None:
            values[code] += value
    return values


def driver_values(rule: AllocationRule, period: date, source: Source) -> dict[str, Decimal]:
    """Each receiving department's driver value (percent, people, m², …)."""
    if rule.driver == "fixed":
        return {
            code: Decimal(str((rule.percentages or {}).get(code, 0))) for code in rule.receivers
        }
    if rule.driver == "headcount":
        return headcount(rule.receivers)
    if rule.driver == "measure":
        return _measure(rule, period)
    weights: dict[str, Decimal] = dict.fromkeys(rule.receivers, Decimal(0))
    for submission in source.submissions:
        amount = _decimal(submission.data.get("amount")) or ZERO
        for share in submission.data.get("shares") or []:
            code = str(share.get("department") or "") if isinstance(share, Mapping) else ""
            if code in weights:
                weights[code] += amount * (_decimal(share.get("percent")) or ZERO) / 100
    return weights


# --- running -----------------------------------------------------------------------------------
def _in_period(rule: AllocationRule, period: date) -> bool:
    return (rule.period_from is None or rule.period_from <= period) and (
        rule.period_until is None or period <= rule.period_until
    )


def run(actor: User | None, rule: AllocationRule, period: date, *, now: datetime) -> AllocationRun:
    """Allocate one month; a month already allocated by this rule gets its lines replaced."""
    if actor is not None and not access.may_manage_budgets(actor):
        raise Forbidden("Only finance administrators run cost allocation.")
    period = period.replace(day=1)
    if not rule.active or not _in_period(rule, period):
        raise Conflict(f"The rule {rule.key} does not apply to {period:%Y-%m}.")
    source = read_source(rule, period)
    values = driver_values(rule, period, source)
    shares = split(source.amount, values) if source.amount else {}
    weight_total = sum((v for v in values.values() if v > 0), Decimal(0))
    account = rule.account or rule.source_account or DEFAULT_ACCOUNT
    existing = db.session.scalar(
        select(AllocationRun).where(
            AllocationRun.rule_id == rule.id, AllocationRun.period == period
        )
    )
    if existing is not None:
        db.session.execute(delete(AllocationLine).where(AllocationLine.run_id == existing.id))
        existing.times += 1
        target = existing
    else:
        target = AllocationRun(rule=rule, period=period, times=1)
        db.session.add(target)
    target.source_amount = source.amount
    target.ran_by_id = actor.id if actor is not None else None
    target.ran_at = now
    target.details = {
        "driver": rule.driver,
        "values": {k: str(v) for k, v in values.items()},
        "booked": [[d, a, str(v)] for (d, a), v in sorted(source.booked.items())],
        "submissions": [s.number for s in source.submissions],
        "rounding": "largest remainder, ties by department code",
    }
    departments = {
        d.code: d
        for d in db.session.scalars(
            select(Department).where(
                Department.code.in_([*shares, *(d for d, _a in source.booked)])
            )
        )
    }
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("This month is being allocated by someone else; try again.") from exc
    for code, amount in shares.items():
        db.session.add(
            AllocationLine(
                run_id=target.id,
                rule_id=rule.id,
                period=period,
                department_id=departments[code].id,
                account=account,
                amount=amount,
                kind="in",
                driver_value=values[code],
                percent=(values[code] / weight_total * 100).quantize(Decimal("0.0001")),
            )
        )
    for (code, booked_account), amount in sorted(source.booked.items()):
        if code in departments and amount:
            db.session.add(
                AllocationLine(
                    run_id=target.id,
                    rule_id=rule.id,
                    period=period,
                    department_id=departments[code].id,
                    account=booked_account,
                    amount=-amount,
                    kind="out",
                )
            )
    audit.record(
        actor,
        "allocation.run",
        object_type="allocation_run",
        object_id=target.id,
        changes={
            "rule": rule.key,
            "period": f"{period:%Y-%m}",
            "source_amount": str(source.amount),
            "shares": {k: str(v) for k, v in shares.items()},
            "times": target.times,
        },
    )
    db.session.flush()
    return target


def previous_month(today: date) -> date:
    first = today.replace(day=1)
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


def run_monthly(now: datetime | None = None) -> dict[str, int]:
    """The monthly job: last month for every active monthly rule, each in its own transaction."""
    from ..approvals.engine import local_day
    from ..models import utcnow

    now = now or utcnow()
    period = previous_month(local_day(now))
    done = {"ran": 0, "failed": 0}
    rules = db.session.scalars(
        select(AllocationRule).where(
            AllocationRule.active.is_(True), AllocationRule.schedule == "monthly"
        )
    ).all()
    for rule in rules:
        if not _in_period(rule, period):
            continue
        try:
            run(None, rule, period, now=now)
            db.session.commit()
            done["ran"] += 1
        except QuireError as exc:
            db.session.rollback()
            log.warning("allocation %s for %s failed: %s", rule.key, period, exc.message)
            done["failed"] += 1
    return done


def runs_of(rule: AllocationRule) -> list[AllocationRun]:
    return list(
        db.session.scalars(
            select(AllocationRun)
            .where(AllocationRun.rule_id == rule.id)
            .order_by(AllocationRun.period.desc())
        )
    )
