"""What changed between two versions of a template, for the version history and reviews."""

from __future__ import annotations

from typing import Any

from .canonical import template_data
from .issues import TemplateInvalid
from .model import Template
from .references import repeats
from .validate import load_template


def _as_data(template: Template | dict[str, Any]) -> dict[str, Any]:
    if not isinstance(template, Template):
        try:
            template = load_template(template)
        except TemplateInvalid:
            # A draft may still have problems to fix before publishing (a formula half
            # written): what it says can be compared all the same.
            template = Template.model_validate(template)
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


# --- the same comparison in words, for people reviewing a change before it is published ---
_PHRASES = {
    "en": {
        "title": "title: {a} → {b}",
        "field_added": "field added: {label} ({key}, {type})",
        "field_removed": "field removed: {label} ({key})",
        "field_attr": "field {key}: {attr} {a} → {b}",
        "column_added": "field {key}: column {column} added",
        "column_removed": "field {key}: column {column} removed",
        "columns_order": "field {key}: columns reordered",
        "role_cell": "field {key}: {role} {a} → {b}",
        "step_cell": "field {key}: step {step} {a} → {b}",
        "limit": "{what} limit {a} → {b}",
        "rule": "{what}: {a} → {b}",
        "auto": "auto-approve",
        "rule_added": "{what} added: {b}",
        "rule_removed": "{what} removed (was: {a})",
        "step_added": "step added: {name}",
        "step_removed": "step removed: {name}",
        "steps_order": "steps reordered: {a} → {b}",
        "step_attr": "step {name}: {attr} {a} → {b}",
        "step_when": "step {name} condition",
        "group_added": "parallel group added: {name} ({n} branches)",
        "group_removed": "parallel group removed: {name}",
        "group_name": "parallel group {a} renamed {b}",
        "branch_added": "parallel group {name}: branch {n} added",
        "branch_removed": "parallel group {name}: branch {n} removed",
        "branch_when": "parallel group {name}, branch {n} condition",
        "step_moved_in": "step {name} moved into parallel group {group}, branch {n}",
        "step_moved_out": "step {name} moved out of parallel group {group}",
        "layout": "layout changed (fields moved or resized)",
        "check_added": "check added: {key}",
        "check_removed": "check removed: {key}",
        "check_changed": "check changed: {key}",
        "other": "{attr} changed",
        "yes": "yes",
        "no": "no",
        "none": "—",
    },
    "zh": {
        "title": "标题：{a} → {b}",
        "field_added": "新增字段：{label}（{key}，{type}）",
        "field_removed": "删除字段：{label}（{key}）",
        "field_attr": "字段 {key}：{attr} {a} → {b}",
        "column_added": "字段 {key}：新增列 {column}",
        "column_removed": "字段 {key}：删除列 {column}",
        "columns_order": "字段 {key}：列顺序调整",
        "role_cell": "字段 {key}：{role} {a} → {b}",
        "step_cell": "字段 {key}：步骤 {step} {a} → {b}",
        "limit": "{what}限额 {a} → {b}",
        "rule": "{what}：{a} → {b}",
        "auto": "自动通过",
        "rule_added": "新增{what}：{b}",
        "rule_removed": "取消{what}（原为：{a}）",
        "step_added": "新增步骤：{name}",
        "step_removed": "删除步骤：{name}",
        "steps_order": "步骤顺序：{a} → {b}",
        "step_attr": "步骤 {name}：{attr} {a} → {b}",
        "step_when": "步骤 {name} 的条件",
        "group_added": "新增并行分支：{name}（{n} 个分支）",
        "group_removed": "删除并行分支：{name}",
        "group_name": "并行分支 {a} 改名为 {b}",
        "branch_added": "并行分支 {name}：新增分支 {n}",
        "branch_removed": "并行分支 {name}：删除分支 {n}",
        "branch_when": "并行分支 {name} 分支 {n} 的条件",
        "step_moved_in": "步骤 {name} 移入并行分支 {group} 的分支 {n}",
        "step_moved_out": "步骤 {name} 移出并行分支 {group}",
        "layout": "布局调整（字段移动或改变宽度）",
        "check_added": "新增校验：{key}",
        "check_removed": "删除校验：{key}",
        "check_changed": "修改校验：{key}",
        "other": "{attr} 已修改",
        "yes": "是",
        "no": "否",
        "none": "—",
    },
}
_ACCESS_WORDS = {
    "zh": {"hidden": "隐藏", "read": "只读", "edit": "可编辑", "masked": "脱敏"},
    "en": {"hidden": "hidden", "read": "read", "edit": "edit", "masked": "masked"},
}


