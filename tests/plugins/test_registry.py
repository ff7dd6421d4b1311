"""Connector discovery: one broken plugin disables only itself."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from quire.plugins.builtin.sql import SqlConnector
from quire.plugins.registry import ENTRY_POINT_GROUP, UnknownConnector, discover

BUILTINS = {
    "sql": "quire.plugins.builtin.sql:SqlConnector",
    "file": "quire.plugins.builtin.file:FileConnector",
    "rest": "quire.plugins.builtin.rest:RestConnector",
}


def _ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """Importable throwaway plugin modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "quire_conn_test_broken.py").write_text(
        'raise RuntimeError("ERP client library is misconfigured")\n'
    )
    (tmp_path / "quire_conn_test_misc.py").write_text(
        "from quire.plugins.base import Connector\n"
        "class NotAConnector: pass\n"
        "class Misnamed(Connector):\n"
        "    type_name = 'other'\n"
        "    display_name = {'zh': '别名', 'en': 'Misnamed'}\n"
        "class NeedsDriver(Connector):\n"
        "    type_name = 'oracle'\n"
        "    display_name = {'zh': '甲骨文', 'en': 'Oracle'}\n"
        "    requires_modules = ('quire_conn_test_no_oracledb',)\n"
        "class Raising(Connector):\n"
        "    type_name = 'raising'\n"
        "    display_name = {'zh': '坏', 'en': 'Bad'}\n"
        "    @classmethod\n"
        "    def enabled(cls):\n"
        "        raise OSError('license file missing')\n"
    )
    return tmp_path


def test_builtins_are_found_through_entry_points():
    registry = discover([_ep(name, value) for name, value in BUILTINS.items()])
    assert [e.name for e in registry.available()] == ["file", "rest", "sql"]
    assert registry.get("sql") is SqlConnector
    assert all(e.status == "ok" and e.version == "1.0" for e in registry)


def test_a_broken_plugin_is_listed_with_its_error_and_the_others_still_work(plugin_dir, tmp_path):
    registry = discover(
        [
            _ep("broken", "quire_conn_test_broken:Connector"),
            *(_ep(name, value) for name, value in BUILTINS.items()),
        ]
    )
    broken = registry.entry("broken")
    assert broken.status.startswith("error: ")
    assert "ERP client library is misconfigured" in broken.status
    assert broken.connector is None
    assert [e.name for e in registry.available()] == ["file", "rest", "sql"]

    source = registry.create("sql", {"url": f"sqlite:///{tmp_path / 'x.db'}"})
    source.test_connection()
    with pytest.raises(UnknownConnector, match="broken"):
        registry.create("broken", {})


def test_each_kind_of_bad_entry_gets_its_own_sentence(plugin_dir):
    registry = discover(
        [
            _ep("not_a_connector", "quire_conn_test_misc:NotAConnector"),
            _ep("misnamed", "quire_conn_test_misc:Misnamed"),
            _ep("oracle", "quire_conn_test_misc:NeedsDriver"),
            _ep("raising", "quire_conn_test_misc:Raising"),
            _ep("sql", BUILTINS["sql"]),
            _ep("sql", "quire_conn_test_misc:Misnamed"),
        ]
    )
    status = {(e.name, e.value): e.status for e in registry}
    assert (
        "is not a Connector subclass"
        in status[("not_a_connector", "quire_conn_test_misc:NotAConnector")]
    )
    assert "does not match" in status[("misnamed", "quire_conn_test_misc:Misnamed")]
    assert status[("oracle", "quire_conn_test_misc:NeedsDriver")] == "disabled: driver missing"
    assert "license file missing" in status[("raising", "quire_conn_test_misc:Raising")]
    assert status[("sql", BUILTINS["sql"])] == "ok"
    assert "already taken" in status[("sql", "quire_conn_test_misc:Misnamed")]
    assert registry.get("sql") is SqlConnector
    assert len(list(registry)) == 6


def test_unknown_type_is_a_clear_error():
    with pytest.raises(UnknownConnector, match="No connector of type 'sap'"):
        discover([]).get("sap")


def test_discover_reads_installed_entry_points_when_called():
    # Without arguments it reads the installed group (the example plugin may be installed).
    registry = discover()
    assert all(e.status for e in registry)


def test_contract_kit_also_loads_under_its_installed_name_quire_testing():
    """pyproject maps plugins/testing to quire.testing, so the kit must not import relatively."""
    import importlib.util
    import sys
    from pathlib import Path

    import quire.plugins.testing

    path = Path(quire.plugins.testing.__file__).with_name("connector_contract.py")
    spec = importlib.util.spec_from_file_location("quire_conn_test_kit_copy", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.ConnectorContract.__name__ == "ConnectorContract"
