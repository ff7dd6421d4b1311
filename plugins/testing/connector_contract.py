"""The connector contract as pytest tests, for a plugin's own test suite.

Subclass `ConnectorContract` in a test module, give it a sample query and two fixtures, and
pytest runs every check against your connector::

    from quire.testing.connector_contract import ConnectorContract

    class TestLedgerContract(ConnectorContract):
        sample_query = "actuals"
        sample_params = {"year": 2025}
        hostile_query = "actuals"
        hostile_param = "department"
        hostile_extra_params = {"year": 2025}
        hostile_value_is_echoed = False

        @pytest.fixture
        def connector(self, tmp_path):
            ...  # a connector reading a source that has at least two sample rows

        @pytest.fixture
        def unavailable_connector(self):
            ...  # the same connector type pointed at a source that is down

The checks: identity and config schema (secrets marked), configuration errors are
`ConfigInvalid` with paths and never echo secrets, `fetch` streams and honours its limit,
parameters are bound (a hostile value is data and drops nothing), unusable queries are
`QueryRejected`, a dead source is `SourceUnavailable`, and `lookup` matches the capability.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from quire.plugins.base import (
    COLUMN_TYPES,
    ColumnInfo,
    ConfigInvalid,
    Connector,
    QueryRejected,
    SourceUnavailable,
)

__all__ = ["HOSTILE_VALUE", "ConnectorContract"]

#: A classic injection attempt; a connector must treat it as an ordinary value.
HOSTILE_VALUE = "x'; DROP TABLE t; --"

_CANARY = "canary-secret-5f1c"


class ConnectorContract:
    """Checks every connector must pass. Not collected by itself (its name has no Test prefix);
    subclasses named `Test...` are."""

    #: A query that returns at least two rows from the `connector` fixture's source.
    sample_query: ClassVar[str]
    sample_params: ClassVar[Mapping[str, Any]] = {}
    #: A query with a parameter that reaches the source (placeholder, filter, query string).
    hostile_query: ClassVar[str]
    hostile_param: ClassVar[str]
    hostile_extra_params: ClassVar[Mapping[str, Any]] = {}
    #: True if the source holds or echoes HOSTILE_VALUE, so a row must carry it back intact;
    #: False if no row matches it (then the check is that nothing matched and nothing changed).
    hostile_value_is_echoed: ClassVar[bool] = True
    #: A parameter of `sample_query` that is required: leaving it out must be QueryRejected.
    required_param: ClassVar[str | None] = None
    #: A query the connector must refuse (a write, a path outside the source...).
    rejected_query: ClassVar[str | None] = None
    #: Configurations that must fail, each with a path that must be among the issues.
    invalid_configs: ClassVar[Sequence[tuple[Mapping[str, Any], tuple[str | int, ...]]]] = ()
    #: For connectors with capabilities.lookup: a key that exists in the sample source.
    lookup_key: ClassVar[str | None] = None

    @pytest.fixture
    def connector(self) -> Connector:
        pytest.fail("Define a `connector` fixture returning a connector with sample data.")

    @pytest.fixture
    def unavailable_connector(self) -> Connector:
        pytest.fail("Define an `unavailable_connector` fixture pointing at a source that is down.")

    # --- identity and configuration -------------------------------------------------------

    def test_identity_is_declared(self, connector: Connector) -> None:
        cls = type(connector)
        assert isinstance(cls.type_name, str) and cls.type_name.isidentifier()
        assert {"zh", "en"} <= set(cls.display_name), "display_name needs 'zh' and 'en'"
        assert isinstance(cls.version, str) and cls.version
        assert cls.enabled() is True

    def test_config_schema_is_json_and_marks_every_secret(self, connector: Connector) -> None:
        cls = type(connector)
        schema = cls.config_schema()
        assert schema.get("type") == "object"
        for name, field in cls.Config.model_fields.items():
            is_secret_type = _mentions(field.annotation, SecretStr)
            assert is_secret_type == (name in cls.secret_fields()), (
                f"{name}: SecretStr fields and json_schema_extra={{'secret': True}} must match"
            )

    def test_unknown_config_key_is_config_invalid_at_its_path(self, connector: Connector) -> None:
        raw = {**_raw_config(connector), "no_such_option": 1}
        with pytest.raises(ConfigInvalid) as info:
            type(connector).parse_config(raw)
        assert ("no_such_option",) in [issue.path for issue in info.value.issues]

    def test_invalid_configs_name_their_paths(self, connector: Connector) -> None:
        for overrides, path in self.invalid_configs:
            with pytest.raises(ConfigInvalid) as info:
                type(connector).parse_config({**_raw_config(connector), **overrides})
            paths = [issue.path for issue in info.value.issues]
            assert path in paths, f"{overrides}: expected an issue at {path}, got {paths}"

    def test_config_errors_never_echo_secrets(self, connector: Connector) -> None:
        cls = type(connector)
        raw = _raw_config(connector)
        for name in cls.secret_fields():
            raw[name] = _CANARY
        raw["no_such_option"] = _CANARY
        with pytest.raises(ConfigInvalid) as info:
            cls.parse_config(raw)
        assert _CANARY not in str(info.value)
        assert _CANARY not in repr(connector.config)

    # --- fetching ---------------------------------------------------------------------------

    def test_connection_succeeds(self, connector: Connector) -> None:
        assert connector.test_connection() is None

    def test_fetch_streams_dicts(self, connector: Connector) -> None:
        stream = connector.fetch(self.sample_query, dict(self.sample_params), 100)
        assert isinstance(stream, Iterator) and not isinstance(stream, list | tuple)
        rows = list(stream)
        assert len(rows) >= 2, "the sample source must give at least two rows"
        assert all(isinstance(row, dict) for row in rows)

    def test_fetch_honours_limit_and_can_stop_early(self, connector: Connector) -> None:
        assert len(list(connector.fetch(self.sample_query, dict(self.sample_params), 1))) == 1
        stream = connector.fetch(self.sample_query, dict(self.sample_params), 100)
        next(stream)
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # releasing the cursor early must not raise

    def test_nonpositive_limit_is_rejected(self, connector: Connector) -> None:
        with pytest.raises(QueryRejected):
            connector.fetch(self.sample_query, dict(self.sample_params), 0)

    def test_columns_describe_fetched_rows(self, connector: Connector) -> None:
        columns = connector.columns(self.sample_query)
        assert all(isinstance(c, ColumnInfo) and c.type in COLUMN_TYPES for c in columns)
        row = next(connector.fetch(self.sample_query, dict(self.sample_params), 1))
        assert list(row) == [c.name for c in columns]

    def test_hostile_parameter_is_bound_as_a_value(self, connector: Connector) -> None:
        before = list(connector.fetch(self.sample_query, dict(self.sample_params), 1000))
        params = {**self.hostile_extra_params, self.hostile_param: HOSTILE_VALUE}
        rows = list(connector.fetch(self.hostile_query, params, 100))
        if self.hostile_value_is_echoed:
            assert any(HOSTILE_VALUE in row.values() for row in rows), (
                "the hostile value should come back literally"
            )
        else:
            assert rows == []
        after = list(connector.fetch(self.sample_query, dict(self.sample_params), 1000))
        assert after == before, "the source changed after a query with a hostile parameter"

    def test_missing_parameter_is_rejected(self, connector: Connector) -> None:
        if self.required_param is None:
            pytest.skip("no required parameter declared")
        params = {k: v for k, v in self.sample_params.items() if k != self.required_param}
        with pytest.raises(QueryRejected):
            list(connector.fetch(self.sample_query, params, 10))

    def test_unacceptable_query_is_rejected(self, connector: Connector) -> None:
        if self.rejected_query is None:
            pytest.skip("no rejected query declared")
        with pytest.raises(QueryRejected):
            list(connector.fetch(self.rejected_query, dict(self.sample_params), 10))

    def test_unavailable_source_is_source_unavailable(
        self, unavailable_connector: Connector
    ) -> None:
        with pytest.raises(SourceUnavailable) as info:
            unavailable_connector.test_connection()
        assert info.value.message
        with pytest.raises(SourceUnavailable):
            list(unavailable_connector.fetch(self.sample_query, dict(self.sample_params), 10))

    def test_lookup_matches_capability(self, connector: Connector) -> None:
        if not type(connector).capabilities.lookup:
            with pytest.raises(QueryRejected):
                connector.lookup("anything")
            return
        if self.lookup_key is None:
            pytest.skip("no lookup_key declared")
        try:
            found = connector.lookup(self.lookup_key)
        except QueryRejected:
            pytest.skip("look-ups are not configured for this sample")
        assert isinstance(found, dict)
        assert connector.lookup("quire-contract-no-such-key") is None


def _raw_config(connector: Connector) -> dict[str, Any]:
    """The connector's config as plain values, secrets unwrapped, for building variants."""
    raw = {}
    for name, value in connector.config:
        raw[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return raw


def _mentions(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_mentions(arg, target) for arg in getattr(annotation, "__args__", ()))
