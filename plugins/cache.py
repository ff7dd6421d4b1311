"""What the runtime puts around every connector call: a deadline and a per-source cache.

A page that shows a select fed by the ERP must not hang because the ERP hangs, and must not
fail with a 500 because a plugin has a bug. `GuardedSource` runs each call against a deadline
and turns anything that is not already a `ConnectorError` into `SourceUnavailable`, so the page
can say "source unavailable" and go on. Results can be cached per source for a TTL, keyed by
query, parameters and limit, because the same look-up list is asked for by every form opened.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .base import ColumnInfo, Connector, ConnectorError, SourceUnavailable, check_limit

__all__ = ["GuardedSource", "ResultCache", "call_with_deadline"]

T = TypeVar("T")


class ResultCache:
    """A small thread-safe TTL + LRU cache of query results, shared by all sources of an app."""

    def __init__(self, max_entries: int = 512, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= self._clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, ttl_s: float) -> None:
        with self._lock:
            self._items[key] = (self._clock() + ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self._max_entries:
                self._items.popitem(last=False)

    def clear_source(self, source: str) -> None:
        """Forget one source's results, after its configuration or data was changed."""
        with self._lock:
            for key in [k for k in self._items if isinstance(k, tuple) and k[:1] == (source,)]:
                del self._items[key]


def call_with_deadline(fn: Callable[[], T], timeout_s: float, source: str) -> T:
    """Run `fn` in a worker thread and give up waiting after `timeout_s` seconds.

    Python cannot kill the thread, so a call that overruns finishes in the background (the
    connector's own statement or HTTP timeout ends it); the caller gets `SourceUnavailable` at
    the deadline either way. Errors other than `ConnectorError` become `SourceUnavailable` too,
    so a plugin's bug disables that source, not the page.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"quire-source-{source}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise SourceUnavailable(
            f"The source {source!r} did not answer within {timeout_s:g} seconds."
        )
    error = outcome.get("error")
    if isinstance(error, ConnectorError):
        raise error
    if error is not None:
        raise SourceUnavailable(
            f"The source {source!r} failed unexpectedly ({type(error).__name__})."
        ) from error
    return outcome["value"]


@dataclass
class GuardedSource:
    """A configured data source as the runtime uses it: deadline, cache, typed errors only.

    `fetch_rows` returns a list rather than a stream, because a cached or deadline-bound result
    has to be complete; the connector's own `fetch` stays streaming for exports that need it.
    """

    #: The data source's stable name (its id in the runtime), used in messages and cache keys.
    source: str
    connector: Connector
    timeout_s: float = 15.0
    cache: ResultCache | None = None
    ttl_s: float = 0.0

    def fetch_rows(self, query: str, params: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
        check_limit(limit)
        key = (self.source, "fetch", query, _frozen(params), limit)
        rows = self._cached(key, lambda: list(self.connector.fetch(query, params, limit)))
        return [dict(row) for row in rows]  # callers may change their copy, not the cache's

    def columns(self, query: str) -> list[ColumnInfo]:
        key = (self.source, "columns", query)
        return self._cached(key, lambda: self.connector.columns(query))

    def lookup(self, key: str) -> dict[str, Any] | None:
        cache_key = (self.source, "lookup", key)
        return self._cached(cache_key, lambda: self.connector.lookup(key))

    def test_connection(self) -> None:
        call_with_deadline(self.connector.test_connection, self.timeout_s, self.source)

    def _cached(self, key: tuple[Any, ...], produce: Callable[[], T]) -> T:
        cache = self.cache if self.ttl_s > 0 else None
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit
        value = call_with_deadline(produce, self.timeout_s, self.source)
        if cache is not None and value is not None:
            cache.put(key, value, self.ttl_s)
        return value


def _frozen(value: Any) -> Hashable:
    """A hashable, type-preserving form of parameters: "1" and 1 must not share a cache entry."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        items = [_frozen(v) for v in value]
        return (
            type(value).__name__,
            tuple(sorted(items, key=repr) if isinstance(value, set | frozenset) else items),
        )
    return (type(value).__name__, value)
