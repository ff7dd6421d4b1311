"""One access authority: a permission decision made anywhere but ``runtime/access.py`` fails.

The walker reads the code of ``runtime/``, ``designer/`` and ``plugins/`` (models and
migrations aside: they declare, they do not decide) and reports the shapes a copied rule
takes: "is this the submitter / the assignee / the owner?" compared against the acting
user, a role key used as a rule, a grant's validity window checked by hand, and a
permission looked up in a role's list. Each finding names the file, line and rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WALKED = ("runtime", "designer", "plugins")
#: The access module itself, declarations (models, migrations) and the demo organisation's
#: seed data, which names its roles to build them.
EXEMPT = (
    "runtime/access.py",
    "runtime/models/",
    "runtime/migrations/",
    "runtime/demo.py",
    "runtime/demo_data.py",
)

#: Columns that say who a row belongs to or who holds it.
OWNERSHIP = {"submitter_id", "owner_id", "assignee_id", "on_behalf_of_id", "delegate_id"}
OWNER_OBJECTS = {"submitter", "owner", "assignee", "on_behalf_of", "delegate"}
#: Names the acting person goes by in views, services and engines.
ACTORS = {"user", "actor", "viewer", "current_user", "me"}
#: A grant's validity window: only ``access.grant_is_current`` reads it.
VALIDITY = {"valid_from", "valid_until"}


def _role_keys() -> set[str]:
    from quire.runtime.demo import ROLES

    return {key for key, *_ in ROLES}


def _is_actor(node: ast.AST) -> bool:
    """``user``, ``actor.id``, ``current_user.id``…"""
    if isinstance(node, ast.Name):
        return node.id in ACTORS
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "id"
        and isinstance(node.value, ast.Name)
        and node.value.id in ACTORS
    )


def _strings(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return {s for element in node.elts for s in _strings(element)}
    return set()


class DecisionFinder(ast.NodeVisitor):
    """Collects ``(line, rule)`` for every permission decision in one module."""

    def __init__(self, role_keys: set[str]) -> None:
        self.role_keys = role_keys
        self.found: list[tuple[int, str]] = []

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        attrs = {o.attr for o in operands if isinstance(o, ast.Attribute)}
        if attrs & OWNERSHIP and any(_is_actor(o) for o in operands):
            column = sorted(attrs & OWNERSHIP)[0]
            self.found.append((node.lineno, f"{column} compared with the acting user"))
        if attrs & OWNER_OBJECTS and any(
            isinstance(o, ast.Name) and o.id in ACTORS for o in operands
        ):
            self.found.append((node.lineno, "ownership compared with the acting user"))
        if any(_strings(o) & self.role_keys for o in operands):
            self.found.append((node.lineno, "a role key used as a rule"))
        if attrs & VALIDITY:
            self.found.append((node.lineno, "a grant's validity checked outside access"))
        if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops) and any(
            isinstance(o, ast.Attribute) and o.attr == "permissions" for o in node.comparators
        ):
            self.found.append((node.lineno, "a permission looked up in a role by hand"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "is_current":
            self.found.append((node.lineno, "a grant's validity checked outside access"))
        self.generic_visit(node)


def decisions_in(source: str, role_keys: set[str] | None = None) -> list[tuple[int, str]]:
    finder = DecisionFinder(role_keys if role_keys is not None else _role_keys())
    finder.visit(ast.parse(source))
    return finder.found


def _walked_files() -> list[Path]:
    files = []
    for top in WALKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(EXEMPT) or "/tests/" in relative:
                continue
            files.append(path)
    return files


def test_no_permission_decision_is_made_outside_the_access_module():
    keys = _role_keys()
    findings = [
        f"{path.relative_to(ROOT)}:{line}: {rule}"
        for path in _walked_files()
        for line, rule in decisions_in(path.read_text(encoding="utf-8"), keys)
    ]
    assert len(_walked_files()) > 100, "the walk must cover the whole code base"
    assert findings == [], "ask runtime/access.py instead:\n" + "\n".join(findings)


def test_the_walker_catches_each_kind_of_planted_decision():
    planted = """
def edit(submission, current_user):
    if submission.submitter_id != current_user.id:
        raise Forbidden()

def is_mine(task, actor):
    return task.assignee_id == actor.id

def may_download(attachment, user):
    return attachment.owner_id == user.id or submission.submitter is user

def finance(role):
    if role.key == "cfo":
        return True
    return role.key in {"finance_admin", "finance_reviewer"}

def still_valid(grant, now):
    return grant.valid_until is None or grant.valid_until > now or grant.is_current()

def may_read(grant):
    return "submission.read" in grant.role.permissions
"""
    rules = [rule for _, rule in decisions_in(planted)]
    assert rules.count("submitter_id compared with the acting user") == 1
    assert rules.count("assignee_id compared with the acting user") == 1
    assert rules.count("owner_id compared with the acting user") == 1
    assert rules.count("ownership compared with the acting user") == 1
    assert rules.count("a role key used as a rule") == 2
    assert rules.count("a grant's validity checked outside access") == 3
    assert rules.count("a permission looked up in a role by hand") == 1


def test_the_walker_leaves_ordinary_comparisons_alone():
    ordinary = """
def pick(template, key, tasks, target):
    step = next(s for s in template.steps if s.key == key)
    already = any(t.assignee_id == target.id for t in tasks)
    return step, already, Role.key == key
"""
    assert decisions_in(ordinary) == []
