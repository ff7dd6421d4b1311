"""The finance dashboard: a few tiles and anomaly alerts, each drilling into its report.

Everything is read through the report engine or its scoped providers, so a tile never
counts a row its reader could not see in the report it links to.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median
from typing import Any

from ..models import User
from ..render.document import STYLE_KEY
from . import engine, sources

#: Spending this many times the same month last year raises an alert…
SPIKE_FACTOR = Decimal("1.5")
#: …when it is at least this much more in money.
SPIKE_MINIMUM = Decimal("1000")


@dataclass
class Alert:
    level: str  # "amber" | "red"
    text: str
    link: dict[str, Any] | None = None


@dataclass
class Dashboard:
    year: int
    execution: list[dict[str, Any]] = field(default_factory=list)
    execution_chart: dict[str, Any] | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)
    approval_time: list[dict[str, Any]] = field(default_factory=list)
    approval_chart: dict[str, Any] | None = None
    alerts: list[Alert] = field(default_factory=list)


def _bar(
    data: list[dict[str, Any]], category: str, value: str, title: str, fmt: str
) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": data},
        "mark": {"type": "bar", "tooltip": True},
        "width": 360,
        "height": 200,
        "encoding": {
            "x": {
                "field": category,
                "type": "nominal",
                "title": None,
                "sort": None,
                "axis": {"labelAngle": -30},
            },
            "y": {"field": value, "type": "quantitative", "title": title, "axis": {"format": fmt}},
        },
    }


def _t(locale: str, zh: str, en: str) -> str:
    return zh if locale.startswith("zh") else en


def build(user: User, *, locale: str = "zh_CN", today: dt.date | None = None) -> Dashboard:
    """The dashboard as ``user`` may see it (requires REPORT_READ)."""
    engine.require_reader(user)
    today = today or engine.local_now().date()
    board = Dashboard(year=today.year)
    _execution(board, user, locale, today)
    _approvals(board, user, locale, today)
    _spending_spikes(board, user, locale, today)
    return board


def _execution(board: Dashboard, user: User, locale: str, today: dt.date) -> None:
    result = engine.run(
        user,
        "budget-vs-actual",
        {"year": str(board.year), "dimension": "department"},
        locale=locale,
        today=today,
    )
    subtotals = [r for r in result.rows if r.get(STYLE_KEY) == "subtotal"]
    if result.charts:
        board.execution_chart = dict(result.charts[0].vega_lite)
    elapsed = today.month if board.year == today.year else 12
    for row in subtotals:
        budget, actual = row.get("budget") or Decimal(0), row.get("actual") or Decimal(0)
        rate = row.get("execution_rate")
        flag = (row.get("_flags") or {}).get("execution_rate")
        drill = (row.get("_links") or {}).get("department_name")
        entry = {
            "department": row.get("department"),
            "name": row.get("department_name"),
            "budget": budget,
            "actual": actual,
            "rate": rate,
            "flag": flag,
            "link": drill,
        }
        board.execution.append(entry)
        name = f"{row.get('department_name')} ({row.get('department')})"
        if flag and rate is not None:
            board.alerts.append(
                Alert(
                    flag,
                    _t(
                        locale,
                        f"{name} 预算执行率 {rate * 100:.1f}%",
                        f"{name} has used {rate * 100:.1f}% of its budget",
                    ),
                    drill,
                )
            )
        if budget > 0 and elapsed < 12:
            projected = actual / elapsed * 12
            if projected > budget and not flag == "red":
                share = projected / budget * 100
                board.alerts.append(
                    Alert(
                        "amber",
                        _t(
                            locale,
                            f"{name} 按当前支出速度，年末预计达到预算的 {share:.0f}%",
                            f"{name} is on course for {share:.0f}% of its budget by year end",
                        ),
                        drill,
                    )
                )
        # Accounts past 90 % (amber) or 100 % (red) of their budget, the budget warning
        # people act on before a department as a whole is in trouble.
        for line in result.rows:
            if line.get(STYLE_KEY) is not None or line.get("department") != row.get("department"):
                continue
            line_budget = Decimal(str(line.get("budget") or 0))
            line_actual = Decimal(str(line.get("actual") or 0))
            if line_budget <= 0 or line_actual < line_budget * Decimal("0.9"):
                continue
            over = line_actual > line_budget
            share = line_actual / line_budget * 100
            board.alerts.append(
                Alert(
                    "red" if over else "amber",
                    _t(
                        locale,
                        f"{name} 的 {line.get('account_name')} 已使用预算的 {share:.1f}%",
                        f"{name}: {line.get('account_name')} has used {share:.1f}% of its budget",
                    ),
                    drill,
                )
            )


def _approvals(board: Dashboard, user: User, locale: str, today: dt.date) -> None:
    rows = sources.approval_tasks(user, {}, sources.Filters(), locale)
    pending: dict[str, dict[str, Any]] = {}
    over_budget = 0
    for row in rows:
        if not row["open"]:
            continue
        entry = pending.setdefault(
            row["step"], {"step": row["step_name"], "pending": 0, "overdue": 0}
        )
        entry["pending"] += 1
        entry["overdue"] += 1 if row["overdue"] else 0
    board.pending = sorted(pending.values(), key=lambda e: -e["pending"])
    overdue = sum(e["overdue"] for e in board.pending)
    link = {"report": "approval-efficiency", "params": {"year": str(board.year)}}
    if overdue:
        board.alerts.append(
            Alert(
                "red",
                _t(locale, f"{overdue} 个审批任务已超时", f"{overdue} approval tasks are overdue"),
                link,
            )
        )
    from sqlalchemy import select

    from ..extensions import db
    from ..models import ApprovalTask, TaskStatus

    open_ids = [r["task_id"] for r in rows if r["open"]]
    if open_ids:
        for checks in db.session.scalars(
            select(ApprovalTask.checks).where(
                ApprovalTask.id.in_(open_ids), ApprovalTask.status == TaskStatus.OPEN
            )
        ):
            if isinstance(checks, dict) and checks.get("within_budget") is False:
                over_budget += 1
    if over_budget:
        board.alerts.append(
            Alert(
                "red",
                _t(
                    locale,
                    f"{over_budget} 张待审批报销单超出预算",
                    f"{over_budget} claims waiting for approval are over budget",
                ),
                {
                    "report": "expense-ledger",
                    "params": {"year": str(board.year), "status": "in_review"},
                },
            )
        )
    hours: dict[str, list[float]] = defaultdict(list)
    names: dict[str, str] = {}
    for row in rows:
        if row["decided"] and row["created_at"].year == board.year and row["hours"] is not None:
            hours[row["department"]].append(row["hours"])
            names[row["department"]] = row["department_name"]
    board.approval_time = [
        {
            "department": code,
            "name": names[code],
            "median_hours": round(median(values), 1),
            "decisions": len(values),
        }
        for code, values in sorted(hours.items())
    ]
    if board.approval_time:
        board.approval_chart = _bar(
            [{"name": e["name"], "hours": e["median_hours"]} for e in board.approval_time],
            "name",
            "hours",
            _t(locale, "审批用时中位数（小时）", "Median hours to decide"),
            ",.1f",
        )


def _spending_spikes(board: Dashboard, user: User, locale: str, today: dt.date) -> None:
    config = {"form": "expense-claim", "lines": "lines", "statuses": ["approved"]}

    def by_department(year: int) -> tuple[dict[str, Decimal], dict[str, str]]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        names: dict[str, str] = {}
        for row in sources.submission_lines(
            user, config, sources.Filters(year=year, month=today.month), locale
        ):
            totals[row["department"]] += row.get("amount") or Decimal(0)
            names[row["department"]] = row["department_name"]
        return totals, names

    now, names = by_department(today.year)
    before, _ = by_department(today.year - 1)
    for code, amount in sorted(now.items()):
        last = before.get(code, Decimal(0))
        if last > 0 and amount >= last * SPIKE_FACTOR and amount - last >= SPIKE_MINIMUM:
            times = amount / last
            who = f"{names[code]} ({code})"
            board.alerts.append(
                Alert(
                    "amber",
                    _t(
                        locale,
                        f"{who} 本月支出 {amount:,.2f}，为去年同月的 {times:.1f} 倍",
                        f"{who} spent {amount:,.2f} this month, "
                        f"{times:.1f}× the same month last year",
                    ),
                    {
                        "report": "expense-ledger",
                        "params": {
                            "year": str(today.year),
                            "month": str(today.month),
                            "department": code,
                        },
                    },
                )
            )
