"""What the designer page shows of a draft: canvas, palette, property editors, permission
matrix, route tree. Built from the draft document; the page's Jinja templates only lay it out.

The page itself is template-kind agnostic in its shell (header, undo/redo, publish, JSON,
changes, history: `_shell.html`); the panes below are the form designer's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from quire.widgets.base import FieldView, localized
from quire.widgets.registry import WidgetRegistry

from .approval import ApprovalStep, ParallelGroup
from .model import Template
from .permissions import resolve_access
from .sentences import describe

#: Palette groups in the order the palette shows them.
CATEGORIES = ("basic", "number", "date", "choice", "organisation", "advanced", "layout")

#: Properties edited on their own (the rest of a field's properties get generic editors).
COMMON = ("key", "type", "label", "help", "required", "default", "readonly")

#: How each property is edited; a property a new widget brings that is not listed here gets
#: a JSON editor, so every widget is fully editable without touching the designer.
EDITORS: dict[str, str] = {
    "options": "options",
    "options_from": "options_from",
    "expression": "formula",
    "mask": "mask",
    "content": "bilingual",
    "pattern": "text",
    "pattern_message": "bilingual",
    "currency": "text",
    "min": "text",
    "max": "text",
    "places": "int",
    "thousands": "bool",
    "min_length": "int",
    "max_length": "int",
    "rows": "int",
    "min_rows": "int",
    "max_rows": "int",
    "max_days": "int",
    "max_selected": "int",
    "max_size_mb": "int",
    "max_files": "int",
    "multiple": "bool",
    "totals": "list",
    "accept": "list",
    "columns": "skip",
}

#: Assignee rule kinds in the picker, with what each needs.
ASSIGNEE_KINDS = (
    "manager_of_submitter",
    "role",
    "user",
    "user_field",
    "department_head",
    "manager_of_department_field",
    "manager_of_user_field",
    "role_owner",
    "security_approver",
)

ACCESS_LEVELS = ("hidden", "read", "edit", "masked")


@dataclass
class PaletteItem:
    type_name: str
    label: str
    icon: str
    category: str


def palette(registry: WidgetRegistry, locale: str) -> list[tuple[str, list[PaletteItem]]]:
    """The widgets by category; a new widget module shows up here by itself."""
    groups: dict[str, list[PaletteItem]] = {c: [] for c in CATEGORIES}
    for widget in registry:
        names = widget.label if isinstance(widget.label, dict) else {}
        text = names.get("zh" if locale.startswith("zh") else "en") or widget.type_name
        entry = widget.palette
        groups.setdefault(entry.category, []).append(
            PaletteItem(widget.type_name, text, entry.icon, entry.category)
        )
    return [(c, items) for c, items in groups.items() if items]


@dataclass
class CanvasCell:
    key: str
    field: Any
    span: int
    section: int
    row: int
    index: int
    is_table: bool
    columns: list[Any] = field(default_factory=list)
    #: What the widget draws on the canvas: its own input in design mode.
    view: Any = None


@dataclass
class CanvasSection:
    index: int
    title: str
    rows: list[list[CanvasCell]]


def design_view(registry: WidgetRegistry, f: Any, locale: str) -> FieldView:
    """The widget's own drawing of a field on the canvas (design mode: an input that posts
    nothing), with its static choices."""
    choices = registry[f.type].choices(f, None, locale)
    return FieldView(f, "design", f.key, locale=locale, choices=choices)


def canvas(template: Template, registry: WidgetRegistry, locale: str) -> list[CanvasSection]:
    sections = []
    for s, section in enumerate(template.layout.sections):
        rows = []
        for r, row in enumerate(section.rows):
            cells = []
            for c, cell in enumerate(row.cells):
                f = template.field(cell.field)
                if f is None:
                    continue
                columns = list(getattr(f, "columns", None) or [])
                cells.append(
                    CanvasCell(
                        f.key,
                        f,
                        cell.span,
                        s,
                        r,
                        c,
                        hasattr(f, "columns"),
                        columns,
                        design_view(registry, f, locale),
                    )
                )
            rows.append(cells)
        sections.append(CanvasSection(s, localized(section.title, locale), rows))
    return sections


def find_field(template: Template, key: str) -> Any:
    table, _, column = key.partition(".")
    f = template.field(table)
    if f is None or not column:
        return f
    return next((c for c in getattr(f, "columns", None) or [] if c.key == column), None)


@dataclass
class PropertyEditor:
    name: str
    editor: str
    value: Any


def property_editors(registry: WidgetRegistry, f: Any) -> list[PropertyEditor]:
    """Editors for the widget-specific properties of a field, in the model's order."""
    model = registry[f.type].FieldModel
    editors = []
    for name in model.model_fields:
        if name in COMMON:
            continue
        editor = EDITORS.get(name, "json")
        if editor == "skip":
            continue
        editors.append(PropertyEditor(name, editor, getattr(f, name, None)))
    return editors


