"""Table: repeating rows whose columns are other widgets (expense lines, budget lines, shares).

Its columns may be any widget that `can_be_column`; which ones that is becomes known only when
the registry is complete, so `bind` rebuilds the field model with the registry's column union.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from .base import (
    MISSING,
    ExportValue,
    FieldBase,
    FieldValueError,
    PaletteEntry,
    ParseContext,
    Widget,
    field_error,
)


class TableField(FieldBase):
    """Repeating rows of columns."""

    type: Literal["table"]
    columns: list[ColumnField] = Field(min_length=1, max_length=50)  # noqa: F821
    """The columns: fields of any widget except tables and layout widgets."""
    min_rows: int = Field(default=0, ge=0, le=10000)
    """Fewest rows accepted."""
    max_rows: int = Field(default=500, ge=1, le=10000)
    """Most rows accepted."""
    totals: list[str] = Field(default_factory=list)
    """Keys of numeric columns summed under the table."""

    def column(self, key: str) -> FieldBase | None:
        return next((c for c in self.columns if c.key == key), None)


class TableWidget(Widget):
    type_name = "table"
    label = {"zh": "明细表", "en": "Table"}
    palette = PaletteEntry(
        category="advanced",
        icon="table",
        defaults={"columns": [], "min_rows": 1, "max_rows": 100},
    )
    FieldModel = TableField
    excel_format = "table"
    can_be_column = False
    repeats = True
    connector_type = None
    #: On the canvas: the header and one row of the columns' own design inputs. Filled forms,
    #: read-only pages and print copies draw rows with the form page's table layout
    #: (`forms/_fields.html`), whose every cell is again the column widget's macro.
    macros = """
{% macro render_design(w) -%}
<div class="form-table"><div class="table-scroll"><table>
  <thead><tr><th class="rowno">#</th>
    {%- for c in w.field.columns %}<th>{{ w.child(c).label }}</th>{% endfor %}</tr></thead>
  <tbody><tr><td class="rowno">1</td>
    {%- for c in w.field.columns %}<td>{{ render_widget(w.child(c)) }}</td>{% endfor %}</tr></tbody>
</table></div></div>
{%- endmacro %}
"""

    def __init__(self) -> None:
        self._registry: Any = None

    def bind(self, registry: Any) -> None:
        self._registry = registry
        union = registry.field_union(columns_only=True)
        # Once resolved, an annotation is not looked up again: set it, then rebuild the schema.
        TableField.__pydantic_fields__["columns"].annotation = list[union]  # type: ignore[valid-type]
        TableField.model_rebuild(force=True, _types_namespace={"ColumnField": union})

    def column_widget(self, column: FieldBase) -> Widget:
        if self._registry is None:
            from .registry import default_registry

            self._registry = default_registry()
        return self._registry.for_field(column)

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> list[dict[str, Any]]:
        """Parse every cell by its column's widget; errors name the cell (`lines[2].amount`),
        counting rows from 0 as JSON paths do, and every bad cell is reported."""
        name, key = self.name_of(field), field.key
        if isinstance(raw, dict) and all(k.isascii() and k.isdigit() for k in raw):
            raw = [raw[k] for k in sorted(raw, key=int)]  # form posts number their rows
        if not isinstance(raw, list):
            raise field_error("%(name)s must be a list of rows", name=name)
        errors: list[FieldValueError] = []
        if len(raw) < field.min_rows:
            errors.append(
                field_error("%(name)s needs at least %(n)s rows", name=name, n=field.min_rows)
            )
        if len(raw) > field.max_rows:
            raise field_error("%(name)s may have at most %(n)s rows", name=name, n=field.max_rows)
        known = {column.key for column in field.columns}
        rows: list[dict[str, Any]] = []
        for index, row in enumerate(raw):
            here = f"{key}[{index}]"
            if not isinstance(row, dict):
                errors.append(field_error("row %(n)s must be an object", here, n=index + 1))
                continue
            for extra in sorted(set(row) - known, key=str):
                errors.append(
                    field_error("unknown column “%(column)s”", f"{here}.{extra}", column=extra)
                )
            parsed: dict[str, Any] = {}
            for column in field.columns:
                try:
                    parsed[column.key] = self.column_widget(column).parse(
                        column, row.get(column.key), ctx
                    )
                except FieldValueError as exc:
                    for error in exc.errors:
                        errors.append(
                            field_error(
                                "row %(n)s: %(message)s",
                                f"{here}.{column.key}",
                                n=index + 1,
                                message=error,
                            )
                        )
            rows.append(parsed)
        if errors:
            raise FieldValueError.collect(errors)
        return rows

    def from_form(self, field: Any, name: str, form: Any, getlist: Any = None) -> Any:
        """Rows posted as `lines-2-amount`, each cell read by its column's widget."""
        pattern = re.compile(rf"^{re.escape(name)}-(\d+)-[a-z][a-z0-9_]*")
        indexes = sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})
        rows = []
        for index in indexes:
            row = {}
            for column in field.columns:
                widget = self.column_widget(column)
                if widget.computed:
                    continue
                raw = widget.from_form(column, f"{name}-{index}-{column.key}", form, getlist)
                if raw is not MISSING:
                    row[column.key] = raw
            rows.append(row)
        return rows

    def to_json(self, field: Any, value: Any) -> Any:
        if value is None:
            return []
        return [
            {c.key: self.column_widget(c).to_json(c, row.get(c.key)) for c in field.columns}
            for row in value
        ]

    def totals(self, field: Any, rows: list[dict[str, Any]]) -> dict[str, Decimal]:
        """The sums shown under the table, for the columns listed in `totals`."""
        sums: dict[str, Decimal] = {}
        for key in field.totals:
            values = [row.get(key) for row in rows or ()]
            sums[key] = sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))
        return sums

    def display(self, field: Any, value: Any, locale: str) -> str:
        count = len(value or ())
        return f"{count} 行" if locale.lower().startswith("zh") else f"{count} rows"

    def export_value(self, field: Any, value: Any) -> ExportValue:
        # Renderers lay a table out row by row with its columns' own export values.
        return ExportValue(None, self.excel_format)

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import FieldList, Form, FormField

        row_fields = {
            column.key: self.column_widget(column).form_field(column, locale)
            for column in field.columns
        }
        row_form = type(
            f"{field.key.title()}Row",
            (Form,),
            {key: unbound for key, unbound in row_fields.items() if unbound is not None},
        )
        return FieldList(
            FormField(row_form),
            label=field.label.text(locale),
            min_entries=max(field.min_rows, 1),
            max_entries=field.max_rows,
        )


WIDGET = TableWidget()
