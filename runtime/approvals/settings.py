"""What the approval engine needs to know about the instance, handed in when the app is built.

The engine never reads Flask's configuration: the app factory calls :func:`configure` with
the roles that are "finance" when a task is moved off someone who left. Days and times come
from the instance's one clock (:mod:`quire.runtime.clock`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .. import clock

DEFAULT_FINANCE_ROLES = ("finance_admin", "finance_reviewer")


@dataclass(frozen=True)
class EngineSettings:
    #: Roles told when a task is moved off someone who has left.
    finance_roles: tuple[str, ...] = DEFAULT_FINANCE_ROLES


_settings = EngineSettings()


def configure(config: Mapping[str, Any]) -> None:
    """Called by the app factory with the app's configuration."""
    global _settings
    roles: Sequence[str] | None = config.get("APPROVAL_FINANCE_ROLES")
    _settings = EngineSettings(
        finance_roles=tuple(roles) if roles else DEFAULT_FINANCE_ROLES,
    )


def current() -> EngineSettings:
    return _settings


def local_day(moment: datetime) -> date:
    """The instance's calendar day at ``moment`` (the one clock's zone)."""
    return clock.local_day(moment)
