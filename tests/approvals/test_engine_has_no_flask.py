"""The approval engine is handed the actor, the clock and the instance's settings: none of its
modules reaches for Flask (request, current_app, current_user)."""

import ast
from pathlib import Path

import quire.runtime.approvals as approvals

ENGINE_MODULES = (
    "engine",
    "state",
    "facts",
    "route",
    "handing",
    "actions",
    "inbox",
    "timeouts",
    "settings",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_engine_module_imports_flask():
    folder = Path(approvals.__file__).parent
    for name in ENGINE_MODULES:
        flask = {m for m in _imports(folder / f"{name}.py") if m.split(".")[0].startswith("flask")}
        assert not flask, f"approvals/{name}.py imports {sorted(flask)}"
