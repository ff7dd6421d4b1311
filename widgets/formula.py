"""Formula: a read-only value the server computes (`SUM(lines.amount)`), whatever clients send.

The expression is checked by the designer's validation; the value is presented by the widget of
its `result_type`, so a computed total looks exactly like a typed-in amount.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import ExportValue, FieldBase, PaletteEntry, ParseContext, Widget

#: Which widget presents each result type.
RESULT_WIDGETS = {
    "money": "money",
    "number": "number",
    "percent": "percent",
    "text": "text",
    "date": "date",
    "boolean": "checkbox",
}


NUMERIC_RESULTS = frozenset({"money", "number", "percent"})


class FormulaField(FieldBase):
    """A computed, read-only value."""

    type: Literal["formula"]
    expression: str = Field(min_length=1, max_length=4000)
    """The formula, without a leading `=`: `SUM(lines.amount)`, `q1 + q2 + q3 + q4`."""
    result_type: Literal["money", "number", "percent", "text", "date", "boolean"] = "money"
    """What the formula computes, which decides how it is shown and exported."""


class FormulaWidget(Widget):
    type_name = "formula"
    label = {"zh": "计算公式", "en": "Formula"}
    palette = PaletteEntry(
        category="advanced", icon="calculator", defaults={"expression": "", "result_type": "money"}
    )
    FieldModel = FormulaField
    computed = True
    connector_type = "number"
    #: The server recomputes the value and swaps the output in place (htmx, by its id).
    macros = """
{% macro render_input(w) -%}
<output id="computed-{{ w.name }}" class="computed money" aria-live="polite">{{ w.text }}</output>
{%- endmacro %}
{% macro render_readonly(w) -%}
{{ render_input(w) }}
{%- endmacro %}
{% macro render_design(w) -%}
<output class="computed money">= {{ w.field.expression }}</output>
{%- endmacro %}
"""

    def __init__(self) -> None:
        self._registry: Any = None

    def bind(self, registry: Any) -> None:
        self._registry = registry

    def _presenter(self, field: Any) -> tuple[Widget, FieldBase]:
        if self._registry is None:
            from .registry import default_registry

            self._registry = default_registry()
        widget = self._registry[RESULT_WIDGETS[field.result_type]]
        shadow = widget.FieldModel(key=field.key, type=widget.type_name, label=field.label)
        return widget, shadow

    def coerce(self, field: Any, result: Any, ctx: ParseContext | None = None) -> Any:
        """The canonical value of an evaluator's result (money quantized to 2 places, …)."""
        widget, shadow = self._presenter(field)
        if result is None:
            return None
        if field.result_type in NUMERIC_RESULTS:
            from decimal import ROUND_HALF_UP, Decimal

            places = widget.places(shadow)  # type: ignore[attr-defined]
            if places is not None and isinstance(result, Decimal):
                return result.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return widget.parse(shadow, result, ctx)

    def is_numeric(self, config: Any) -> bool:
        result = (
            config.get("result_type", "money")
            if isinstance(config, dict)
            else getattr(config, "result_type", "money")
        )
        return result in NUMERIC_RESULTS

    def report_kind(self, field: Any) -> str:
        if field.result_type in NUMERIC_RESULTS:
            return "number"
        return "date" if field.result_type == "date" else "text"

    def from_json(self, field: Any, raw: Any) -> Any:
        """The stored JSON of a computed value back to Python (a Decimal for numbers)."""
        if field.result_type in NUMERIC_RESULTS:
            from decimal import Decimal

            raw = Decimal(str(raw))
        return self.coerce(field, raw)

    def to_json(self, field: Any, value: Any) -> Any:
        widget, shadow = self._presenter(field)
        return widget.to_json(shadow, value)

    def display(self, field: Any, value: Any, locale: str) -> str:
        widget, shadow = self._presenter(field)
        return widget.display(shadow, value, locale)

    def export_value(self, field: Any, value: Any) -> ExportValue:
        widget, shadow = self._presenter(field)
        return widget.export_value(shadow, value)

    def workbook_hint(self, field: Any) -> str:
        return "自动计算，上传后由 Quire 计算 Computed by Quire when you upload"

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import StringField

        kwargs = self.form_field_kwargs(field, locale)
        kwargs["render_kw"] = {"readonly": True, "data-formula": field.expression}
        return StringField(**kwargs)


WIDGET = FormulaWidget()
