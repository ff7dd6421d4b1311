"""What the approval engine needs to know about the instance, handed in when the app is built.

The engine never reads Flask's configuration: the app factory calls :func:`configure` with
the instance's time zone (which day "today" is, for delegations and due dates) and the roles
that are "finance" when a task is moved off someone who left. Without it (a script outside
an app) days are UTC days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_FINANCE_ROLES = ("finance_admin", "finance_reviewer")


@dataclass(frozen=True)
class EngineSettings:
    #: The instance's time zone: local days for delegation windows and formulas' ``today``.
    zone: ZoneInfo = ZoneInfo("UTC")
    #: Roles told when a task is moved off someone who has left.
    finance_roles: tuple[str, ...] = DEFAULT_FINANCE_ROLES


_settings = EngineSettings()


def configure(config: Mapping[str, Any]) -> None:
    """Called by the app factory with the app's configuration."""
    global _settings
    roles: Sequence[str] | None = config.get("APPROVAL_FINANCE_ROLES")
    _settings = EngineSettings(
        zone=ZoneInfo(config.get("TIMEZONE") or "Asia/Shanghai"),
        finance_roles=tuple(roles) if roles else DEFAULT_FINANCE_ROLES,
    )


def current() -> EngineSettings:
    return _settings


def local_day(moment: datetime) -> date:
    """The instance's calendar day at ``moment``."""
    return moment.astimezone(_settings.zone).date()
