"""The instance's one clock and one time zone.

Every "now", "today" and "end of that day" in Quire comes from here, so a claim filed at
00:30 in Shanghai on a UTC server is dated that day everywhere (forms, approvals, grants,
reports, the operation log). The zone is ``QUIRE_TIMEZONE`` (default Asia/Shanghai): the app
factory hands it in with :func:`configure`; inside a request or job the running app's setting
wins, so two apps in one process (tests) each keep their own. Nothing here needs Flask: without
an app the configured zone is used, UTC if none was.

Tests move the clock with :func:`moved_to`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "configure",
    "end_of_day",
    "local_day",
    "local_now",
    "moved_to",
    "now",
    "start_of_day",
    "today",
    "zone",
]

_configured: str = "UTC"
_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def configure(config: Mapping[str, Any]) -> None:
    """Called by the app factory with the app's configuration."""
    global _configured
    name = str(config.get("TIMEZONE") or "Asia/Shanghai")
    _zone_named(name)  # an unknown zone fails at start-up, not at the first request
    _configured = name


@lru_cache(maxsize=16)
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The instance's time zone."""
    name = _configured
    try:
        from flask import current_app, has_app_context

        if has_app_context():
            name = str(current_app.config.get("TIMEZONE") or name)
    except ImportError:  # pragma: no cover - Flask is always installed with Quire
        pass
    return _zone_named(name)


def now() -> datetime:
    """This moment, timezone-aware UTC (what the database stores)."""
    return _now()


def local_now() -> datetime:
    """This moment in the instance's zone (for display, file names, "this year")."""
    return now().astimezone(zone())


def local_day(moment: datetime) -> date:
    """The instance's calendar day at ``moment``."""
    return moment.astimezone(zone()).date()


def today() -> date:
    """The instance's calendar day now."""
    return local_day(now())


def start_of_day(day: date) -> datetime:
    """The first moment of ``day`` in the instance's zone, as UTC."""
    return datetime.combine(day, time.min, tzinfo=zone()).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """The first moment after ``day`` ends in the instance's zone, as UTC: a grant "valid
    until 30 June" counts through that whole local day."""
    return start_of_day(day + timedelta(days=1))


@contextmanager
def moved_to(moment: datetime) -> Iterator[None]:
    """For tests: the clock reads ``moment`` (aware) until the block ends."""
    global _now
    if moment.tzinfo is None:
        raise ValueError("give the moment a time zone")
    before = _now
    _now = lambda: moment.astimezone(UTC)  # noqa: E731
    try:
        yield
    finally:
        _now = before
