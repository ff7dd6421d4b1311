"""Small report documents for the renderer tests (kept small so the suite stays fast)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from quire.runtime.render.document import ChartSpec, Column, ReportDocument, Thresholds

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

BUDGET_COLUMNS = (
    Column("dept", {"zh": "部门", "en": "Department"}, "text"),
    Column("note", {"zh": "说明", "en": "Note"}, "text"),
    Column("day", {"zh": "日期", "en": "Date"}, "date"),
    Column("count", {"zh": "笔数", "en": "Lines"}, "integer"),
    Column(
        "budget",
        {"zh": "预算", "en": "Budget"},
        "money",
        thresholds=Thresholds(amber=Decimal("9000"), red=Decimal("10000")),
    ),
    Column("used", {"zh": "执行率", "en": "Used"}, "percent"),
)


def budget_rows(n: int = 3) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rows.append(
            {
                "dept": "华东销售部" if i % 2 else "研发中心",
                "note": f"差旅 line {i + 1}",
                "day": dt.date(2025, 1, 1) + dt.timedelta(days=i),
                "count": i + 1,
                "budget": Decimal("25000.00") + i,
                "used": Decimal("0.915"),
            }
        )
    return rows


@pytest.fixture(name="budget_rows")
def budget_rows_fixture() -> Callable[[int], list[dict[str, Any]]]:
    return budget_rows


@pytest.fixture
def make_doc() -> Callable[..., ReportDocument]:
    def build(rows: Any = None, **overrides: Any) -> ReportDocument:
        fields: dict[str, Any] = {
            "title": {"zh": "部门预算执行表", "en": "Budget execution"},
            "subtitle": {"zh": "2025 年一季度", "en": "2025 Q1"},
            "company": "示例集团有限公司",
            "locale": "zh_CN",
            "orientation": "portrait",
            "parameters": (("期间 Period", "2025-Q1"), ("部门 Department", "全部 All")),
            "columns": BUDGET_COLUMNS,
            "rows": budget_rows() if rows is None else rows,
            "generated_at": dt.datetime(2025, 4, 2, 9, 15, tzinfo=SHANGHAI),
            "generated_by": "李娜 Li Na",
            "template_key": "budget-execution",
            "template_version": 4,
        }
        fields.update(overrides)
        return ReportDocument(**fields)

    return build


@pytest.fixture
def bar_chart() -> ChartSpec:
    return ChartSpec(
        vega_lite={
            "data": {
                "values": [
                    {"dept": "研发中心", "budget": 25000},
                    {"dept": "华东销售部", "budget": 18000},
                ]
            },
            "mark": "bar",
            "encoding": {
                "x": {"field": "dept", "type": "nominal"},
                "y": {"field": "budget", "type": "quantitative"},
            },
        },
        kind="bar",
        category="dept",
        values=("budget",),
        title={"zh": "按部门", "en": "By department"},
    )


def pdftotext_path() -> str:
    path = shutil.which("pdftotext")
    if path is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return path
