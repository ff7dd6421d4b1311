"""Structural rule: only a widget knows its own type name.

Code outside `widgets/` asks the widget (`registry.for_field(f).repeats`, `.holds_files`,
`.choices(...)`, its macros…) and never compares a field's `type` with a widget name, nor looks
one up in a table keyed by widget names. This walks the Python code (AST) and the Jinja
templates of `runtime/`, `designer/` and `plugins/` and fails with the places that do.

Reports, their renderers and connectors have type vocabularies of their own (a report column
is `money` or `date`, a parameter `select` or `fiscal_period`); where a name belongs to such a
vocabulary too, the folders that speak it are not held to the rule for that name. Names that
only widgets use (`table`, `formula`, `attachment`, …) are forbidden everywhere.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

from quire.designer.model import ReportColumn, ReportParameter
from quire.plugins.base import COLUMN_TYPES as CONNECTOR_TYPES
from quire.runtime.render.document import COLUMN_TYPES as RENDER_TYPES
from quire.widgets.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("runtime", "designer", "plugins")
SKIPPED = ("runtime/migrations", "runtime/static", "designer/static")
#: Folders whose `type` attributes are report columns, parameters or connector columns.
OTHER_VOCABULARIES = (
    "runtime/render/",
    "runtime/reports/",
    "runtime/templates/reports/",
    "runtime/api/reports.py",
    "runtime/datasources/",
    "designer/formula/",
    "designer/report.py",
    "designer/report_checks.py",
    "plugins/",
)


def _widget_names() -> set[str]:
    return set(default_registry().type_names())


def _shared_names() -> set[str]:
    """Widget names that are also words of another type vocabulary."""
    others = {
        *get_args(ReportParameter.model_fields["type"].annotation),
        *get_args(ReportColumn.model_fields["type"].annotation),
        *RENDER_TYPES,
        *CONNECTOR_TYPES,
    }
    return _widget_names() & others


def _forbidden_in(path: str) -> set[str]:
    if path.startswith(OTHER_VOCABULARIES):
        return _widget_names() - _shared_names()
    return _widget_names()


def _files(suffix: str) -> list[Path]:
    found = []
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob(f"*{suffix}")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(SKIPPED) and ".egg-info" not in relative:
                found.append(path)
    return found


# --- Python -----------------------------------------------------------------------------------
def _is_type_of(node: ast.AST, aliases: frozenset[str] = frozenset()) -> bool:
    """`x.type`, `x["type"]` or `x.get("type")`: a field's widget type; or a local name that
    was given one (`kind = f.type`, `kind = _text(item.get("type"))`)."""
    if isinstance(node, ast.Name):
        return node.id in aliases
    if isinstance(node, ast.Attribute):
        return node.attr == "type"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "type"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return (
            node.func.attr == "get"
            and bool(node.args)
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "type"
        )
    return False


def _constants(node: ast.AST | None, names: dict[str, ast.AST]) -> set[str]:
    """String constants a node stands for: a literal, a collection, or a module-level name."""
    if node is None:
        return set()
    if isinstance(node, ast.Name) and node.id in names:
        return _constants(names[node.id], {})
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_constants(e, names) for e in node.elts)) if node.elts else set()
    if isinstance(node, ast.Dict):
        return set().union(*(_constants(k, names) for k in node.keys)) if node.keys else set()
    if isinstance(node, ast.Call) and node.args:  # frozenset((...)), set([...])
        return _constants(node.args[0], names)
    return set()


def _module_constants(tree: ast.Module) -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if stmt.value is not None:
                found[stmt.target.id] = stmt.value
    return found


def _aliases(scope: ast.AST) -> frozenset[str]:
    """Local names given a field's type in this function (or module)."""
    return frozenset(
        target.id
        for node in ast.walk(scope)
        if isinstance(node, ast.Assign) and any(_is_type_of(n) for n in ast.walk(node.value))
        for target in node.targets
        if isinstance(target, ast.Name)
    )


