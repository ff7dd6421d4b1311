"""The package installs as one import name, ``quire``, with everything it needs at run time."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "designer": "quire.designer",
    "runtime": "quire.runtime",
    "widgets": "quire.widgets",
    "plugins": "quire.plugins",
    "report_templates": "quire.report_templates",
}


def declared_packages() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return set(tomllib.load(fh)["tool"]["setuptools"]["packages"])


def test_every_python_folder_is_listed_as_a_package():
    """A folder with an __init__.py missing from pyproject would vanish from a wheel."""
    found = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if rel.parts and rel.parts[0].startswith("quire-"):
                continue  # a separately installable example plugin
            found.add(".".join([name, *rel.parts]))
    assert found - declared_packages() == set()


def test_nothing_generic_lands_at_the_top_of_site_packages():
    assert all(p.startswith("quire.") for p in declared_packages())


@pytest.mark.slow
def test_the_wheel_carries_templates_migrations_translations_and_vendored_files(tmp_path):
    # The build backend directly (what pip and uv call), so no installer is needed.
    build = f"from setuptools import build_meta; build_meta.build_wheel({str(tmp_path)!r})"
    subprocess.run([sys.executable, "-c", build], cwd=ROOT, check=True, capture_output=True)
    wheel = next(tmp_path.glob("quire-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in [
        "quire/runtime/templates/base.html",
        "quire/runtime/static/vendor/htmx.min.js",
        "quire/runtime/migrations/env.py",
        "quire/runtime/migrations/versions/0001_organisation_access_audit.py",
        "quire/runtime/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "quire/designer/formula/__init__.py",
    ]:
        assert needed in names, needed
    assert not any(n.startswith(("runtime/", "designer/", "plugins/")) for n in names)