def options_text(options: list[Any] | None) -> str:
    """A choice list as lines `value | 中文 | English`, the way the options editor shows it."""
    return "\n".join(f"{o.value} | {o.label.zh} | {o.label.en}" for o in options or [])


def parse_options(text: str) -> list[dict[str, Any]]:
    options = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts or not parts[0]:
            continue
        zh = parts[1] if len(parts) > 1 and parts[1] else parts[0]
        en = parts[2] if len(parts) > 2 and parts[2] else zh
        options.append({"value": parts[0], "label": {"zh": zh, "en": en}})
    return options


def formula_names(template: Template) -> list[str]:
    """Names a formula may use: field keys, table columns, and the engine's facts."""
    names = []
    for f in template.fields:
        names.append(f.key)
        names += [f"{f.key}.{c.key}" for c in getattr(f, "columns", None) or []]
    return names + ["within_budget", "over_budget", "budget_remaining", "submitter.department"]


# --- permissions -------------------------------------------------------------------------
@dataclass
class MatrixColumn:
    """One column of the matrix: a role, or an approval step."""

    key: str
    label: str
    kind: str  # role | step


@dataclass
class MatrixRow:
    key: str
    label: str
    #: column key → (explicit access or "", effective access)
    cells: Mapping[str, tuple[str, str]]


def value_fields(template: Template, registry: WidgetRegistry) -> list[Any]:
    return [f for f in template.fields if registry[f.type].has_value]


def role_matrix(
    template: Template, roles: list[tuple[str, str]], registry: WidgetRegistry, locale: str
) -> tuple[list[MatrixColumn], list[MatrixRow]]:
    """Roles × fields: what holders of each role see once the form is submitted (when they
    are not its submitter nor its approver). `roles` are (key, name) from the database."""
    columns = [MatrixColumn(k, n, "role") for k, n in roles]
    columns.append(MatrixColumn("submitter", "submitter", "role"))
    columns.append(MatrixColumn("*", "*", "role"))
    rows = []
    for f in value_fields(template, registry):
        cells = {}
        for column in columns:
            explicit = next(
                (
                    p.access
                    for p in template.permissions
                    if p.field == f.key and p.steps is None and column.key in p.roles
                ),
                "",
            )
            effective = resolve_access(template, f.key, {column.key}, None)
            cells[column.key] = (explicit, effective)
        rows.append(MatrixRow(f.key, localized(f.label, locale), cells))
    return columns, rows


def step_matrix(
    template: Template, registry: WidgetRegistry, locale: str
) -> tuple[list[MatrixColumn], list[MatrixRow]]:
    """Approval steps × fields: what each step's approvers see and may change."""
    steps = template.approval.all_steps() if template.approval else []
    columns = [MatrixColumn(s.key, localized(s.name, locale), "step") for s in steps]
    rows = []
    for f in value_fields(template, registry):
        cells = {}
        for step in steps:
            explicit = next((p.access for p in step.permissions if p.field == f.key), "")
            effective = resolve_access(template, f.key, {"approver"}, step.key)
            cells[step.key] = (explicit, effective)
        rows.append(MatrixRow(f.key, localized(f.label, locale), cells))
    return columns, rows


# --- the route as a tree -----------------------------------------------------------------
@dataclass
class RouteNode:
    """One box of the route diagram; `children` follow it (one child in a chain; several
    would be branches). A parallel group's box holds its `branches` (each the head of a
    chain), drawn side by side before its children."""

    key: str
    title: str
    detail: str = ""
    status: str = "upcoming"
    people: list[str] = field(default_factory=list)
    reason: str = ""
    children: list[RouteNode] = field(default_factory=list)
    css: str = ""
    branches: list[RouteNode] = field(default_factory=list)


def chain(nodes: list[RouteNode]) -> RouteNode | None:
    """Nodes in order as a tree: each the only child of the one before."""
    head: RouteNode | None = None
    for node in reversed(nodes):
        if head is not None:
            node.children = [head]
        head = node
    return head


