"""Answers to read requests, kept per reader until Quire's data changes.

At month-end every manager polls the inbox and every department its list, while the data
they read changes a few times a second at most. An answer is kept in this worker's memory
under the reader, the full path with its query, the language, the minute of the one clock
and the data generation (`runtime.generation`): any committed write, by any worker on any
machine, moves the generation, and the next read builds a new answer. Nothing about who
may see what is cached apart from the answer itself: the bearer token or session is still
checked on every request, before the cache is asked.

An answer is kept at most ``ANSWER_CACHE_SECONDS`` (0 turns the cache off), and no longer
than the shortest cache time of any outside data source it read (a data source with no
cache time makes its answers uncacheable), because the generation cannot see those change.
Only 200 answers under ``_MAX_BYTES`` are kept; the store holds ``_MAX_ENTRIES`` answers,
oldest out first.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_login import current_user

from .. import clock, generation
from ..i18n import current_locale

_MAX_ENTRIES = 4096
_MAX_BYTES = 512 * 1024


class _Store:
    """A bounded, thread-safe LRU of (expires, status, mimetype, body) by key."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], tuple[float, int, str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], now: float) -> tuple[int, str, bytes] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= now:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1:]

    def put(self, key: tuple[Any, ...], expires: float, answer: tuple[int, str, bytes]) -> None:
        with self._lock:
            self._items[key] = (expires, *answer)
            self._items.move_to_end(key)
            while len(self._items) > _MAX_ENTRIES:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_store = _Store()


def clear() -> None:
    """Forget every kept answer (tests; the generation makes it unnecessary otherwise)."""
    _store.clear()


def kept(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve ``view`` (a GET answering JSON) from the cache while nothing it reads changed."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        seconds = current_app.config.get("ANSWER_CACHE_SECONDS") or 0
        if seconds <= 0 or request.method != "GET" or not current_user.is_authenticated:
            return view(*args, **kwargs)
        stamp = generation.of_request()
        if stamp is None:
            return view(*args, **kwargs)
        key = (
            # The app stands for its database: two apps in one process (tests) never share.
            current_app.extensions.setdefault("quire.answer_cache", object()),
            current_user.id,
            request.full_path,
            str(current_locale()),
            clock.now().replace(second=0, microsecond=0),
            stamp,
        )
        now = time.monotonic()
        hit = _store.get(key, now)
        if hit is not None:
            status, mimetype, body = hit
            return Response(body, status=status, mimetype=mimetype)
        outside, token = generation.watching_outside_reads()
        try:
            answer = current_app.make_response(view(*args, **kwargs))
        finally:
            generation.stop_watching(token)
        keep = min([float(seconds), *outside])
        if answer.status_code == 200 and keep > 0 and not answer.is_streamed:
            body = answer.get_data()
            if len(body) <= _MAX_BYTES:
                _store.put(key, now + keep, (200, answer.mimetype or "application/json", body))
        return answer

    return wrapper
