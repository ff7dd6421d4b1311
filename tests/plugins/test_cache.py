"""The guard around every connector call: deadline, typed errors, TTL cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from quire.plugins.base import Connector, QueryRejected, SourceUnavailable
from quire.plugins.cache import GuardedSource, ResultCache, call_with_deadline


class _Counting(Connector):
    type_name = "counting"
    display_name = {"zh": "计数", "en": "Counting"}

    def __init__(self, config=None, *, delay_s: float = 0.0, fail: Exception | None = None):
        super().__init__(config or {})
        self.calls = 0
        self.delay_s = delay_s
        self.fail = fail
        self.released = threading.Event()

    def fetch(self, query, params, limit) -> Iterator[dict]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        if self.delay_s:
            self.released.wait(self.delay_s)
        return iter([{"dept": params.get("dept"), "n": self.calls}][:limit])


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_slow_source_becomes_source_unavailable_within_the_timeout():
    slow = _Counting(delay_s=30)
    guarded = GuardedSource("erp", slow, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="'erp' did not answer within 0.3 seconds"):
        guarded.fetch_rows("actuals", {}, 10)
    assert time.monotonic() - started < 1.5
    slow.released.set()


def test_a_plugin_bug_becomes_source_unavailable_with_its_cause():
    guarded = GuardedSource("erp", _Counting(fail=KeyError("period")))
    with pytest.raises(SourceUnavailable, match="failed unexpectedly") as info:
        guarded.fetch_rows("actuals", {}, 10)
    assert isinstance(info.value.__cause__, KeyError)


def test_connector_errors_pass_through_unchanged():
    guarded = GuardedSource("erp", _Counting(fail=QueryRejected("no such query")))
    with pytest.raises(QueryRejected, match="no such query"):
        guarded.fetch_rows("actuals", {}, 10)


def test_results_are_cached_per_source_query_and_params_until_the_ttl():
    clock = _Clock()
    cache = ResultCache(clock=clock)
    connector = _Counting()
    guarded = GuardedSource("erp", connector, cache=cache, ttl_s=60)

    first = guarded.fetch_rows("actuals", {"dept": "HQ"}, 10)
    first[0]["n"] = "changed by the caller"
    assert guarded.fetch_rows("actuals", {"dept": "HQ"}, 10) == [{"dept": "HQ", "n": 1}]
    assert connector.calls == 1

    guarded.fetch_rows("actuals", {"dept": "FIN"}, 10)
    GuardedSource("hr", connector, cache=cache, ttl_s=60).fetch_rows("actuals", {"dept": "HQ"}, 10)
    assert connector.calls == 3

    clock.now += 61
    guarded.fetch_rows("actuals", {"dept": "HQ"}, 10)
    assert connector.calls == 4

    cache.clear_source("erp")
    guarded.fetch_rows("actuals", {"dept": "HQ"}, 10)
    assert connector.calls == 5


def test_parameter_types_are_part_of_the_cache_key():
    connector = _Counting()
    guarded = GuardedSource("erp", connector, cache=ResultCache(), ttl_s=60)
    guarded.fetch_rows("q", {"dept": 1}, 10)
    guarded.fetch_rows("q", {"dept": "1"}, 10)
    guarded.fetch_rows("q", {"dept": ["HQ", "FIN"]}, 10)
    guarded.fetch_rows("q", {"dept": ["HQ", "FIN"]}, 10)
    assert connector.calls == 3


def test_the_cache_evicts_the_least_recently_used():
    cache = ResultCache(max_entries=2)
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    cache.get("a")
    cache.put("c", 3, 60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_call_with_deadline_returns_the_value():
    assert call_with_deadline(lambda: 42, 1.0, "x") == 42
