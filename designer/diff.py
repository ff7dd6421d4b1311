"""What changed between two versions of a template, for the version history and reviews."""

from __future__ import annotations

from typing import Any

from .canonical import template_data
from .model import Template
from .references import repeats
from .validate import load_template


def _as_data(template: Template | dict[str, Any]) -> dict[str, Any]:
    if not isinstance(template, Template):
        template = load_template(template)
    return template_data(template)


def diff_templates(
    old: Template | dict[str, Any], new: Template | dict[str, Any]
) -> dict[str, Any]:
    """Fields added, removed and changed (attribute by attribute, `[old, new]`).

    A table's columns are compared by key as `columns.<key>.<attr>`, so renaming one column's
    label is not reported as a change of the whole column list. Changes outside `fields`
    (layout, approval, permissions…) are listed under `template` by top-level key.
    """
    before, after = _as_data(old), _as_data(new)
    old_fields = {f["key"]: f for f in before.get("fields", [])}
    new_fields = {f["key"]: f for f in after.get("fields", [])}
    changed = []
    for key, field in new_fields.items():
        if key in old_fields and old_fields[key] != field:
            changed.append({"key": key, "changes": _attribute_changes(old_fields[key], field)})
    template_changes = {
        attr: [before.get(attr), after.get(attr)]
        for attr in dict.fromkeys([*before, *after])
        if attr != "fields" and before.get(attr) != after.get(attr)
    }
    return {
        "added": [key for key in new_fields if key not in old_fields],
        "removed": [key for key in old_fields if key not in new_fields],
        "changed": changed,
        "template": template_changes,
    }


def _attribute_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for attr in dict.fromkeys([*old, *new]):
        if old.get(attr) == new.get(attr):
            continue
        if attr == "columns" and old.get("type") == new.get("type") and repeats(new.get("type")):
            changes.update(_column_changes(old.get("columns", []), new.get("columns", [])))
        else:
            changes[attr] = [old.get(attr), new.get(attr)]
    return changes


def _column_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, list[Any]]:
    before = {c["key"]: c for c in old}
    after = {c["key"]: c for c in new}
    changes: dict[str, list[Any]] = {}
    for key in dict.fromkeys([*before, *after]):
        if key not in before or key not in after:
            changes[f"columns.{key}"] = [before.get(key), after.get(key)]
            continue
        for attr, pair in _attribute_changes(before[key], after[key]).items():
            changes[f"columns.{key}.{attr}"] = pair
    if [c["key"] for c in old] != [c["key"] for c in new] and set(before) == set(after):
        changes["columns"] = [list(before), list(after)]  # same columns, new order
    return changes
