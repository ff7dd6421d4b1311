"""The runtime hands every data source this server's limits: a finance admin cannot make a
source read Quire's own database or instance folder, nor call the server's own network unless
the operator allowed it; and every test and preview of a source is on the audit record."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from quire.runtime.datasources import service
from quire.runtime.errors import Invalid
from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent

NEW_SQL = "/admin/data-sources/new/sql"


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_finadmin_cannot_point_a_sql_source_at_quires_own_database(app, signed_in, user):
    own = app.config["DATABASE_URL"]
    b = signed_in("finadmin")
    response = b.post_form(
        NEW_SQL, {"key": "mine", "name": "Mine", "cfg_url": own, "timeout_s": "10"}
    )
    assert response.status_code == 422
    assert "Quire 自身的数据库" in response.text  # said why, in the user's language
    assert service.find_source("mine") is None
    if own.startswith("sqlite"):
        sneaky = own.replace("quire.db", "datasources/mine/../../quire.db")
        with pytest.raises(Invalid) as info:
            service.save(
                user("finadmin"),
                service.SourceInput(
                    key="mine", name="Mine", connector="sql", values={"url": sneaky}
                ),
            )
        assert [d.path for d in info.value.details] == ["config.url"]


def test_a_stored_source_that_points_at_quire_is_refused_when_used(app, make_source, user):
    """Stored before this rule existed (or written into the database by hand)."""
    make_source("ledger", "sql", {"url": "sqlite://"})
    source = service.source_by_key("ledger")
    instance = Path(app.config["INSTANCE_PATH"])
    source.config = {**source.config, "url": f"sqlite:///{instance / 'quire.db'}"}
    db.session.commit()
    outcome = service.test_source(source, user("finadmin"))
    assert not outcome.ok and str(instance) not in outcome.message


def test_tests_and_previews_of_a_source_are_audited(signed_in, make_source, erp_ledger):
    make_source("ledger", "erp_ledger", {"url": erp_ledger[0]})
    b = signed_in("finadmin")
    b.post_form("/admin/data-sources/ledger/test", {}, page="/admin/data-sources/")
    b.post_form("/admin/data-sources/ledger/preview", {"query": "accounts", "params": "x=1"})
    b.post_form("/admin/data-sources/ledger/preview", {"query": "nonsense", "params": ""})
    [tested] = _events("datasource.test")
    assert tested.actor_name == "finadmin" and tested.object_id == "ledger"
    assert tested.changes["ok"] is True
    previews = _events("datasource.preview")
    assert [e.changes["query"] for e in previews] == ["accounts", "nonsense"]
    assert previews[0].changes["params"] == {"x": "1"}


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps([{"code": "HQ"}]).encode()
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
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


def test_a_rest_source_reaches_this_servers_network_only_when_the_operator_allows_it(
    app, make_source, user, local_api
):
    make_source("hr", "rest", {"base_url": local_api, "allowed_hosts": ["127.0.0.1"]})
    source = service.source_by_key("hr")
    refused = service.test_source(source, user("finadmin"))
    assert not refused.ok and "QUIRE_CONNECTOR_ALLOWED_NETWORKS" in refused.message
    app.config["CONNECTOR_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    assert service.test_source(source, user("finadmin")).ok
    preview = service.preview(user("finadmin"), source, "departments", {})
    assert preview.rows == [{"code": "HQ"}]


def test_file_source_messages_never_show_the_instance_folder(app, make_source, user):
    files = [{"name": "rates.csv", "columns": {}}]
    make_source("rates", "file", {"files": files})
    source = service.source_by_key("rates")
    outcome = service.test_source(source, user("finadmin"))
    assert not outcome.ok and app.config["INSTANCE_PATH"] not in outcome.message
    folder = Path(app.config["INSTANCE_PATH"]) / "datasources" / "rates"
    folder.mkdir(parents=True)
    (folder / "rates.csv").symlink_to("/etc/passwd")
    linked = service.test_source(source, user("finadmin"))
    assert not linked.ok and "/etc" not in linked.message
    assert app.config["INSTANCE_PATH"] not in linked.message
