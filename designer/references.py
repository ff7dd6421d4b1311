"""Cross-reference checks: every name a template uses must exist.

Layout cells, formulas, permissions, approval steps and `options_from` name fields, table
columns, steps, roles and data sources. These checks read the raw document defensively (any
part may be malformed), so they run alongside pydantic's checks and one validation reports the
structural mistakes and the dangling names together.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from quire.designer.formula import FormulaError, FormulaSyntaxError, parse
from quire.widgets.base import Widget
from quire.widgets.registry import default_registry

from .issues import Issue, did_you_mean, join_path
from .vocabulary import ENGINE_NAMES, EVERYONE, PSEUDO_ROLES, ROLES

#: Widgets whose values add up, so a table may total them.
#: The permission step name for a submission that has not been submitted yet.
DRAFT_STEP = "draft"
#: Columns of the layout grid.
GRID_COLUMNS = 12


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the dict items of a list; anything else yields nothing."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _route_steps(doc: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """(path, step) for every step of the route, those in a parallel group's branches too."""
    for index, item in _items(_dict(doc.get("approval")).get("steps")):
        if item.get("kind") != "parallel":
            yield ("approval", "steps", index), item
            continue
        for b, branch in _route_branches(item, index):
            for p, step in _items(branch.get("steps")):
                yield (*b, "steps", p), step