def describe_changes(
    old: Template | dict[str, Any], new: Template | dict[str, Any], locale: str = "en"
) -> list[str]:
    """What changed, one sentence per change, field by field and rule by rule:
    "auto-approve limit 10,000 → 5,000", "field bank_account: finance_reviewer read → masked"."""
    from .permissions import resolve_access
    from .sentences import describe

    lang = "zh" if locale.lower().startswith("zh") else "en"
    say = _PHRASES[lang]
    before, after = _as_data(old), _as_data(new)
    a, b = Template.model_validate(before), Template.model_validate(after)
    lines: list[str] = []

    def text(value: Any) -> str:
        if value is None or value == "" or value == []:
            return say["none"]
        if isinstance(value, bool):
            return say["yes" if value else "no"]
        if isinstance(value, dict) and {"zh", "en"} <= set(value):
            return str(value[lang])
        if isinstance(value, int | float):
            return f"{value:,}"
        if isinstance(value, list):
            return ", ".join(text(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k} {text(v)}" for k, v in value.items())
        return str(value)

    if before.get("title") != after.get("title"):
        lines.append(say["title"].format(a=text(before.get("title")), b=text(after.get("title"))))

    changes = diff_templates(before, after)
    old_fields = {f["key"]: f for f in before.get("fields", [])}
    new_fields = {f["key"]: f for f in after.get("fields", [])}
    for key in changes["added"]:
        f = new_fields[key]
        lines.append(say["field_added"].format(label=text(f["label"]), key=key, type=f["type"]))
    for key in changes["removed"]:
        lines.append(say["field_removed"].format(label=text(old_fields[key]["label"]), key=key))
    for change in changes["changed"]:
        key = change["key"]
        for attr, (x, y) in change["changes"].items():
            if attr.startswith("columns."):
                column = attr.split(".")[1]
                if attr.count(".") == 1 and x is None:
                    lines.append(say["column_added"].format(key=key, column=column))
                    continue
                if attr.count(".") == 1 and y is None:
                    lines.append(say["column_removed"].format(key=key, column=column))
                    continue
            if attr == "columns":
                lines.append(say["columns_order"].format(key=key))
                continue
            lines.append(say["field_attr"].format(key=key, attr=attr, a=text(x), b=text(y)))

    words = _ACCESS_WORDS[lang]
    roles = {"*", "submitter"}
    for template in (a, b):
        for p in template.permissions:
            roles.update(p.roles)
    for key in [k for k in new_fields if k in old_fields]:
        for role in sorted(roles):
            x = resolve_access(a, key, {role}, None)
            y = resolve_access(b, key, {role}, None)
            if x != y:
                lines.append(say["role_cell"].format(key=key, role=role, a=words[x], b=words[y]))
        old_steps = {s.key for s in (a.approval.all_steps() if a.approval else [])}
        for step in b.approval.all_steps() if b.approval else []:
            if step.key not in old_steps:
                continue
            x = resolve_access(a, key, {"approver"}, step.key)
            y = resolve_access(b, key, {"approver"}, step.key)
            if x != y:
                lines.append(
                    say["step_cell"].format(key=key, step=step.key, a=words[x], b=words[y])
                )

    def condition(what: str, x: str | None, y: str | None, document: dict[str, Any]) -> None:
        if x == y:
            return
        if x and y:
            limits = _changed_numbers(x, y)
            if limits:
                for m, n in limits:
                    lines.append(say["limit"].format(what=what, a=m, b=n))
                return
            lines.append(
                say["rule"].format(
                    what=what, a=describe(x, before, locale), b=describe(y, document, locale)
                )
            )
        elif y:
            lines.append(say["rule_added"].format(what=what, b=describe(y, document, locale)))
        elif x:
            lines.append(say["rule_removed"].format(what=what, a=describe(x, before, locale)))

    old_approval = a.approval
    new_approval = b.approval
    condition(
        say["auto"],
        old_approval.auto_approve_when if old_approval else None,
        new_approval.auto_approve_when if new_approval else None,
        after,
    )
    old_steps = {s.key: s for s in (old_approval.all_steps() if old_approval else [])}
    new_steps = {s.key: s for s in (new_approval.all_steps() if new_approval else [])}
    lines += _group_changes(a, b, say, lang, condition, after)
    for key, step in new_steps.items():
        name = step.name.text(lang)
        if key not in old_steps:
            lines.append(say["step_added"].format(name=name))
            continue
        lines += _step_moves(a, b, key, name, say, lang)
        previous = old_steps[key]
        condition(say["step_when"].format(name=name), previous.when, step.when, after)
        x = previous.model_dump(mode="json", exclude={"when", "permissions"})
        y = step.model_dump(mode="json", exclude={"when", "permissions"})
        for attr in dict.fromkeys([*x, *y]):
            if x.get(attr) != y.get(attr):
                lines.append(
                    say["step_attr"].format(
                        name=name, attr=attr, a=text(x.get(attr)), b=text(y.get(attr))
                    )
                )
    for key, step in old_steps.items():
        if key not in new_steps:
            lines.append(say["step_removed"].format(name=step.name.text(lang)))
    kept_old = [k for k in old_steps if k in new_steps]
    kept_new = [k for k in new_steps if k in old_steps]
    if kept_old != kept_new:
        lines.append(say["steps_order"].format(a=" → ".join(kept_old), b=" → ".join(kept_new)))

    if before.get("layout") != after.get("layout") and not (changes["added"] or changes["removed"]):
        lines.append(say["layout"])
    old_rules = {r["key"]: r for r in before.get("rules", [])}
    new_rules = {r["key"]: r for r in after.get("rules", [])}
    for key in new_rules:
        if key not in old_rules:
            lines.append(say["check_added"].format(key=key))
        elif old_rules[key] != new_rules[key]:
            lines.append(say["check_changed"].format(key=key))
    for key in old_rules:
        if key not in new_rules:
            lines.append(say["check_removed"].format(key=key))
    handled = {"title", "fields", "layout", "permissions", "approval", "rules"}
    for attr in changes["template"]:
        if attr not in handled:
            lines.append(say["other"].format(attr=attr))
    return lines


def _changed_numbers(old: str, new: str) -> list[tuple[str, str]]:
    """When two formulas differ only in their numbers ("total < 10000" → "total < 5000"),
    the pairs of numbers that changed, written for people; else an empty list."""
    from .formula import FormulaError, parse
    from .formula.nodes import Number
    from .sentences import number_text

    try:
        x, y = parse(old).tree, parse(new).tree
    except FormulaError:
        return []
    pairs: list[tuple[str, str]] = []

    def walk(m: Any, n: Any) -> bool:
        if type(m) is not type(n):
            return False
        if isinstance(m, Number):
            if m.value != n.value:
                pairs.append((number_text(m.value), number_text(n.value)))
            return True
        fields = [f for f in m.__dataclass_fields__ if f != "column"]
        for name in fields:
            p, q = getattr(m, name), getattr(n, name)
            if isinstance(p, tuple):
                if len(p) != len(q):
                    return False
                for i, j in zip(p, q, strict=True):
                    if isinstance(i, tuple):  # (operator, operand) pairs
                        if i[0] != j[0] or not walk(i[1], j[1]):
                            return False
                    elif hasattr(i, "__dataclass_fields__"):
                        if not walk(i, j):
                            return False
                    elif i != j:
                        return False
            elif hasattr(p, "__dataclass_fields__"):
                if not walk(p, q):
                    return False
            elif p != q:
                return False
        return True

    return pairs if walk(x, y) and pairs else []


def _group_changes(
    a: Template,
    b: Template,
    say: dict[str, str],
    lang: str,
    condition: Any,
    after: dict[str, Any],
) -> list[str]:
    """Parallel groups added, removed or renamed; their branches added or removed (by
    count, the last ones) and branch conditions changed (``condition`` adds its own lines)."""
    old = {g.key: g for g in (a.approval.groups() if a.approval else [])}
    new = {g.key: g for g in (b.approval.groups() if b.approval else [])}
    lines: list[str] = []
    for key, group in new.items():
        name = group.name.text(lang)
        if key not in old:
            lines.append(say["group_added"].format(name=name, n=len(group.branches)))
            continue
        previous = old[key]
        if previous.name.text(lang) != name:
            lines.append(say["group_name"].format(a=previous.name.text(lang), b=name))
        for n in range(len(previous.branches), len(group.branches)):
            lines.append(say["branch_added"].format(name=name, n=n + 1))
        for n in range(len(group.branches), len(previous.branches)):
            lines.append(say["branch_removed"].format(name=name, n=n + 1))
        for n, (x, y) in enumerate(zip(previous.branches, group.branches, strict=False)):
            condition(say["branch_when"].format(name=name, n=n + 1), x.when, y.when, after)
    for key, group in old.items():
        if key not in new:
            lines.append(say["group_removed"].format(name=group.name.text(lang)))
    return lines


def _step_moves(
    a: Template, b: Template, key: str, name: str, say: dict[str, str], lang: str
) -> list[str]:
    """A step that went into a branch, or out of its group."""
    was = a.approval.place_of(key) if a.approval else None
    now = b.approval.place_of(key) if b.approval else None
    if was is None or now is None:
        return []
    x, y = was[1], now[1]
    where = (
        (x.group.key if x.group else None, x.branch),
        (y.group.key if y.group else None, y.branch),
    )
    if where[0] == where[1]:
        return []
    if y.group is not None:
        group = y.group.name.text(lang)
        return [say["step_moved_in"].format(name=name, group=group, n=(y.branch or 0) + 1)]
    return [say["step_moved_out"].format(name=name, group=x.group.name.text(lang))]  # type: ignore[union-attr]
