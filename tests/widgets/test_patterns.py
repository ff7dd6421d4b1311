"""Validation patterns from template authors run in linear time (RE2), so a value cannot hang
a worker (ReDoS); a pattern RE2 cannot run is refused at validation with its path."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from quire.designer.validate import validate_template
from quire.widgets.base import FieldValueError
from quire.widgets.registry import default_registry
from quire.widgets.text import TextField

from .conftest import bilingual

ROOT = Path(__file__).resolve().parents[2]


def _text(pattern: str) -> dict:
    return {"key": "code", "type": "text", "label": bilingual("Code"), "pattern": pattern}


def test_a_catastrophic_pattern_answers_a_long_value_at_once():
    field = TextField.model_validate(_text("(a+)+$"))
    widget = default_registry().for_field(field)
    started = time.perf_counter()
    for length in (32, 5000):
        with pytest.raises(FieldValueError):
            widget.parse(field, "a" * (length - 1) + "!")
    assert widget.parse(field, "a" * 32) == "a" * 32
    # Backtracking would need about 2**32 steps here (minutes); RE2 answers in microseconds.
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)y", "(a{1000}){1000}", "[z-a]"])
def test_a_pattern_re2_cannot_run_is_refused_with_its_path(pattern):
    doc = {
        "key": "t",
        "kind": "form",
        "title": bilingual("T"),
        "fields": [{"key": "a", "type": "text", "label": bilingual("A")}, _text(pattern)],
    }
    issues = validate_template(doc)
    assert [i.path for i in issues] == ["fields[1].pattern"]
    assert "regular expression" in issues[0].message


def test_ordinary_invoice_patterns_still_work():
    field = TextField.model_validate(_text(r"[0-9]{8}|INV-\d{6}"))
    widget = default_registry().for_field(field)
    assert widget.parse(field, "12345678") == "12345678"
    assert widget.parse(field, "INV-000123") == "INV-000123"
    with pytest.raises(FieldValueError):
        widget.parse(field, "1234567")


_RE_CALLS = {
    "compile",
    "match",
    "fullmatch",
    "search",
    "sub",
    "subn",
    "split",
    "findall",
    "finditer",
}


def _pattern_is_ours(node: ast.expr) -> bool:
    """A literal, an UPPER_CASE module constant, or an f-string (built with re.escape)."""
    if isinstance(node, ast.Constant | ast.JoinedStr):
        return True
    return isinstance(node, ast.Name) and node.id.isupper()


def test_no_module_runs_a_pattern_from_a_variable_with_pythons_backtracking_re():
    """The structural rule behind the fix: only `quire.widgets._patterns` (RE2) runs patterns
    that come from data; `re` is for the code's own literal patterns."""
    offenders = []
    for folder in ("designer", "widgets", "runtime", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.func.attr in _RE_CALLS
                    and node.args
                    and not _pattern_is_ours(node.args[0])
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
