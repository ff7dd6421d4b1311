"""The tutorial connector in docs/plugins.md is real code: it is under 50 lines and passes the
contract kit, so the tutorial cannot rot."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from quire.plugins.testing.connector_contract import ConnectorContract

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
RATES = {
    "rates": [
        {"currency": "USD", "rate": 7.1234, "date": "2025-03-03"},
        {"currency": "EUR", "rate": 7.8012, "date": "2025-03-03"},
    ]
}


def _tutorial_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- tutorial-connector.*?-->\s*```python\n(.*?)```", text, re.DOTALL)
    assert match, "the tutorial block is marked with <!-- tutorial-connector ... -->"
    return match.group(1)


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    path = tmp_path_factory.mktemp("tutorial") / "quire_conn_test_treasury_rates.py"
    path.write_text(_tutorial_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[path.stem]


def test_the_tutorial_connector_is_under_50_lines():
    assert len(_tutorial_source().strip().splitlines()) < 50


class TestTutorialContract(ConnectorContract):
    sample_query = "rates"
    hostile_query = "rates"
    hostile_param = "currency"
    hostile_value_is_echoed = False
    rejected_query = "../../etc/passwd"
    invalid_configs = [({"path": None}, ("path",))]

    @pytest.fixture
    def connector(self, tutorial, tmp_path):
        (tmp_path / "rates.json").write_text(json.dumps(RATES))
        return tutorial.TreasuryRates({"path": tmp_path / "rates.json"})

    @pytest.fixture
    def unavailable_connector(self, tutorial, tmp_path):
        return tutorial.TreasuryRates({"path": tmp_path / "not-yet-published.json"})
