"""One clock and one time zone: every "now" and "today" comes from `quire.runtime.clock`.

A date taken from the server's clock (`date.today()`) or a zone looked up again from the
configuration dates a claim filed at 00:30 in Shanghai on a UTC server the day before; six
copies of the lookup had already drifted (one fell back to UTC, one crashed). The walk below
keeps them from coming back.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import quire.designer
import quire.plugins
import quire.runtime
import quire.widgets
from quire.runtime import clock

#: Where a clock or zone may be read directly, and why.
ALLOWED = {
    "runtime/clock.py": "the one clock",
    "runtime/config.py": "declares QUIRE_TIMEZONE",
    # Pure formula code without the runtime: callers hand `today` in; the fallback serves
    # the designer's own checks of a formula.
    "designer/formula/parsing.py": "pure formula fallback",
    "designer/sentences.py": "pure formula fallback",
    # A stand-alone command that writes sample data, outside any Quire instance.
    "plugins/quire-erp-ledger/quire_erp_ledger/sample.py": "stand-alone sample writer",
}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, owner = node.func.attr, node.func.value
            owner_name = (
                owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            )
            if (owner_name, name) in {
                ("date", "today"),
                ("datetime", "now"),
                ("datetime", "utcnow"),
            }:
                found.append(f"{owner_name}.{name}() at line {node.lineno}")
        if isinstance(node, ast.Constant) and node.value == "TIMEZONE":
            found.append(f'"TIMEZONE" read at line {node.lineno}')
    return found


def _sources() -> list[tuple[str, Path]]:
    roots = {
        "runtime": Path(quire.runtime.__file__).parent,
        "designer": Path(quire.designer.__file__).parent,
        "widgets": Path(quire.widgets.__file__).parent,
        "plugins": Path(quire.plugins.__file__).parent,
    }
    files = []
    for prefix, root in roots.items():
        for path in sorted(root.rglob("*.py")):
            if "tests" in path.relative_to(root).parts or "migrations" in path.parts:
                continue
            files.append((f"{prefix}/{path.relative_to(root).as_posix()}", path))
    return files


def test_nothing_reads_the_server_clock_or_the_zone_setting_but_the_clock_module():
    files = _sources()
    assert len(files) > 100
    offences = {
        name: found for name, path in files if name not in ALLOWED and (found := _offences(path))
    }
    assert offences == {}, "use quire.runtime.clock (now, today, local_day, zone): " + str(offences)


def test_a_claim_filed_at_half_past_midnight_in_shanghai_is_dated_that_day(app):
    with app.app_context(), clock.moved_to(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)):
        assert clock.today() == date(2026, 4, 1)
        assert clock.local_now().hour == 0
        # A grant valid until 1 April ends when that day ends in Shanghai.
        assert clock.end_of_day(date(2026, 4, 1)) == datetime(2026, 4, 1, 16, 0, tzinfo=UTC)


def test_an_unknown_zone_fails_at_start_up():
    with pytest.raises(Exception, match="Mars"):
        clock.configure({"TIMEZONE": "Mars/Olympus_Mons"})
