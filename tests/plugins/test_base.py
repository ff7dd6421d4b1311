from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from pydantic import Field, SecretStr

from quire.plugins.base import (
    ColumnInfo,
    ConfigInvalid,
    ConfigIssue,
    Connector,
    ConnectorConfig,
    ConnectorError,
    QueryRejected,
    SourceUnavailable,
    column_type_of,
    require_params,
)


class _Config(ConnectorConfig):
    host: str
    port: int = 5432
    token: SecretStr = Field(json_schema_extra={"secret": True})


class _Echo(Connector):
    type_name = "echo"
    display_name = {"zh": "回显", "en": "Echo"}
    Config = _Config


def test_error_family_is_typed():
    for cls in (SourceUnavailable, QueryRejected, ConfigInvalid):
        assert issubclass(cls, ConnectorError)


def test_bad_config_lists_each_problem_with_its_path_and_hides_the_secret():
    with pytest.raises(ConfigInvalid) as info:
        _Echo({"port": "not a port", "token": "hunter2", "extra": 1})
    paths = {issue.path for issue in info.value.issues}
    assert paths == {("host",), ("port",), ("extra",)}
    assert "hunter2" not in str(info.value)


def test_issue_paths_read_like_form_paths():
    assert ConfigIssue(("files", 0, "name"), "x").dotted == "files[0].name"
    assert ConfigIssue((), "x").dotted == ""


def test_secret_fields_come_from_the_schema_hint():
    assert _Echo.secret_fields() == {"token"}
    schema = _Echo.config_schema()
    assert schema["properties"]["token"]["secret"] is True
    assert "hunter2" not in repr(_Echo({"host": "h", "token": "hunter2"}).config)


def test_enabled_checks_required_modules():
    class NeedsDriver(_Echo):
        requires_modules = ("quire_conn_test_no_such_driver",)

    assert _Echo.enabled() is True
    assert NeedsDriver.enabled() is False


def test_lookup_is_refused_unless_implemented():
    with pytest.raises(QueryRejected):
        _Echo({"host": "h", "token": "t"}).lookup("HQ")


def test_missing_placeholders_are_named():
    with pytest.raises(QueryRejected, match=":dept"):
        require_params({"dept", "year"}, {"year": 2025})


def test_column_types_from_values():
    assert column_type_of(Decimal("1.5")) == "number"
    assert column_type_of(True) == "boolean"
    assert column_type_of(date(2025, 1, 1)) == "date"
    assert column_type_of(datetime(2025, 1, 1)) == "datetime"
    assert column_type_of("HQ") == "text"
    assert ColumnInfo("amount", "money").type == "money"
