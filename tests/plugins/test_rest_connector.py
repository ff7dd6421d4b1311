"""The rest connector, against httpx.MockTransport (no network)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from quire.plugins.base import QueryRejected, SourceUnavailable
from quire.plugins.builtin.rest import RestConnector
from quire.plugins.testing.connector_contract import ConnectorContract

EMPLOYEES = [
    {"id": "E1", "dept": "HQ", "name": "Wang Fang", "salary": 12000.50},
    {"id": "E2", "dept": "FIN", "name": "Li Wei", "salary": 9800},
    {"id": "E3", "dept": "HQ", "name": "Zhao Min", "salary": 15000},
]


class HrApi:
    """A fake HR system that records what it was asked."""

    def __init__(self):
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != "Bearer hr-token":
            return httpx.Response(401)
        path = request.url.path
        if path == "/api/v1/employees":
            dept = request.url.params.get("dept")
            items = [e for e in EMPLOYEES if dept is None or e["dept"] == dept]
            return httpx.Response(200, json={"data": {"items": items}})
        if path == "/api/v1/echo":
            return httpx.Response(200, json={"data": {"items": [dict(request.url.params)]}})
        if path == "/api/v1/moved":
            return httpx.Response(302, headers={"Location": "/api/v1/employees"})
        if path == "/api/v1/escape":
            return httpx.Response(302, headers={"Location": "https://evil.example.net/steal"})
        if path == "/api/v1/slow":
            raise httpx.ReadTimeout("timed out", request=request)
        if path == "/api/v1/huge":
            return httpx.Response(200, content=b"[" + b"1," * 5000 + b"1]")
        if path == "/api/":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(404)


CONFIG = {
    "base_url": "https://hr.example.com/api/",
    "allowed_hosts": ["hr.example.com"],
    "auth_token": "Bearer hr-token",
    "rows_path": "data.items",
    "timeout_s": 2,
}


def _rest(api, **extra) -> RestConnector:
    return RestConnector({**CONFIG, **extra}, transport=httpx.MockTransport(api))


class TestRestContract(ConnectorContract):
    sample_query = "v1/employees"
    hostile_query = "v1/echo"
    hostile_param = "dept"
    rejected_query = "https://evil.example.net/api/v1/employees"
    invalid_configs = [
        ({"base_url": "https://other.example.com/"}, ()),
        ({"allowed_hosts": []}, ("allowed_hosts",)),
        ({"allowed_hosts": ["https://hr.example.com/x"]}, ("allowed_hosts",)),
        ({"rows_path": "data..items"}, ("rows_path",)),
    ]

    @pytest.fixture
    def connector(self):
        return _rest(HrApi())

    @pytest.fixture
    def unavailable_connector(self):
        def refuse(request):
            raise httpx.ConnectError("connection refused", request=request)

        return _rest(refuse)


def test_rows_come_from_the_json_path_with_decimal_amounts():
    rows = list(_rest(HrApi()).fetch("v1/employees", {"dept": "HQ"}, 10))
    assert [r["id"] for r in rows] == ["E1", "E3"]
    assert rows[0]["salary"] == Decimal("12000.50")


def test_parameters_travel_as_query_parameters_not_in_the_path():
    api = HrApi()
    list(_rest(api).fetch("v1/employees", {"dept": "HQ/../admin?x=1", "ids": ["E1", "E2"]}, 10))
    sent = api.requests[-1].url
    assert sent.path == "/api/v1/employees"
    assert sent.params.get_list("ids") == ["E1", "E2"]
    assert sent.params["dept"] == "HQ/../admin?x=1"


def test_the_rest_connector_will_not_follow_a_redirect_to_another_host():
    api = HrApi()
    with pytest.raises(SourceUnavailable, match="evil.example.net"):
        list(_rest(api).fetch("v1/escape", {}, 10))
    assert {r.url.host for r in api.requests} == {"hr.example.com"}


def test_a_redirect_on_the_same_host_is_followed_with_credentials():
    api = HrApi()
    rows = list(_rest(api).fetch("v1/moved", {}, 10))
    assert len(rows) == 3
    assert [r.url.path for r in api.requests] == ["/api/v1/moved", "/api/v1/employees"]


def test_a_query_cannot_leave_the_allowed_hosts():
    source = _rest(HrApi())
    for query in [
        "//evil.example.net/x",
        "http://hr.example.com/api/v1/employees",
        "v1/employees?dept=HQ",
    ]:
        with pytest.raises(QueryRejected):
            source.fetch(query, {}, 10)


def test_subdomain_wildcards_in_the_allow_list():
    source = _rest(HrApi(), allowed_hosts=["*.example.com"])
    assert len(list(source.fetch("v1/employees", {}, 10))) == 3


def test_timeouts_bad_credentials_and_oversized_answers_are_unavailable():
    with pytest.raises(SourceUnavailable, match="within 2 seconds"):
        list(_rest(HrApi()).fetch("v1/slow", {}, 10))
    with pytest.raises(SourceUnavailable, match="refused the credentials"):
        list(_rest(HrApi(), auth_token="Bearer wrong").fetch("v1/employees", {}, 10))
    with pytest.raises(SourceUnavailable, match="more than 1000 bytes"):
        list(_rest(HrApi(), max_response_bytes=1000, rows_path="").fetch("v1/huge", {}, 10))
    with pytest.raises(QueryRejected, match="HTTP 404"):
        list(_rest(HrApi()).fetch("v1/nothing-here", {}, 10))


def test_the_token_is_a_secret():
    source = _rest(HrApi())
    assert "hr-token" not in repr(source.config)
    assert RestConnector.secret_fields() == {"auth_token"}
