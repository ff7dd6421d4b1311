"""The HR directory connector: the contract kit, then what the organisation sync relies on."""

from __future__ import annotations

import shutil

import pytest
from quire_hr_directory import HrDirectoryConnector, sample_folder

from quire.plugins.base import QueryRejected, SourceUnavailable

try:  # installed Quire maps plugins/testing to quire.testing; a source checkout has the other
    from quire.testing.connector_contract import ConnectorContract
except ImportError:
    from quire.plugins.testing.connector_contract import ConnectorContract


def _directory(folder) -> HrDirectoryConnector:
    return HrDirectoryConnector(
        {"employees_csv": folder / "employees.csv", "departments_csv": folder / "departments.csv"}
    )


class TestHrDirectoryContract(ConnectorContract):
    sample_query = "employees"
    hostile_query = "employees"
    hostile_param = "department"
    hostile_value_is_echoed = False
    rejected_query = "../../etc/passwd"
    lookup_key = "E1010"
    invalid_configs = [({"employees_csv": None}, ("employees_csv",))]

    @pytest.fixture
    def connector(self, tmp_path):
        for name in ("employees.csv", "departments.csv"):
            shutil.copy(sample_folder() / name, tmp_path / name)
        return _directory(tmp_path)

    @pytest.fixture
    def unavailable_connector(self, tmp_path):
        return _directory(tmp_path / "export-not-mounted")


def test_the_sample_is_the_demo_organisation_plus_one_new_hire():
    source = _directory(sample_folder())
    people = list(source.fetch("employees", {}, 100))
    assert len(people) == 13
    assert {p["status"] for p in people} == {"active"}
    rd = list(source.fetch("employees", {"department": "RD"}, 100))
    assert [p["username"] for p in rd] == ["rdmgr", "rd1", "rd2"]
    assert source.lookup("E1010")["username"] == "rd1"
    departments = {d["code"]: d for d in source.fetch("departments", {}, 100)}
    assert departments["SALES-E"]["parent"] == "SALES"


def test_a_department_code_with_drop_table_is_just_a_value(tmp_path):
    source = _directory(sample_folder())
    assert list(source.fetch("employees", {"department": "RD'; DROP TABLE users; --"}, 10)) == []


def test_an_unknown_status_in_the_export_says_so(tmp_path):
    (tmp_path / "employees.csv").write_text(
        "username,display_name,department,status\nrd1,Liu,RD,retired\n", encoding="utf-8"
    )
    source = HrDirectoryConnector({"employees_csv": tmp_path / "employees.csv"})
    with pytest.raises(SourceUnavailable, match="retired"):
        list(source.fetch("employees", {}, 10))


def test_departments_need_the_department_export(tmp_path):
    source = HrDirectoryConnector({"employees_csv": sample_folder() / "employees.csv"})
    with pytest.raises(QueryRejected):
        source.fetch("departments", {}, 10)