def assignee_text(
    step: ApprovalStep, locale: str, labels: dict[str, str], role_names: dict[str, str]
) -> str:
    """Who decides at a step, in words; fields and roles by their names, not their keys."""
    rule = step.assignee
    zh = locale.startswith("zh")
    if rule.kind == "manager_of_submitter":
        return "提交人的直属经理" if zh else "the submitter's manager"
    if rule.kind == "role":
        scope = {
            "organisation": ("全公司", "anywhere"),
            "submitter_department": ("提交人部门内", "in the submitter's department"),
            "department_field": ("所选部门内", "in the chosen department"),
        }[rule.scope]
        role = role_names.get(rule.role, rule.role)
        return f"{scope[0]}的{role}" if zh else f"{role} {scope[1]}"
    if rule.kind == "user":
        return rule.username
    if rule.kind == "user_field":
        name = labels.get(rule.field, rule.field)
        return f"“{name}”中选的人" if zh else f"the person in “{name}”"
    if rule.kind == "department_head":
        if rule.levels_up:
            return (
                f"上 {rule.levels_up} 级部门负责人" if zh else f"head {rule.levels_up} level(s) up"
            )
        return "本部门负责人" if zh else "the department head"
    name = labels.get(rule.field, rule.field)
    if rule.kind == "manager_of_user_field":
        return f"“{name}”中所选人员的直属经理" if zh else f"the manager of the person in “{name}”"
    if rule.kind == "role_owner":
        return f"“{name}”中所选角色的负责人" if zh else f"the owner of the role in “{name}”"
    if rule.kind == "security_approver":
        return (
            f"“{name}”中所选高风险角色的安全审批人"
            if zh
            else f"the security approver of the role in “{name}”, if it is high-risk"
        )
    return f"“{name}”部门的经理" if zh else f"manager of the department in “{name}”"


def route_tree(
    template: Template, locale: str, role_names: dict[str, str] | None = None
) -> RouteNode | None:
    """The designed route: start, the auto-approval rule, each step with who and when, end.
    `role_names` are the roles' names in the locale (keys stand in for those missing)."""
    zh = locale.startswith("zh")
    document = template.model_dump(mode="json", by_alias=True)
    labels = {f.key: localized(f.label, locale) for f in template.fields}
    nodes = [RouteNode("start", "提交" if zh else "Submitted", status="done", css="rt-start")]
    approval = template.approval
    if approval and approval.auto_approve_when:
        sentence = describe(approval.auto_approve_when, document, locale)
        nodes.append(
            RouteNode(
                "auto",
                "自动通过" if zh else "Approved automatically",
                detail=("当" if zh else "when ") + sentence,
                css="rt-auto",
            )
        )

    def box(step: ApprovalStep) -> RouteNode:
        detail = assignee_text(step, locale, labels, role_names or {})
        mode = {"all": ("全部通过", "all must approve"), "n_of_m": ("多人中若干人", "N of M")}
        if step.mode in mode:
            detail += " · " + mode[step.mode][0 if zh else 1]
        reason = ""
        if step.when:
            reason = ("仅当" if zh else "only when ") + describe(step.when, document, locale)
        return RouteNode(step.key, localized(step.name, locale), detail, reason=reason)

    nodes += route_items(template, locale, box)
    nodes.append(RouteNode("end", "完成" if zh else "Done", css="rt-end"))
    return chain(nodes)


def route_items(
    template: Template,
    locale: str,
    box: Callable[[ApprovalStep], RouteNode],
    skipped: Collection[str] = (),
) -> list[RouteNode]:
    """The route's items as boxes: ``box`` draws a step; a parallel group becomes a box with
    its branches, each headed by its name and condition. A branch whose steps are all in
    ``skipped`` is drawn skipped."""
    zh = locale.startswith("zh")
    document = template.model_dump(mode="json", by_alias=True)
    nodes: list[RouteNode] = []
    for item in template.approval.steps if template.approval else []:
        if not isinstance(item, ParallelGroup):
            nodes.append(box(item))
            continue
        branches = []
        for b, branch in enumerate(item.branches):
            title = localized(branch.name, locale) or (f"分支 {b + 1}" if zh else f"Branch {b + 1}")
            reason = ""
            if branch.when:
                reason = ("仅当" if zh else "only when ") + describe(branch.when, document, locale)
            gone = all(s.key in skipped for s in branch.steps)
            head = RouteNode(
                f"{item.key}-{b}",
                title,
                reason=reason,
                status="skipped" if gone else "upcoming",
                css="rt-branch-head",
            )
            branches.append(chain([head, *(box(s) for s in branch.steps)]))
        nodes.append(
            RouteNode(
                item.key,
                localized(item.name, locale),
                "并行分支：各分支同时开始，全部完成后继续"
                if zh
                else "in parallel: the branches start "
                "together and the route goes on when all are done",
                status="group",
                css="rt-group",
                branches=[b for b in branches if b is not None],
            )
        )
    return nodes
