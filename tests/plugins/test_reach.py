"""Where a data source may not reach: Quire's own database and instance folder, this server's
private networks, and paths above a REST source's base path. No test sends traffic off the
machine: refused addresses are refused before any connection, and the allowed case is a local
HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from quire.plugins.base import ConfigInvalid, QueryRejected, SourceUnavailable
from quire.plugins.builtin.rest import RestConnector
from quire.plugins.builtin.sql import SqlConnector
from quire.plugins.reach import AddressRefused, Reach, parse_networks


@pytest.fixture
def instance(tmp_path) -> Path:
    folder = tmp_path / "instance"
    (folder / "datasources" / "ledger").mkdir(parents=True)
    (folder / "quire.db").write_bytes(b"")
    (folder / "jobs.db").write_bytes(b"")
    return folder


def _reach(instance: Path, own: str | None = None, key: str = "ledger") -> Reach:
    return Reach(
        instance_folder=instance,
        own_folder=instance / "datasources" / key,
        own_database=own or f"sqlite:///{instance / 'quire.db'}",
    )


def _sql(url: str, reach: Reach) -> SqlConnector:
    return SqlConnector({"url": url}, reach=reach)


def _refused_at_url(url: str, reach: Reach) -> str:
    with pytest.raises(ConfigInvalid) as info:
        _sql(url, reach)
    [issue] = info.value.issues
    assert issue.path == ("url",)
    return issue.message


def test_a_sql_source_cannot_open_quires_own_sqlite_database_however_the_path_is_written(
    instance, tmp_path
):
    reach = _reach(instance)
    (tmp_path / "innocent.db").symlink_to(instance / "quire.db")
    (tmp_path / "hard.db").hardlink_to(instance / "quire.db")
    encoded = str(instance / "quire.db").replace("quire", "%71uire")
    for url in (
        f"sqlite:///{instance / 'quire.db'}",
        f"sqlite:///{instance / 'datasources' / 'ledger' / '..' / '..' / 'quire.db'}",
        f"sqlite:///{tmp_path / 'innocent.db'}",
        f"sqlite:///{tmp_path / 'hard.db'}",
        f"sqlite:///file:{encoded}?mode=ro&uri=true",
    ):
        assert "Quire's own database" in _refused_at_url(url, reach) or "instance" in (
            _refused_at_url(url, reach)
        ), url
    # the database need not live in the instance folder to be refused
    elsewhere = Reach(own_database=f"sqlite:///{tmp_path / 'hard.db'}")
    assert "own database" in _refused_at_url(f"sqlite:///{instance / 'quire.db'}", elsewhere)


def test_a_sql_source_reads_no_other_file_of_the_instance_but_its_own_folder(instance, tmp_path):
    reach = _reach(instance)
    assert "instance folder" in _refused_at_url(f"sqlite:///{instance / 'jobs.db'}", reach)
    other = instance / "datasources" / "other" / "x.db"
    assert "instance folder" in _refused_at_url(f"sqlite:///{other}", reach)
    # its own folder, and files outside the instance, are fine
    _sql(f"sqlite:///{instance / 'datasources' / 'ledger' / 'ledger.db'}", reach)
    _sql(f"sqlite:///{tmp_path / 'erp.db'}", reach)
    _sql("sqlite://", reach)


@pytest.mark.parametrize(
    ("own", "source", "refused"),
    [
        (
            "postgresql+psycopg://quire@127.0.0.1:5432/quire",
            "postgresql+psycopg://r@localhost/quire",
            True,
        ),
        (
            "postgresql+psycopg://quire@localhost/quire",
            "postgresql+psycopg://r@127.0.0.1:5432/quire",
            True,
        ),
        (
            "postgresql+psycopg://quire@/quire?host=/run/postgresql",
            "postgresql+psycopg://r@127.0.0.1/quire",
            True,
        ),
        (
            "postgresql+psycopg://quire@127.0.0.1/quire",
            "postgresql+psycopg://r@127.0.0.1/erp",
            False,
        ),
        (
            "postgresql+psycopg://quire@127.0.0.1/quire",
            "postgresql+psycopg://r@127.0.0.1:5433/quire",
            False,
        ),
        ("mysql+pymysql://quire@127.0.0.1/quire", "mariadb+pymysql://r@localhost:3306/quire", True),
        ("mysql+pymysql://quire@127.0.0.1/quire", "mysql+pymysql://r@127.0.0.1/erp", False),
        ("postgresql+psycopg://quire@127.0.0.1/quire", f"sqlite:///{'/tmp/x.db'}", False),
    ],
)
def test_a_server_database_is_refused_when_host_port_and_database_are_quires(own, source, refused):
    reach = Reach(own_database=own)
    if refused:
        with pytest.raises(ValueError, match="own database"):
            reach.check_database_url(source)
    else:
        reach.check_database_url(source)


# --- the rest connector ----------------------------------------------------------------------


def _rest(base_url: str, reach: Reach | None = None, host: str | None = None) -> RestConnector:
    from urllib.parse import urlsplit

    return RestConnector(
        {"base_url": base_url, "allowed_hosts": [host or urlsplit(base_url).hostname]},
        reach=reach,
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9/api/",
        "http://localhost:9/api/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://0.0.0.0:9/",
        "http://2130706433:9/",
        "http://0x7f000001:9/",
        "http://017700000001:9/",
    ],
)
def test_the_rest_connector_refuses_this_servers_networks_before_connecting(base_url):
    with pytest.raises(AddressRefused) as info:
        _rest(base_url).test_connection()
    assert "QUIRE_CONNECTOR_ALLOWED_NETWORKS" in info.value.message


@pytest.mark.parametrize("address", ["::1", "::ffff:127.0.0.1", "fe80::1", "fd00::1", "::"])
def test_ipv6_forms_of_this_servers_networks_are_refused_too(address):
    import ipaddress

    with pytest.raises(AddressRefused):
        Reach().check_address("h", ipaddress.ip_address(address))
    Reach().check_address("h", ipaddress.ip_address("2001:4860:4860::8888"))


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        if self.path.startswith("/api/hop"):
            self.send_response(302)
            self.send_header("Location", "/admin/secrets")
            self.end_headers()
            return
        body = json.dumps([{"path": self.path, "host": self.headers["Host"]}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


def test_an_operator_allowed_network_is_reached_with_the_host_name_kept(local_api):
    reach = Reach(allowed_networks=parse_networks("127.0.0.0/8, ::1/128"))
    [row] = list(_rest(local_api, reach).fetch("v1/employees", {}, 10))
    assert row["path"] == "/api/v1/employees"
    assert row["host"].startswith("localhost:")
    with pytest.raises(AddressRefused):
        _rest(local_api, Reach(allowed_networks=parse_networks("10.0.0.0/8"))).test_connection()


@pytest.mark.parametrize(
    "query",
    [
        "../../..",
        "../admin",
        "v1/../../admin",
        "%2e%2e/admin",
        "v1/%2E%2E/%2e%2e/x",
        "..%5cadmin",
        "%252e%252e/x",
    ],
)
def test_a_query_stays_under_the_base_path(local_api, query):
    reach = Reach(allowed_networks=parse_networks("127.0.0.0/8, ::1/128"))
    with pytest.raises(QueryRejected, match="base path"):
        list(_rest(local_api, reach).fetch(query, {}, 10))


def test_a_redirect_out_of_the_base_path_is_not_followed(local_api):
    reach = Reach(allowed_networks=parse_networks("127.0.0.0/8, ::1/128"))
    with pytest.raises(SourceUnavailable, match="base path"):
        list(_rest(local_api, reach).fetch("hop", {}, 10))


def test_a_network_setting_that_is_not_a_range_is_refused():
    with pytest.raises(ValueError, match="not-a-net"):
        parse_networks("10.0.0.0/8, not-a-net")
