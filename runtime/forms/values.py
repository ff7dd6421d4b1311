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
from typing import Any, cast

from quire.designer.formula import FormulaError, parse
from quire.designer.model import Template
from quire.widgets.base import FieldBase, FieldValueError, ParseContext, localized
from quire.widgets.registry import default_registry

from ..errors import Detail
from ..numbers import parse_int

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
    # Widget field models differ (a formula field has `expression`, a table `columns`).
    formulas: list[Any] = [f for f in value_fields(template) if registry.for_field(f).computed]
    tables: list[Any] = [f for f in value_fields(template) if getattr(f, "columns", None)]
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
    if isinstance(exc, FieldValueError):
        return said(exc)
    return getattr(exc, "message", None) or str(exc)


def said(error: FieldValueError) -> str:
    """A widget's error in the reader's language (the catalogue's sentence, the field's
    label); English outside a request."""
    from flask_babel import get_locale, gettext

    return error.translated(gettext, str(get_locale() or "en"))


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
            problems.extend(Detail(e.path or f.key, said(e)) for e in exc.errors)
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
        columns = editable_columns(f, access)
        if access.get(key) != "edit" and columns:
            merged, problems, dropped = _merge_column_edits(f, raw[key], values, columns, ctx)
            errors.extend(problems)
            ignored.extend(dropped)
            if merged is not None:
                values[key] = merged
            continue
        if access.get(key) != "edit":
            if not _same_value(f, raw[key], widget.to_json(f, values.get(key)), ctx):
                ignored.append(key)
            continue
        try:
            values[key] = widget.parse(relaxed(f), raw[key], ctx)
        except FieldValueError as exc:
            errors.extend(Detail(e.path or key, said(e)) for e in exc.errors)
    if creating:
        apply_defaults(template, values, extra or {}, ctx)
    errors.extend(compute(template, values, extra, ctx.today))
    return Outcome(to_json(template, values), values, errors, ignored)


def editable_columns(f: FieldBase, access: AccessMap) -> list[str]:
    """Columns of a table the viewer may change in existing lines though not the table itself
    (a step's `lines.category` permission); empty for other fields."""
    columns = getattr(f, "columns", None) or ()
    return [c.key for c in columns if access.get(f"{f.key}.{c.key}") == "edit"]


def _same_value(f: FieldBase | None, sent: Any, stored: Any, ctx: ParseContext) -> bool:
    """Does what was sent mean the stored value ("1250.5" is "1250.50")?"""
    if f is None or is_computed(f):
        return True
    widget = widgets().for_field(f)
    try:
        return widget.to_json(f, widget.parse(relaxed(f), sent, ctx)) == stored
    except FieldValueError:
        return False


def _merge_column_edits(
    f: Any,
    sent: Any,
    values: dict[str, Any],
    columns: list[str],
    ctx: ParseContext,
) -> tuple[list[dict[str, Any]] | None, list[Detail], list[str]]:
    """Stored lines with the editable columns taken from what was sent. Lines cannot be added
    or removed; other columns keep their stored value (sent changes are reported back)."""
    widget = widgets().for_field(f)
    stored = widget.to_json(f, values.get(f.key))
    names = ", ".join(c.label.en for c in f.columns if c.key in columns)
    if isinstance(sent, dict) and all(parse_int(str(k)) is not None for k in sent):
        sent = [sent[k] for k in sorted(sent, key=int)]
    if not isinstance(sent, list) or not all(isinstance(row, dict) for row in sent):
        return None, [Detail(f.key, f"{widget.name_of(f)} must be a list of rows")], []
    if len(sent) != len(stored):
        message = f"lines cannot be added or removed at this step; only {names} may be changed"
        return None, [Detail(f.key, message)], []
    merged, ignored = [], []
    for index, (old, new) in enumerate(zip(stored, sent, strict=True)):
        row = dict(old)
        for key, value in new.items():
            if key in columns:
                row[key] = value
            elif key in old and not _same_value(f.column(key), value, old[key], ctx):
                ignored.append(f"{f.key}[{index}].{key}")
        merged.append(row)
    try:
        return widget.parse(relaxed(f), merged, ctx), [], ignored
    except FieldValueError as exc:
        return None, [Detail(e.path or f.key, said(e)) for e in exc.errors], ignored


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