def _route_branches(
    group: dict[str, Any], index: int
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    for b, branch in _items(group.get("branches")):
        yield ("approval", "steps", index, "branches", b), branch


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class _Names:
    """The names a template declares, collected once."""

    field_types: dict[str, str] = field(default_factory=dict)
    field_paths: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> type
    steps: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    def dotted(self) -> set[str]:
        return {f"{t}.{c}" for t, cols in self.columns.items() for c in cols}

    def type_of(self, name: str) -> str | None:
        if "." in name:
            table, _, column = name.partition(".")
            return self.columns.get(table, {}).get(column)
        return self.field_types.get(name)


@dataclass
class _FormulaSite:
    path: tuple[Any, ...]
    text: str
    row_table: str | None  # a table column's formula reads its own row's cells by bare name
    engine_names: bool  # rules, defaults and approval conditions may read engine names
    node: str | None = None  # the computed value it defines, for cycle detection


def check_references(doc: dict[str, Any], roles: Collection[str] | None = None) -> list[Issue]:
    """Every dangling name and every formula problem in a template document.

    `roles` are the role keys that exist (the runtime passes the roles in its database, so
    an admin-made role can be used); unset means Quire's built-in roles."""
    known = frozenset(roles) if roles is not None else ROLES
    issues: list[Issue] = []
    names = _collect(doc, issues)
    issues += _check_layout(doc, names)
    sites = list(_formula_sites(doc))
    issues += _check_formulas(sites, names)
    issues += _check_permissions(doc, names, known)
    issues += _check_approval(doc, names, known)
    issues += _check_rules(doc, names)
    issues += _check_sources_and_tables(doc, names)
    return issues


def _collect(doc: dict[str, Any], issues: list[Issue]) -> _Names:
    names = _Names()
    for index, item in _items(doc.get("fields")):
        key, kind = _text(item.get("key")), _text(item.get("type")) or ""
        if key is None:
            continue
        if key in names.field_types:
            first = join_path(*names.field_paths[key])
            issues.append(
                Issue(join_path("fields", index, "key"), f'duplicate key "{key}" (also {first})')
            )
            continue
        names.field_types[key] = kind
        names.field_paths[key] = ("fields", index)
        if repeats(kind):
            columns: dict[str, str] = {}
            for col_index, column in _items(item.get("columns")):
                col_key = _text(column.get("key"))
                if col_key is None:
                    continue
                if col_key in columns:
                    path = join_path("fields", index, "columns", col_index, "key")
                    issues.append(Issue(path, f'duplicate column key "{col_key}"'))
                columns.setdefault(col_key, _text(column.get("type")) or "")
            names.columns[key] = columns
    groups: set[str] = set()
    for index, item in _items(_dict(doc.get("approval")).get("steps")):
        key = _text(item.get("key")) if item.get("kind") == "parallel" else None
        if key is not None:
            if key in groups:
                path = join_path("approval", "steps", index, "key")
                issues.append(Issue(path, f'duplicate key "{key}"'))
            groups.add(key)
    for path, step in _route_steps(doc):
        key = _text(step.get("key"))
        if key is None:
            continue
        if key == DRAFT_STEP:
            message = f'"{DRAFT_STEP}" is reserved for a form still with its submitter'
            issues.append(Issue(join_path(*path, "key"), message))
        if key in names.steps or key in groups:
            issues.append(Issue(join_path(*path, "key"), f'duplicate step key "{key}"'))
        names.steps.add(key)
    for index, source in _items(doc.get("data_sources")):
        key = _text(source.get("key"))
        if key is None:
            continue
        if key in names.sources:
            issues.append(
                Issue(join_path("data_sources", index, "key"), f'duplicate data source key "{key}"')
            )
        names.sources.add(key)
    return names


def _unknown_field(name: str, names: _Names, extra: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """None when `name` is a field or table column, else the sentence saying it is not."""
    if name in names.field_types or name in extra:
        return None
    table, dot, column = name.partition(".")
    if dot and table in names.columns:
        if column in names.columns[table]:
            return None
        return f'table "{table}" has no column "{column}"' + did_you_mean(
            column, names.columns[table]
        )
    candidates = set(names.field_types) | names.dotted() | set(extra)
    return f'unknown field "{name}"' + did_you_mean(name, candidates)


def _check_layout(doc: dict[str, Any], names: _Names) -> list[Issue]:
    issues: list[Issue] = []
    placed: dict[str, str] = {}
    for s, section in _items(_dict(doc.get("layout")).get("sections")):
        for r, row in _items(section.get("rows")):
            width = 0
            for c, cell in _items(row.get("cells")):
                path = join_path("layout", "sections", s, "rows", r, "cells", c, "field")
                span = cell.get("span", GRID_COLUMNS)
                width += span if isinstance(span, int) and not isinstance(span, bool) else 0
                key = _text(cell.get("field"))
                if key is None:
                    continue
                problem = (
                    None
                    if key in names.field_types
                    else (f'unknown field "{key}"' + did_you_mean(key, names.field_types))
                )
                if problem:
                    issues.append(Issue(path, problem))
                elif key in placed:
                    issues.append(Issue(path, f'field "{key}" is already placed at {placed[key]}'))
                else:
                    placed[key] = path.removesuffix(".field")
            if width > GRID_COLUMNS:
                path = join_path("layout", "sections", s, "rows", r)
                issues.append(
                    Issue(
                        path,
                        f"the cells of this row span {width} columns; a row has {GRID_COLUMNS}",
                    )
                )
    return issues


def _formula_sites(doc: dict[str, Any]) -> Iterator[_FormulaSite]:
    for index, item in _items(doc.get("fields")):
        key = _text(item.get("key"))
        yield from _field_sites(item, ("fields", index), key, None)
        if repeats(item.get("type")):
            for col_index, column in _items(item.get("columns")):
                col_key = _text(column.get("key"))
                node = f"{key}.{col_key}" if key and col_key else None
                yield from _field_sites(column, ("fields", index, "columns", col_index), node, key)
    for index, rule in _items(doc.get("rules")):
        for attr in ("when", "assert"):
            if _text(rule.get(attr)) is not None:
                yield _FormulaSite(("rules", index, attr), rule[attr], None, True)
    approval = _dict(doc.get("approval"))
    if _text(approval.get("auto_approve_when")) is not None:
        yield _FormulaSite(
            ("approval", "auto_approve_when"), approval["auto_approve_when"], None, True
        )
    for path, step in _route_steps(doc):
        if _text(step.get("when")) is not None:
            yield _FormulaSite((*path, "when"), step["when"], None, True)
    for index, group in _items(approval.get("steps")):
        if group.get("kind") == "parallel":
            for path, branch in _route_branches(group, index):
                if _text(branch.get("when")) is not None:
                    yield _FormulaSite((*path, "when"), branch["when"], None, True)


def _field_sites(
    item: dict[str, Any], path: tuple[Any, ...], node: str | None, table: str | None
) -> Iterator[_FormulaSite]:
    widget = _widget(item.get("type"))
    if widget is not None and widget.computed and _text(item.get("expression")) is not None:
        yield _FormulaSite((*path, "expression"), item["expression"], table, False, node)
    default = item.get("default")
    if isinstance(default, str) and default.startswith("="):
        yield _FormulaSite((*path, "default"), default[1:], table, True)


def _check_formulas(sites: list[_FormulaSite], names: _Names) -> list[Issue]:
    issues: list[Issue] = []
    graph: dict[str, set[str]] = {}
    node_paths: dict[str, str] = {}
    for site in sites:
        path = join_path(*site.path)
        try:
            formula = parse(site.text)
        except FormulaSyntaxError as exc:
            where = (
                f" (at column {exc.column})" if exc.column and "column" not in exc.message else ""
            )
            issues.append(Issue(path, f"formula error: {exc.message}{where}"))
            continue
        except (FormulaError, RecursionError) as exc:
            issues.append(
                Issue(
                    path, f"formula error: {getattr(exc, 'message', 'the formula is too complex')}"
                )
            )
            continue
        row = names.columns.get(site.row_table or "", {})
        engine = set(ENGINE_NAMES) if site.engine_names else set()
        depends: set[str] = set()
        for name in sorted(formula.references):
            if name in row and "." not in name:
                depends.add(f"{site.row_table}.{name}")
                continue
            head = name.partition(".")[0]
            if site.engine_names and (name in engine or ("." in name and head in engine)):
                continue
            problem = _unknown_field(name, names, extra=set(row) | engine)
            if problem:
                issues.append(Issue(path, problem))
            elif name in names.columns:
                depends |= {f"{name}.{c}" for c in names.columns[name]}
            else:
                depends.add(name)
        if site.node:
            graph[site.node] = depends
            node_paths[site.node] = path
    issues += _cycles(graph, node_paths)
    return issues


def _cycles(graph: dict[str, set[str]], node_paths: dict[str, str]) -> list[Issue]:
    """One issue per cycle among computed values (`a` -> `b` -> `a`), at its first member."""
    issues: list[Issue] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                loop = trail[trail.index(nxt) :]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    circle = " → ".join([*loop, nxt])
                    issues.append(
                        Issue(
                            node_paths[nxt], f"formulas refer to each other in a circle: {circle}"
                        )
                    )
            elif state.get(nxt) is None:
                visit(nxt, trail)
        trail.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return issues


def _check_roles(roles: Any, path: tuple[Any, ...], known: frozenset[str]) -> Iterator[Issue]:
    allowed = known | PSEUDO_ROLES | {EVERYONE}
    for index, role in enumerate(roles if isinstance(roles, list) else []):
        if isinstance(role, str) and role not in allowed:
            yield Issue(
                join_path(*path, index), f'unknown role "{role}"' + did_you_mean(role, allowed)
            )


def _check_permissions(doc: dict[str, Any], names: _Names, known: frozenset[str]) -> list[Issue]:
    issues: list[Issue] = []
    for index, perm in _items(doc.get("permissions")):
        key = _text(perm.get("field"))
        problem = _unknown_field(key, names) if key is not None else None
        if problem:
            issues.append(Issue(join_path("permissions", index, "field"), problem))
        issues += _check_roles(perm.get("roles"), ("permissions", index, "roles"), known)
        steps = perm.get("steps")
        for s, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, str) and step not in names.steps | {DRAFT_STEP}:
                path = join_path("permissions", index, "steps", s)
                issues.append(
                    Issue(path, f'unknown approval step "{step}"' + did_you_mean(step, names.steps))
                )
    for path, step in _route_steps(doc):
        for p, perm in _items(step.get("permissions")):
            key = _text(perm.get("field"))
            problem = _unknown_field(key, names) if key is not None else None
            if problem:
                issues.append(Issue(join_path(*path, "permissions", p, "field"), problem))
    return issues


#: What the field an assignee rule reads must name (a widget's `names_record`).
_ASSIGNEE_FIELD_RECORDS = {
    "role": "department",
    "manager_of_department_field": "department",
    "user_field": "user",
    "manager_of_user_field": "user",
    "role_owner": "role",
    "security_approver": "role",
}


def _check_approval(doc: dict[str, Any], names: _Names, known: frozenset[str]) -> list[Issue]:
    issues: list[Issue] = []
    if "approval" in doc and doc.get("approval") is not None and doc.get("kind") == "report":
        issues.append(Issue("approval", "only forms have an approval route"))
    for path, step in _route_steps(doc):
        # Also a model validator; repeated here because pydantic skips a model's own
        # validator when one of its keys is already wrong, and every mistake should show.
        mode, required = step.get("mode"), step.get("required")
        if mode == "n_of_m" and required is None:
            message = 'mode "n_of_m" needs "required": how many must approve'
            issues.append(Issue(join_path(*path), message))
        assignee = _dict(step.get("assignee"))
        base = (*path, "assignee")
        kind = assignee.get("kind")
        role = _text(assignee.get("role"))
        if kind == "role" and role is not None and role not in known:
            issues.append(
                Issue(
                    join_path(*base, "role"), f'unknown role "{role}"' + did_you_mean(role, known)
                )
            )
        key = _text(assignee.get("field"))
        wanted = _ASSIGNEE_FIELD_RECORDS.get(kind) if isinstance(kind, str) else None
        if key is None or wanted is None:
            continue
        actual = names.field_types.get(key)
        if actual is None:
            issues.append(
                Issue(
                    join_path(*base, "field"),
                    f'unknown field "{key}"' + did_you_mean(key, names.field_types),
                )
            )
        elif getattr(_widget(actual), "names_record", None) != wanted:
            issues.append(
                Issue(
                    join_path(*base, "field"),
                    f'"{key}" must be a {wanted} picker field, not {actual.replace("_", " ")}',
                )
            )
    return issues


def _check_rules(doc: dict[str, Any], names: _Names) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for index, rule in _items(doc.get("rules")):
        key = _text(rule.get("key"))
        if key is not None:
            if key in seen:
                issues.append(
                    Issue(join_path("rules", index, "key"), f'duplicate rule key "{key}"')
                )
            seen.add(key)
        target = _text(rule.get("field"))
        problem = _unknown_field(target, names) if target is not None else None
        if problem:
            issues.append(Issue(join_path("rules", index, "field"), problem))
    return issues


def _check_sources_and_tables(doc: dict[str, Any], names: _Names) -> list[Issue]:
    issues: list[Issue] = []

    def source_of(item: dict[str, Any], path: tuple[Any, ...]) -> None:
        source = _text(_dict(item.get("options_from")).get("source"))
        if source is not None and source not in names.sources:
            issues.append(
                Issue(
                    join_path(*path, "options_from", "source"),
                    f'unknown data source "{source}"' + did_you_mean(source, names.sources),
                )
            )

    for index, item in _items(doc.get("fields")):
        source_of(item, ("fields", index))
        for col_index, column in _items(item.get("columns")) if repeats(item.get("type")) else ():
            source_of(column, ("fields", index, "columns", col_index))
        table = _text(item.get("key"))
        if not repeats(item.get("type")) or table not in names.columns:
            continue
        columns = {c["key"]: c for _, c in _items(item.get("columns")) if _text(c.get("key"))}
        totals = item.get("totals")
        for t, total in enumerate(totals if isinstance(totals, list) else []):
            if not isinstance(total, str):
                continue
            path = join_path("fields", index, "totals", t)
            column = columns.get(total)
            if column is None:
                issues.append(
                    Issue(
                        path,
                        f'table "{table}" has no column "{total}"'
                        + did_you_mean(total, names.columns[table]),
                    )
                )
            elif not _numeric(column):
                issues.append(
                    Issue(path, f'column "{total}" is not a number, so it cannot be totalled')
                )
    for index, parameter in _items(doc.get("parameters")):
        source_of(parameter, ("parameters", index))
    for index, dataset in _items(doc.get("datasets")):
        source = _text(dataset.get("source"))
        if source is not None and source not in names.sources:
            path = join_path("datasets", index, "source")
            issues.append(
                Issue(path, f'unknown data source "{source}"' + did_you_mean(source, names.sources))
            )
    return issues


def _numeric(column: dict[str, Any]) -> bool:
    widget = _widget(column.get("type"))
    return widget is not None and widget.is_numeric(column)


def _widget(kind: Any) -> Widget | None:
    """The widget of a `type` in a raw document (None for an unknown or missing type)."""
    return default_registry().get(kind) if isinstance(kind, str) else None


def repeats(kind: Any) -> bool:
    """Is `kind` a widget of rows (a table), in a raw document?"""
    widget = _widget(kind)
    return widget is not None and widget.repeats
