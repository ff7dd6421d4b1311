"""A synthetic expense ledger, for previews, the export benchmark and renderer tests.

It is generated lazily, so ``expense_ledger(100_000)`` costs no memory until rendered, and
deterministically, so a benchmark run renders the same rows as its baseline.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from quire.runtime.render.document import ChartSpec, Column, ReportDocument, Thresholds

DEPARTMENTS = ("财务部", "华东销售部", "研发中心", "人力资源部", "市场部")
STATUSES = ("草稿 Draft", "审批中 Pending", "已批准 Approved", "已付款 Paid")
CATEGORIES = ("差旅 Travel", "餐费 Meals", "办公用品 Office", "培训 Training", "招待 Hospitality")
DESCRIPTIONS = (
    "上海至北京高铁二等座往返",
    "客户拜访午餐（含税）",
    "打印纸与墨盒",
    "年度财务合规培训报名费",
    "Hotel in Shenzhen, 2 nights",
    "季度部门团建活动场地费用与交通补贴",
)

LEDGER_COLUMNS: tuple[Column, ...] = (
    Column("claim_no", {"zh": "单号", "en": "Claim"}, "text", width=2.4),
    Column("department", {"zh": "部门", "en": "Department"}, "text", width=2.4),
    Column("status", {"zh": "状态", "en": "Status"}, "text", width=2.4),
    Column("date", {"zh": "日期", "en": "Date"}, "date", width=2.0),
    Column("category", {"zh": "类别", "en": "Category"}, "text", width=2.4),
    Column("description", {"zh": "说明", "en": "Description"}, "text", width=5.0),
    Column(
        "amount",
        {"zh": "金额", "en": "Amount"},
        "money",
        width=2.2,
        thresholds=Thresholds(amber=Decimal("5000"), red=Decimal("8000")),
    ),
)


def ledger_rows(n: int, *, seed: int = 7, subtotal_every: int = 50) -> Iterator[dict[str, Any]]:
    """Yield ``n`` detail lines, with a department subtotal after every ``subtotal_every``."""
    rng = random.Random(seed)
    start = dt.date(2025, 1, 1)
    running = Decimal(0)
    thresholds = LEDGER_COLUMNS[-1].thresholds
    assert thresholds is not None
    for i in range(n):
        amount = Decimal(rng.randint(1_000, 999_999)) / 100
        running += amount
        flag = thresholds.flag_for(amount)
        row: dict[str, Any] = {
            "claim_no": f"EXP-2025-{i + 1:06d}",
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
            "status": STATUSES[rng.randrange(len(STATUSES))],
            "date": start + dt.timedelta(days=i % 365),
            "category": CATEGORIES[rng.randrange(len(CATEGORIES))],
            "description": DESCRIPTIONS[rng.randrange(len(DESCRIPTIONS))],
            "amount": amount,
        }
        if flag:
            row["_flags"] = {"amount": flag}
        yield row
        if subtotal_every and (i + 1) % subtotal_every == 0:
            yield {"claim_no": "小计 Subtotal", "amount": running, "_style": "subtotal"}
            running = Decimal(0)


def expense_ledger(
    n: int, *, chart: bool = False, orientation: str = "landscape", seed: int = 7
) -> ReportDocument:
    """An expense-ledger report of ``n`` lines whose rows stream from a generator."""
    spec = None
    if chart:
        values = [
            {"category": c, "amount": float(1000 * (i + 2))} for i, c in enumerate(CATEGORIES)
        ]
        spec = ChartSpec(
            vega_lite={
                "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
                "data": {"values": values},
                "mark": "bar",
                "encoding": {
                    "x": {"field": "category", "type": "nominal", "title": "类别 Category"},
                    "y": {"field": "amount", "type": "quantitative", "title": "金额 Amount"},
                },
                "width": 360,
                "height": 160,
            },
            kind="bar",
            category="category",
            values=("amount",),
            title={"zh": "按类别", "en": "By category"},
        )
    return ReportDocument(
        title={"zh": "费用明细账", "en": "Expense ledger"},
        subtitle={"zh": "2025 年度", "en": "FY2025"},
        company="示例集团有限公司 Example Group Ltd.",
        locale="zh_CN",
        orientation=orientation,  # type: ignore[arg-type]
        parameters=(("期间 Period", "2025-01 – 2025-12"), ("部门 Department", "全部 All")),
        columns=LEDGER_COLUMNS,
        rows=ledger_rows(n, seed=seed),
        totals=None,
        chart=spec,
        generated_at=dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        generated_by="王小明 Wang Xiaoming",
        template_key="expense-ledger",
        template_version=3,
    )
