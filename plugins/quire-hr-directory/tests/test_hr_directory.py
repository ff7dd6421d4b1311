"""The HR directory connector: the contract kit, then what the organisation sync relies on."""

from __future__ import annotations

import csv
import shutil

import httpx
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


# --- REST mode -------------------------------------------------------------------------------


def _sample_people() -> list[dict[str, str]]:
    with (sample_folder() / "employees.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _hr_api(pages: int = 1, *, seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """An HR API answering `{"data": {"items": [...]}}`, the people split over `pages`."""
    people = _sample_people()
    per_page = -(-len(people) // pages)

    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.headers.get("Authorization") != "Bearer hr-token":
            return httpx.Response(401)
        if request.url.path == "/api/v2/org/departments":
            items = [{"code": "RD", "name_zh": "研发中心", "name_en": "R&D", "parent": "HQ"}]
        elif request.url.path == "/api/v2/org/employees":
            page = int(request.url.params.get("page", "1"))
            items = people[(page - 1) * per_page : page * per_page] if pages > 1 else people
            items = [{**p, "employee_no": int(p["employee_no"][1:])} for p in items]
        else:
            return httpx.Response(404)
        return httpx.Response(200, json={"data": {"items": items}})

    return httpx.MockTransport(answer)


def _rest_directory(transport: httpx.MockTransport, **settings: object) -> HrDirectoryConnector:
    config = {
        "folder": "/nonexistent",
        "source": "rest",
        "base_url": "https://hr.example.com/api/v2/org/",
        "allowed_hosts": ["hr.example.com"],
        "auth_token": "Bearer hr-token",
        "rows_path": "data.items",
        "departments_path": "departments",
        **settings,
    }
    return HrDirectoryConnector(config, transport=transport)


def test_the_rest_mode_reads_the_same_people_as_the_csv_export():
    from_csv = list(_directory(sample_folder()).fetch("employees", {}, 100))
    from_api = list(_rest_directory(_hr_api()).fetch("employees", {}, 100))
    assert [p["username"] for p in from_api] == [p["username"] for p in from_csv]
    # Numbers in the JSON are text in the directory, like CSV cells.
    assert from_api[0]["employee_no"] == from_csv[0]["employee_no"].lstrip("E")
    rd = list(_rest_directory(_hr_api()).fetch("employees", {"department": "RD"}, 100))
    assert [p["username"] for p in rd] == ["rdmgr", "rd1", "rd2"]
    departments = list(_rest_directory(_hr_api()).fetch("departments", {}, 10))
    assert departments == [{"code": "RD", "name_zh": "研发中心", "name_en": "R&D", "parent": "HQ"}]


def test_a_paged_hr_api_is_read_page_after_page_until_an_empty_page():
    seen: list[httpx.Request] = []
    source = _rest_directory(_hr_api(pages=3, seen=seen), page_param="page")
    people = list(source.fetch("employees", {}, 100))
    assert len(people) == len(_sample_people())
    assert [r.url.params["page"] for r in seen] == ["1", "2", "3", "4"]
    # A limit stops the reading early.
    seen.clear()
    assert len(list(source.fetch("employees", {}, 2))) == 2
    assert len(seen) == 1


def test_the_rest_mode_says_what_is_wrong():
    with pytest.raises(ConfigInvalid) as no_url:
        HrDirectoryConnector(
            {"folder": "/x", "source": "rest", "allowed_hosts": ["hr.example.com"]}
        )
    assert "base_url" in no_url.value.message
    with pytest.raises(ConfigInvalid) as other_host:
        _rest_directory(_hr_api(), base_url="https://evil.example.net/api/")
    assert "allowed_hosts" in other_host.value.message
    with pytest.raises(SourceUnavailable, match="credentials"):
        wrong = "Bearer wrong"
        _rest_directory(_hr_api(), auth_token=wrong).test_connection()
    with pytest.raises(SourceUnavailable, match="no username"):
        list(_rest_directory(_hr_api(), employees_path="departments").fetch("employees", {}, 5))


def test_the_rest_mode_calls_no_private_address_through_the_runtime_reach():
    from quire.plugins.reach import Reach

    source = HrDirectoryConnector(
        {
            "folder": "/x",
            "source": "rest",
            "base_url": "http://127.0.0.1:8080/api/",
            "allowed_hosts": ["127.0.0.1"],
        },
        reach=Reach(),
    )
    with pytest.raises((QueryRejected, SourceUnavailable)):
        source.test_connection()
