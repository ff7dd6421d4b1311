"""Structural rules of the designer, held by reading the code.

- Every change to a draft goes through `designer.drafts` (one version lock, one history):
  the page and the API never write `FormTemplate.draft` or call `store_draft` themselves.
- One recursive macro draws every route: the designer, the simulator and the submission page
  all import it, and none draws a route of its own.
- The shell the report designer reuses (`drafts`, `ops`) does not look at the template kind.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES_AND_API = [ROOT / "designer" / "editor.py", ROOT / "runtime" / "api" / "drafts.py"]


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_page_and_the_api_change_drafts_only_through_the_drafts_service():
    for path in PAGES_AND_API:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    assert not (
                        isinstance(target, ast.Attribute)
                        and target.attr in ("draft", "draft_version")
                    ), f"{path.name}:{node.lineno} writes a draft directly"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != "store_draft", (
                    f"{path.name}:{node.lineno} stores a draft without the version check"
                )


def test_one_recursive_macro_draws_every_route():
    macro = ROOT / "designer" / "templates" / "designer" / "_route_tree.html"
    text = macro.read_text(encoding="utf-8")
    assert text.count("{% macro route_node") == 1 and text.count("route_node(") >= 3
    users = [
        ROOT / "designer" / "templates" / "designer" / "_workspace.html",
        ROOT / "designer" / "templates" / "designer" / "_simulation.html",
        ROOT / "runtime" / "templates" / "approvals" / "_panel.html",
    ]
    for page in users:
        source = page.read_text(encoding="utf-8")
        assert "import route_tree" in source, f"{page.name} does not use the route macro"
        assert '<ol class="route"' not in source, f"{page.name} draws a route of its own"


def test_the_reusable_shell_does_not_depend_on_the_template_kind():
    for name in ("drafts.py", "ops.py"):
        source = (ROOT / "designer" / name).read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                names = {getattr(n, "value", None) for n in ast.walk(node)}
                assert "report" not in names, f"{name}:{node.lineno} treats reports apart"
