"""Finding the installed connector types.

Connectors are found through the `quire.connectors` entry-point group, the built-in ones
included (`sql`, `file`, `rest` are declared in Quire's own pyproject), so there is one way in.
`discover()` runs when the app factory calls it, never at import time, and each entry point is
loaded on its own: a plugin that fails to import, is not a `Connector`, or raises while being
checked is recorded with its error and disables only itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from importlib.metadata import entry_points as installed_entry_points
from typing import Any

from .base import Connector, ConnectorError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorEntry",
    "ConnectorRegistry",
    "UnknownConnector",
    "discover",
]

ENTRY_POINT_GROUP = "quire.connectors"

log = logging.getLogger(__name__)


class UnknownConnector(ConnectorError):
    """A data source names a connector type that is not installed or did not load."""


@dataclass(frozen=True)
class ConnectorEntry:
    """One entry point of the group, as `quire plugins list` and the admin page show it."""

    #: The entry-point name, which is the connector's `type_name`.
    name: str
    #: "module:attribute", where the entry point says the class is.
    value: str
    #: The installed distribution that declared it (None for entry points made by hand).
    distribution: str | None
    distribution_version: str | None
    #: "ok", "disabled: driver missing", or "error: <a sentence>".
    status: str
    #: The class when status is "ok" or "disabled: ..."; None when it could not be loaded.
    connector: type[Connector] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def version(self) -> str | None:
        """The connector's own version if it loaded, else the distribution's."""
        return self.connector.version if self.connector is not None else self.distribution_version


class ConnectorRegistry:
    """The connector types found at start-up, by name, with the broken ones kept for display."""

    def __init__(self, entries: Iterable[ConnectorEntry] = ()) -> None:
        #: Every entry in discovery order, duplicates and failures included, for the listing.
        self._listing: list[ConnectorEntry] = list(entries)
        #: The entry that owns each name: the first one found.
        self._entries: dict[str, ConnectorEntry] = {}
        for entry in self._listing:
            self._entries.setdefault(entry.name, entry)

    def __iter__(self) -> Iterator[ConnectorEntry]:
        """All entries for display, sorted by name, including broken and duplicate ones."""
        return iter(sorted(self._listing, key=lambda e: (e.name, e.distribution or "")))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def entry(self, name: str) -> ConnectorEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownConnector(f"No connector of type {name!r} is installed.") from None

    def available(self) -> list[ConnectorEntry]:
        """The entries that can be used now, for the "add data source" choice."""
        return [e for e in self if e.ok and self._entries[e.name] is e]

    def get(self, name: str) -> type[Connector]:
        """The class for a usable connector type; `UnknownConnector` says why it is not usable."""
        entry = self.entry(name)
        if not entry.ok or entry.connector is None:
            raise UnknownConnector(f"The {name!r} connector cannot be used ({entry.status}).")
        return entry.connector

    def create(self, name: str, config: Mapping[str, Any] | Any, **runtime: Any) -> Connector:
        """Make a connector of type `name`. `runtime` keywords (a session, the asking user)
        go to the constructor for connectors that need them."""
        return self.get(name)(config, **runtime)


def discover(entry_points: Iterable[EntryPoint] | None = None) -> ConnectorRegistry:
    """Load every connector entry point; `entry_points` replaces the installed ones in tests."""
    if entry_points is None:
        entry_points = installed_entry_points(group=ENTRY_POINT_GROUP)
    entries: list[ConnectorEntry] = []
    owners: dict[str, ConnectorEntry] = {}
    for ep in entry_points:
        entry = _load(ep)
        owner = owners.setdefault(entry.name, entry)
        if owner is not entry:
            by = owner.distribution or owner.value
            taken = f"error: the name {entry.name!r} is already taken by {by}"
            entry = _replace_status(entry, taken)
        if not entry.ok:
            log.warning("connector %s (%s): %s", entry.name, entry.value, entry.status)
        entries.append(entry)
    return ConnectorRegistry(entries)


def _load(ep: EntryPoint) -> ConnectorEntry:
    dist = getattr(ep, "dist", None)
    dist_name = dist.metadata["Name"] if dist is not None else None
    dist_version = dist.version if dist is not None else None

    def entry(status: str, cls: type[Connector] | None = None) -> ConnectorEntry:
        return ConnectorEntry(ep.name, ep.value, dist_name, dist_version, status, cls)

    try:
        obj = ep.load()
    except Exception as exc:  # any failure in third-party import code disables only that plugin
        log.debug("loading connector %s failed", ep.name, exc_info=True)
        return entry(f"error: it could not be imported ({type(exc).__name__}: {exc})")
    if not (isinstance(obj, type) and issubclass(obj, Connector)):
        return entry(f"error: {ep.value} is not a Connector subclass")
    cls: type[Connector] = obj
    if getattr(cls, "type_name", None) != ep.name:
        found = getattr(cls, "type_name", None)
        return entry(f"error: its type_name {found!r} does not match the entry-point name")
    try:
        usable = cls.enabled()
    except Exception as exc:
        return entry(f"error: checking its drivers failed ({type(exc).__name__}: {exc})", cls)
    if not usable:
        return entry("disabled: driver missing", cls)
    return entry("ok", cls)


def _replace_status(entry: ConnectorEntry, status: str) -> ConnectorEntry:
    return ConnectorEntry(
        entry.name, entry.value, entry.distribution, entry.distribution_version, status, None
    )
