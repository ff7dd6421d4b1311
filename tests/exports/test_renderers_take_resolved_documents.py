"""Renderers take a resolved document and return bytes: they import nothing that reaches
the database or the running app (the services that build their documents do)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
RENDERERS = [
    "exports/workbook/layout.py",
    "exports/workbook/writer.py",
    "exports/workbook/package.py",
    "exports/workbook/reader.py",
    "exports/print_xlsx.py",
    "exports/cells.py",
    "render/excel.py",
    "render/csv.py",
    "render/pdf_report.py",
    "render/document.py",
]
#: What a renderer may not import: the session, the models, SQL, the app.
FORBIDDEN = ("extensions", "models", "sqlalchemy", "flask", "access", "audit")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _reaching(name: str, forbidden: tuple[str, ...]) -> set[str]:
    imports = _imports(RUNTIME / name)
    return {i for i in imports if any(part in forbidden for part in i.split("."))}


@pytest.mark.parametrize("name", RENDERERS)
def test_a_renderer_does_not_reach_the_database_or_the_app(name):
    assert not _reaching(name, FORBIDDEN)


def test_the_print_copy_renderer_uses_jinja_but_not_the_database():
    """The print page is the web form's Jinja layout, so Flask renders it; nothing more."""
    assert not _reaching("exports/print_pdf.py", tuple(f for f in FORBIDDEN if f != "flask"))