def changes_between(
    template: Template, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """What an edit changed, field by field and, in tables, cell by cell, as stored JSON:
    ``[{path, field, column, old, new}]`` (``column`` is None outside tables)."""
    registry = widgets()
    changes: list[dict[str, Any]] = []
    for f in value_fields(template):
        old, new = before.get(f.key), after.get(f.key)
        if old == new:
            continue
        if not registry.for_field(f).repeats:
            changes.append({"path": f.key, "field": f.key, "column": None, "old": old, "new": new})
            continue
        old_rows, new_rows = list(old or []), list(new or [])
        for index in range(max(len(old_rows), len(new_rows))):
            was = old_rows[index] if index < len(old_rows) else {}
            now = new_rows[index] if index < len(new_rows) else {}
            for column in cast(Any, f).columns:  # a repeating field is a table
                a, b = was.get(column.key), now.get(column.key)
                if a != b:
                    path = f"{f.key}[{index}].{column.key}"
                    changes.append(
                        {"path": path, "field": f.key, "column": column.key, "old": a, "new": b}
                    )
    return changes


def present_change(
    template: Template, change: Mapping[str, Any], access: AccessMap, locale: str
) -> dict[str, str] | None:
    """One recorded change as a viewer may read it: labels and display text, masked where they
    see the field masked; None where the field is hidden from them."""
    level = access.get(change.get("field", ""), "read")
    f = template.field(change.get("field", ""))
    if f is None or level == "hidden":
        return None
    label = localized(f.label, locale)
    target = f
    column_key = change.get("column")
    if column_key:
        target = f.column(column_key)
        if target is None:
            return None
        row = _row_number(change.get("path", ""))
        label = f"{label} #{row} · {localized(target.label, locale)}"
    widget = widgets().for_field(target)

    def text(raw: Any) -> str:
        if raw in (None, "", []):
            return "—"
        value = computed_from_json(target, raw) if widget.computed else None
        if not widget.computed:
            try:
                value = widget.parse(relaxed(target), raw)
            except FieldValueError:
                return "****" if level == "masked" else str(raw)
        if level == "masked":
            return widget.mask(target, value)
        return widget.display(target, value, locale) or "—"

    return {
        "path": str(change.get("path", "")),
        "label": label,
        "old": text(change.get("old")),
        "new": text(change.get("new")),
    }


def _row_number(path: str) -> int:
    start, end = path.find("["), path.find("]")
    digits = path[start + 1 : end] if 0 <= start < end else ""
    number = parse_int(digits)
    return number + 1 if number is not None else 0


def changes_for_viewer(template: Template, changes: Any, access: AccessMap) -> list[dict[str, Any]]:
    """Recorded changes as JSON a viewer may read: hidden fields left out, masked ones
    masked (``old``/``new`` become the mask text), the rest as stored."""
    shown: list[dict[str, Any]] = []
    for change in changes if isinstance(changes, list) else []:
        level = access.get(change.get("field", ""), "read")
        f = template.field(change.get("field", ""))
        if f is None or level == "hidden":
            continue
        if level == "masked":
            text = present_change(template, change, access, "en") or {}
            change = {**change, "old": text.get("old"), "new": text.get("new")}
        shown.append(dict(change))
    return shown


def describe_changes(
    template: Template, changes: Any, access: AccessMap, locale: str
) -> list[dict[str, str]]:
    """Recorded changes as sentences' parts for a viewer: label, old and new display text."""
    presented = (
        present_change(template, c, access, locale)
        for c in (changes if isinstance(changes, list) else [])
    )
    return [p for p in presented if p is not None]
