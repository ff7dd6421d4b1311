"""The HR directory connector: the contract kit, then what the organisation sync relies on."""

from __future__ import annotations

import shutil

import pytest
from quire_hr_directory import HrDirectoryConnector, sample_folder

from quire.plugins.base import ConfigInvalid, QueryRejected, SourceUnavailable

try:  # installed Quire maps plugins/testing to quire.testing; a source checkout has the other
    from quire.testing.connector_contract import ConnectorContract
except ImportError:
    from quire.plugins.testing.connector_contract import ConnectorContract


def _directory(folder) -> HrDirectoryConnector:
    return HrDirectoryConnector(
        {"folder": folder, "employees_csv": "employees.csv", "departments_csv": "departments.csv"}
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
    source = HrDirectoryConnector({"folder": tmp_path})
    with pytest.raises(SourceUnavailable, match="retired"):
        list(source.fetch("employees", {}, 10))


def test_departments_need_the_department_export(tmp_path):
    source = HrDirectoryConnector({"folder": sample_folder()})
    with pytest.raises(QueryRejected):
        source.fetch("departments", {}, 10)


@pytest.mark.parametrize("name", ["/etc/shadow.csv", "../employees.csv", "..\\employees.csv"])
def test_a_path_outside_the_folder_is_refused_in_the_configuration(tmp_path, name):
    with pytest.raises(ConfigInvalid) as info:
        HrDirectoryConnector({"folder": tmp_path, "employees_csv": name})
    assert ("employees_csv",) in [issue.path for issue in info.value.issues]


def test_a_symlink_out_of_the_folder_reads_nothing_and_says_no_more_than_for_a_missing_file(
    tmp_path,
):
    folder, outside = tmp_path / "hr-directory", tmp_path / "secret"
    folder.mkdir()
    outside.mkdir()
    shutil.copy(sample_folder() / "employees.csv", outside / "employees.csv")
    (folder / "employees.csv").symlink_to(outside / "employees.csv")
    linked = HrDirectoryConnector({"folder": folder})
    missing = HrDirectoryConnector({"folder": folder, "employees_csv": "nothing.csv"})
    with pytest.raises(SourceUnavailable) as via_link:
        linked.test_connection()
    with pytest.raises(SourceUnavailable) as not_there:
        missing.test_connection()
    assert str(tmp_path) not in via_link.value.message
    assert via_link.value.message.replace("employees.csv", "X") == not_there.value.message.replace(
        "nothing.csv", "X"
    )
