"""From what a person sent to the stored form data: parse, keep, compute, check.

One implementation for the web form, the API and uploaded workbooks: every value is
parsed by its widget on the server whatever the browser did, fields the person may not
edit keep their stored value, computed fields (``total``, ``annual``) are recomputed
with the formula language, and the template's rules are checked before submitting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from quire.designer.formula import FormulaError, parse
from quire.designer.model import Template
from quire.widgets.base import FieldBase, FieldValueError, ParseContext
from quire.widgets.registry import default_registry

from ..errors import Detail

AccessMap = Mapping[str, str]


def widgets():  # type: ignore[no-untyped-def]
    return default_registry()


def value_fields(template: Template) -> list[FieldBase]:
    """Fields that hold a value (not headers or static text)."""
    registry = widgets()
    return [f for f in template.fields if registry.for_field(f).has_value]


def is_computed(f: FieldBase) -> bool:
    return widgets().for_field(f).computed


def relaxed(f: FieldBase) -> FieldBase:
    """The field without its required flags (drafts may be incomplete)."""
    update: dict[str, Any] = {"required": False}
    columns = getattr(f, "columns", None)
    if columns:
        update["columns"] = [relaxed(c) for c in columns]
    if getattr(f, "min_rows", 0):
        update["min_rows"] = 0
    return f.model_copy(update=update)


@dataclass
class Outcome:
    """The result of processing: canonical JSON data, Python values, problems by path."""

    data: dict[str, Any]
    values: dict[str, Any]
    errors: list[Detail] = field(default_factory=list)
    #: Field keys the person sent but may not change (kept as stored; audited).
    ignored: list[str] = field(default_factory=list)


def to_python(
    template: Template, data: Mapping[str, Any], ctx: ParseContext | None = None
) -> dict[str, Any]:
    """Stored JSON back to Python values (Decimal, date, rows)."""
    registry = widgets()
    values: dict[str, Any] = {}
    for f in value_fields(template):
        widget = registry.for_field(f)
        raw = data.get(f.key)
        if widget.computed:
            values[f.key] = computed_from_json(f, raw)
            continue
        try:
            values[f.key] = widget.parse(relaxed(f), raw, ctx)
        except FieldValueError:
            values[f.key] = None
    return values


def computed_from_json(f: FieldBase, raw: Any) -> Any:
    """A computed field's stored JSON as its Python value (parsing skips computed values)."""
    if raw in (None, ""):
        return None
    try:
        return widgets().for_field(f).from_json(f, raw)
    except (FieldValueError, ArithmeticError, ValueError):
        return None


def to_json(template: Template, values: Mapping[str, Any]) -> dict[str, Any]:
    registry = widgets()
    return {
        f.key: registry.for_field(f).to_json(f, values.get(f.key)) for f in value_fields(template)
    }


