"""Where a data source may reach, and where it may not.

A data source is configured by a finance administrator, who is not the operator of the server.
A source must therefore not become a way to read Quire's own database, the files of its
instance folder, or the services on the server's own network (server-side request forgery).
The runtime hands each connector a `Reach` that says what this server forbids and allows; the
built-in connectors ask it before they open a database, a file or a connection.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import URL, make_url

from .base import QueryRejected, SourceUnavailable

__all__ = [
    "AddressRefused",
    "Network",
    "Reach",
    "file_in_folder",
    "parse_networks",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


class AddressRefused(QueryRejected):
    """The host of a request is on a network that data sources may not call."""


@dataclass(frozen=True)
class Reach:
    """What this server forbids a data source to touch.

    `instance_folder`: Quire's instance folder (database, uploads, secrets); nothing in it may be
    read except `own_folder`, the source's own folder ``instance/datasources/<key>/``.
    `own_database`: Quire's database URL; no source may connect to that database.
    `allowed_networks`: private, loopback or link-local ranges the operator allows sources to
    call (``QUIRE_CONNECTOR_ALLOWED_NETWORKS``); public addresses are always allowed.
    """

    instance_folder: Path | None = None
    own_folder: Path | None = None
    own_database: str | None = None
    allowed_networks: tuple[Network, ...] = ()

    # --- databases ----------------------------------------------------------------------------

    def check_database_url(self, value: str) -> None:
        """Raise `ValueError` (a sentence for the admin form) if the URL reaches Quire's own
        database or, for SQLite, a file in the instance folder outside the source's own folder."""
        url = make_url(value)
        if url.get_backend_name() == "sqlite":
            self._check_sqlite(url)
            return
        if self.own_database is None:
            return
        own = make_url(self.own_database)
        if own.get_backend_name() == "sqlite":
            return
        if _same_server(url, own) and (url.database or "") == (own.database or ""):
            raise ValueError("points at Quire's own database, which data sources may not read")

    def _check_sqlite(self, url: URL) -> None:
        paths = _sqlite_paths(url)
        own_db = None
        if self.own_database is not None:
            own = make_url(self.own_database)
            if own.get_backend_name() == "sqlite":
                own_db = next(iter(_sqlite_paths(own)), None)
        for path in paths:
            if own_db is not None and _same_file(path, own_db):
                raise ValueError("points at Quire's own database, which data sources may not read")
            if self.instance_folder is not None and _inside(path, self.instance_folder):
                if self.own_folder is None or not _inside(path, self.own_folder):
                    raise ValueError(
                        "points into Quire's instance folder; a SQLite file there must be in "
                        "this data source's own folder (datasources/<key>/)"
                    )

    # --- networks -----------------------------------------------------------------------------

    def address_for(self, host: str, port: int) -> str:
        """The address to connect to for `host`: resolved once, every address checked, so the
        connection goes to the address that was checked (no DNS rebinding in between)."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise SourceUnavailable(f"The host {host} could not be found.") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        if not addresses:
            raise SourceUnavailable(f"The host {host} could not be found.")
        for address in addresses:
            self.check_address(host, address)
        return str(addresses[0])

    def check_address(
        self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address
    ) -> None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        kind = _restricted_kind(address)
        if kind is None or any(address in net for net in self.allowed_networks):
            return
        raise AddressRefused(
            f"{host} is {kind}, which data sources may not call "
            "(the server's operator can allow a network with QUIRE_CONNECTOR_ALLOWED_NETWORKS)."
        )


def _restricted_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "this server itself (a loopback address)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return "a private network address"
    return None


def parse_networks(values: str | Iterable[str] | None) -> tuple[Network, ...]:
    """``"10.20.0.0/16, 127.0.0.1/32"`` (or a list) as networks; raises `ValueError` naming the
    entry that is not a CIDR range."""
    if values is None:
        return ()
    items = values.split(",") if isinstance(values, str) else list(values)
    networks = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not a network such as 10.20.0.0/16") from None
    return tuple(networks)


# --- files ----------------------------------------------------------------------------------------


def file_in_folder(folder: Path, name: str) -> Path:
    """The file `name` inside the source's own `folder`, or `SourceUnavailable`.

    A name that is a path, leads outside (``..``, a symlink), or names no file gets the same
    answer, which names only the file as the admin wrote it: it never tells whether a file
    exists elsewhere on the server, nor where the instance folder is.
    """
    not_there = SourceUnavailable(f"The file {name} has not been uploaded to this data source.")
    if not name or "/" in name or "\\" in name or "\x00" in name or name in {".", ".."}:
        raise not_there
    try:
        base = folder.resolve()
        path = (base / name).resolve()
    except (OSError, RuntimeError):
        raise not_there from None
    if path.parent != base or not path.is_file():
        raise not_there
    return path


# --- helpers --------------------------------------------------------------------------------------


def _sqlite_paths(url: URL) -> list[Path]:
    """Every file a SQLite URL could open: as written, and percent-decoded for ``file:`` URIs."""
    database = url.database or ""
    if database in {"", ":memory:"}:
        return []
    texts = {database, unquote(database)}
    if database.startswith("file:"):
        parts = urlsplit(database)
        texts.add(unquote(parts.path))
        texts.discard(database)
        texts.discard(unquote(database))
    paths = []
    for text in texts:
        if not text or text == ":memory:":
            continue
        try:
            paths.append(Path(os.path.abspath(text)).resolve())
        except (OSError, RuntimeError):
            continue
    return paths


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def _same_file(path: Path, other: Path) -> bool:
    if path == other.resolve():
        return True
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _same_server(url: URL, own: URL) -> bool:
    """Both URLs reach the same database server: the same port, and hosts that share an
    address (``localhost``, ``127.0.0.1`` and a Unix socket are all this machine)."""
    backend, own_backend = url.get_backend_name(), own.get_backend_name()
    if {backend, own_backend} - {"mysql", "mariadb"} and backend != own_backend:
        return False
    port = url.port or _DEFAULT_PORTS.get(backend)
    own_port = own.port or _DEFAULT_PORTS.get(own_backend)
    if port != own_port:
        return False
    return bool(_host_addresses(url) & _host_addresses(own))


def _host_addresses(url: URL) -> set[str]:
    host = url.host or url.query.get("host") or ""
    if isinstance(host, tuple):
        host = host[0] if host else ""
    if not host or host.startswith("/"):
        return {"this-machine"}
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return {host.lower()}
    found = set()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        found.add("this-machine" if address.is_loopback or address.is_unspecified else str(address))
    return found