def type_switches_in_python(source: str, forbidden: set[str]) -> list[tuple[int, str]]:
    """(line, widget names) of every comparison or lookup of a type against widget names."""
    tree = ast.parse(source)
    names = _module_constants(tree)
    found: set[tuple[int, str]] = set()

    def report(node: ast.AST, values: set[str]) -> None:
        hit = values & forbidden
        if hit:
            found.add((node.lineno, ", ".join(sorted(hit))))  # type: ignore[attr-defined]

    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
    for scope in scopes:
        aliases = _aliases(scope) if scope is not tree else frozenset()

        def is_type(node: ast.AST, aliases: frozenset[str] = aliases) -> bool:
            return _is_type_of(node, aliases)

        for node in ast.walk(scope):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(is_type(side) for side in sides):
                    report(node, set().union(*(_constants(s, names) for s in sides)))
            elif isinstance(node, ast.Subscript) and is_type(node.slice):
                report(node, _constants(node.value, names))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and is_type(node.args[0])
            ):
                report(node, _constants(node.func.value, names))
            elif isinstance(node, ast.Match) and is_type(node.subject):
                for case in node.cases:
                    for pattern in ast.walk(case.pattern):
                        if isinstance(pattern, ast.MatchValue):
                            report(node, _constants(pattern.value, names))
    return sorted(found)


# --- Jinja ------------------------------------------------------------------------------------
_JINJA_TYPE_TEST = re.compile(
    r"\.type\s*(?:==|!=|\bnot in\b|\bin\b)\s*(\([^)]*\)|\[[^\]]*\]|'[^']*'|\"[^\"]*\")"
)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def type_switches_in_jinja(source: str, forbidden: set[str]) -> list[tuple[int, str]]:
    found = []
    for match in _JINJA_TYPE_TEST.finditer(source):
        values = {a or b for a, b in _QUOTED.findall(match.group(1))}
        hit = values & forbidden
        if hit:
            found.append((source.count("\n", 0, match.start()) + 1, ", ".join(sorted(hit))))
    return found


# --- the rule ---------------------------------------------------------------------------------
def test_no_code_outside_widgets_switches_on_a_widget_type():
    offenders = []
    for path in _files(".py"):
        relative = path.relative_to(ROOT).as_posix()
        for line, names in type_switches_in_python(
            path.read_text("utf-8"), _forbidden_in(relative)
        ):
            offenders.append(f"{relative}:{line} switches on {names}")
    for path in _files(".html"):
        relative = path.relative_to(ROOT).as_posix()
        for line, names in type_switches_in_jinja(path.read_text("utf-8"), _forbidden_in(relative)):
            offenders.append(f"{relative}:{line} switches on {names}")
    assert offenders == [], "Ask the widget instead (see docs/widgets.md):\n" + "\n".join(offenders)


def test_the_rule_sees_the_switches_it_forbids():
    """The checker itself: every shape of switch is caught, and capability questions pass."""
    names = {"table", "money", "formula", "attachment"}
    caught = type_switches_in_python(
        """
KINDS = frozenset({"formula", "money"})
WIDTHS = {"money": 14}
if f.type == "table": pass
if column.type in ("attachment", "text"): pass
if item.get("type") != "formula": pass
if spec.type in KINDS: pass
width = WIDTHS.get(c.type, 28)
width = {"table": 1}[c["type"]]
match f.type:
    case "money": pass
def check(item):
    kind = _text(item.get("type")) or ""
    if kind == "formula": pass
""",
        names,
    )
    assert [line for line, _ in caught] == [4, 5, 6, 7, 8, 9, 10, 14]
    assert type_switches_in_python("if registry.for_field(f).repeats: pass", names) == []
    assert type_switches_in_python('if token.type == "$END": pass', names) == []
    assert type_switches_in_jinja("{% if f.type in ('select', 'money') %}", names) == [(1, "money")]
    assert type_switches_in_jinja('<div class="field-{{ f.type }}">', names) == []


def test_report_vocabularies_keep_their_own_words_but_not_widget_only_names():
    shared = _shared_names()
    assert {"money", "date", "text"} <= shared
    assert "money" not in _forbidden_in("runtime/reports/engine.py")
    assert "formula" in _forbidden_in("runtime/reports/sources.py")
    assert "money" in _forbidden_in("runtime/forms/presenter.py")