def formula_context(values: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    context = dict(values)
    for name, value in (extra or {}).items():
        # Engine facts like submitter.department are read as a one-row "table".
        context[name] = [value] if isinstance(value, dict) else value
    return context


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _default_value(
    source: str, values: Mapping[str, Any], extra: Mapping[str, Any], ctx: ParseContext
) -> Any:
    """A default's value. A bare fact such as ``submitter.department`` is read directly:
    the formula language treats dotted names as table columns, which a fact is not."""
    name = source.strip()
    head, _, tail = name.partition(".")
    fact = extra.get(head)
    if tail and isinstance(fact, dict) and tail in fact:
        return fact[tail]
    return _single(parse(source).evaluate(formula_context(values, extra), today=ctx.today))


def apply_defaults(
    template: Template, values: dict[str, Any], extra: Mapping[str, Any], ctx: ParseContext
) -> None:
    """Fill empty fields that declare a default (a literal or ``=formula``)."""
    registry = widgets()
    for f in value_fields(template):
        if f.default is None or values.get(f.key) not in (None, "", []):
            continue
        widget = registry.for_field(f)
        try:
            if f.default_formula:
                values[f.key] = widget.parse(
                    relaxed(f), _default_value(f.default_formula, values, extra, ctx), ctx
                )
            else:
                values[f.key] = widget.parse(relaxed(f), f.default, ctx)
        except (FormulaError, FieldValueError):
            continue


def compute(
    template: Template, values: dict[str, Any], extra: Mapping[str, Any] | None, today: date
) -> list[Detail]:
    """Recompute every formula field and formula column; problems become field errors."""
    registry = widgets()
    errors: list[Detail] = []
    formulas = [f for f in value_fields(template) if registry.for_field(f).computed]
    tables = [f for f in value_fields(template) if getattr(f, "columns", None)]
    # Formulas may read each other; the validator forbids cycles, so len(formulas)+1 passes settle.
    for _ in range(len(formulas) + 1):
        errors = []
        for table in tables:
            column_formulas = [c for c in table.columns if registry.for_field(c).computed]
            for index, row in enumerate(values.get(table.key) or []):
                for column in column_formulas:
                    context = formula_context({**values, **row}, extra)
                    try:
                        result = parse(column.expression).evaluate(context, today=today)
                        row[column.key] = registry.for_field(column).coerce(column, result)
                    except (FormulaError, FieldValueError) as exc:
                        row[column.key] = None
                        errors.append(Detail(f"{table.key}[{index}].{column.key}", _message(exc)))
        for f in formulas:
            try:
                result = parse(f.expression).evaluate(formula_context(values, extra), today=today)
                values[f.key] = registry.for_field(f).coerce(f, result)
            except (FormulaError, FieldValueError) as exc:
                values[f.key] = None
                errors.append(Detail(f.key, _message(exc)))
    return errors


def _message(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)


def check_rules(
    template: Template,
    values: Mapping[str, Any],
    extra: Mapping[str, Any] | None,
    today: date,
    locale: str = "en",
) -> list[Detail]:
    """The template's cross-field rules; each failure is reported at its field."""
    problems: list[Detail] = []
    context = formula_context(values, extra)
    for rule in template.rules:
        try:
            if rule.when and not parse(rule.when).evaluate(context, today=today):
                continue
            if parse(rule.assert_).evaluate(context, today=today):
                continue
        except FormulaError as exc:
            problems.append(Detail(rule.field or f"rules.{rule.key}", _message(exc)))
            continue
        message = rule.message.text(locale) if rule.message else f"rule {rule.key} is not met"
        problems.append(Detail(rule.field or rule.key, message))
    return problems


def check_complete(
    template: Template, values: Mapping[str, Any], ctx: ParseContext
) -> list[Detail]:
    """Required fields and table rows, checked when submitting (drafts may be incomplete)."""
    registry = widgets()
    problems: list[Detail] = []
    for f in value_fields(template):
        widget = registry.for_field(f)
        if widget.computed:
            continue
        try:
            widget.parse(f, widget.to_json(f, values.get(f.key)), ctx)
        except FieldValueError as exc:
            problems.extend(Detail(e.path or f.key, e.message) for e in exc.errors)
    return problems


def process(
    template: Template,
    raw: Mapping[str, Any],
    *,
    previous: Mapping[str, Any] | None,
    access: AccessMap,
    extra: Mapping[str, Any] | None = None,
    ctx: ParseContext | None = None,
    creating: bool = False,
) -> Outcome:
    """Turn a posted ``data`` object into stored data. Nothing here touches the database."""
    ctx = ctx or ParseContext()
    registry = widgets()
    fields = {f.key: f for f in value_fields(template)}
    values = to_python(template, previous or {}, ctx)
    errors: list[Detail] = []
    ignored: list[str] = []
    if not isinstance(raw, Mapping):
        return Outcome({}, {}, [Detail("data", "must be an object of field values")])
    for key in raw:
        if key not in fields:
            errors.append(Detail(str(key)[:64], "is not a field of this form"))
    for key, f in fields.items():
        if key not in raw:
            continue
        widget = registry.for_field(f)
        if widget.computed:
            continue  # computed by the server whatever the client sends
        if access.get(key) != "edit":
            sent = raw[key]
            try:
                same = widget.to_json(f, widget.parse(relaxed(f), sent, ctx)) == widget.to_json(
                    f, values.get(key)
                )
            except FieldValueError:
                same = False
            if not same:
                ignored.append(key)
            continue
        try:
            values[key] = widget.parse(relaxed(f), raw[key], ctx)
        except FieldValueError as exc:
            errors.extend(Detail(e.path or key, e.message) for e in exc.errors)
    if creating:
        apply_defaults(template, values, extra or {}, ctx)
    errors.extend(compute(template, values, extra, ctx.today))
    return Outcome(to_json(template, values), values, errors, ignored)


def present(
    template: Template, data: Mapping[str, Any], access: AccessMap, locale: str = "en"
) -> dict[str, Any]:
    """Data as a viewer may see it: hidden fields absent, masked fields masked."""
    registry = widgets()
    values = to_python(template, data)
    shown: dict[str, Any] = {}
    for f in value_fields(template):
        level = access.get(f.key, "read")
        if level == "hidden":
            continue
        if level == "masked":
            shown[f.key] = registry.for_field(f).mask(f, values.get(f.key))
        else:
            shown[f.key] = data.get(f.key)
    return shown
