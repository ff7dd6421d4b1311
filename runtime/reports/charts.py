"""The chart of a report: one Vega-Lite spec for the web and the PDF (the Excel renderer draws
a native chart from the same spec's data)."""

from __future__ import annotations

from typing import Any

from quire.designer.model import ReportChart
from quire.widgets.base import Bilingual, localized

from ..render.document import FLAGS_KEY, STYLE_KEY, ChartSpec
from .result import COMPANION_SUFFIX, ResultColumn

#: Largest number of points a chart plots.
MAX_CHART_POINTS = 200


def chart(
    spec: ReportChart,
    result_columns: list[ResultColumn],
    rows: list[dict[str, Any]],
    subtotal_by: str | None,
    locale: str,
    pivot_columns: list[str] | None = None,
) -> ChartSpec | None:
    """The chart ``spec`` draws from these rows, or None when there is nothing to plot.
    A chart without ``values`` plots each value column of a cross-tab (``pivot_columns``)."""
    use_subtotals = spec.rows == "subtotals" and subtotal_by is not None
    chosen = [r for r in rows if (r.get(STYLE_KEY) == "subtotal") == use_subtotals]
    chosen = chosen[:MAX_CHART_POINTS]
    if not chosen:
        return None
    by_key = {c.key: c for c in result_columns}
    values = [v for v in (spec.values or pivot_columns or []) if v in by_key]
    if not values:
        return None
    category = spec.category
    if category not in chosen[0]:
        fallbacks = [f"{subtotal_by}{COMPANION_SUFFIX}", subtotal_by] if subtotal_by else []
        fallbacks += [c.key for c in result_columns if c.type == "text"]
        category = next((c for c in fallbacks if c and c in chosen[0]), None)
        if category is None:
            return None
    data = []
    for row in chosen:
        point: dict[str, Any] = {category: str(row.get(category) or "")}
        for v in values:
            number = row.get(v)
            point[v] = float(number) if number is not None else None
        flag = (row.get(FLAGS_KEY) or {}).get(values[0])
        point["flag"] = flag or "ok"
        data.append(point)
    first = by_key[values[0]]
    axis: dict[str, Any] = {"format": ".0%"} if first.type == "percent" else {"format": ",.0f"}
    category_title = by_key[category].label(locale) if category in by_key else category
    encoding: dict[str, Any] = {
        "x": {
            "field": category,
            "type": "nominal",
            "title": category_title,
            "sort": None,
            "axis": {"labelAngle": -30},
        },
    }
    vega: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": data},
        "width": 520,
        "height": 240,
    }
    if len(values) == 1:
        encoding["y"] = {
            "field": values[0],
            "type": "quantitative",
            "title": first.label(locale),
            "axis": axis,
        }
        if first.thresholds is not None:
            encoding["color"] = {
                "field": "flag",
                "type": "nominal",
                "legend": None,
                "scale": {
                    "domain": ["ok", "amber", "red"],
                    "range": ["#4C78A8", "#E8A33D", "#D6404E"],
                },
            }
        vega["mark"] = {"type": spec.kind if spec.kind != "pie" else "arc", "tooltip": True}
        if spec.kind == "pie":
            vega["mark"] = {"type": "arc", "tooltip": True}
            encoding = {
                "theta": {"field": values[0], "type": "quantitative"},
                "color": {"field": category, "type": "nominal", "title": category_title},
            }
    else:
        # Series names come from a lookup table, never spliced into a Vega expression: a
        # cross-tab's column values are the data's own text.
        series = [
            {"series_key": v, "series": by_key[v].label(locale), "series_order": i}
            for i, v in enumerate(values)
        ]
        vega["transform"] = [
            {"fold": values, "as": ["series_key", "value"]},
            {
                "lookup": "series_key",
                "from": {
                    "data": {"values": series},
                    "key": "series_key",
                    "fields": ["series", "series_order"],
                },
            },
        ]
        encoding["y"] = {"field": "value", "type": "quantitative", "title": None, "axis": axis}
        encoding["color"] = {
            "field": "series",
            "type": "nominal",
            "title": None,
            "sort": [s["series"] for s in series],
        }
        if spec.stacked:
            encoding["y"]["stack"] = "zero"
            encoding["order"] = {"field": "series_order", "type": "quantitative"}
        else:
            encoding["xOffset"] = {"field": "series"}
        vega["mark"] = {"type": spec.kind, "tooltip": True}
    vega["encoding"] = encoding
    title = spec.title or Bilingual(**{"zh": "图表", "en": "Chart"})
    if spec.title:
        vega["title"] = localized(spec.title, locale)
    return ChartSpec(
        vega_lite=vega,
        kind=spec.kind,
        category=category,
        values=tuple(values),
        title={"zh": title.zh, "en": title.en},
        stacked=spec.stacked,
    )
