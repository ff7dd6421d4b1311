"""``/api/v1/datasources``: the admin page's service over JSON, finance admins only, secrets
write-only, published sources changed only with ``?confirm=1``."""

from __future__ import annotations

import json

from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, DataSource

from .conftest import YEAR

BASE = "/api/v1/datasources"
PASSWORD = "s3cret-api-password"


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_sales1_may_not_list_create_read_change_test_preview_or_delete(
    api, make_source, erp_ledger
):
    make_source("ledger", "erp_ledger", {"url": erp_ledger[0]})
    sales1 = api("sales1")
    calls = [
        sales1.get(BASE),
        sales1.post(BASE, json={"key": "x", "name": "X", "connector": "sql", "config": {}}),
        sales1.get(f"{BASE}/ledger"),
        sales1.patch(f"{BASE}/ledger", json={"name": "Mine"}),
        sales1.post(f"{BASE}/ledger/test"),
        sales1.get(f"{BASE}/ledger/preview?query=accounts"),
        sales1.delete(f"{BASE}/ledger"),
    ]
    for response in calls:
        assert response.status_code == 403, response.json
        assert response.json["error"]["code"] == "forbidden"
    assert db.session.scalar(select(DataSource.name).where(DataSource.key == "ledger")) == "LEDGER"


def test_unknown_keys_are_404_for_every_endpoint(api):
    finadmin = api("finadmin")
    calls = [
        finadmin.get(f"{BASE}/nope"),
        finadmin.patch(f"{BASE}/nope", json={"name": "x"}),
        finadmin.post(f"{BASE}/nope/test"),
        finadmin.get(f"{BASE}/nope/preview?query=x"),
        finadmin.delete(f"{BASE}/nope"),
    ]
    for response in calls:
        assert response.status_code == 404
        assert set(response.json["error"]) == {"code", "message", "details"}


def test_finadmin_creates_lists_reads_tests_and_previews_a_source(api, erp_ledger):
    url, _ = erp_ledger
    finadmin = api("finadmin")
    created = finadmin.post(
        BASE,
        json={
            "key": "ledger",
            "name": "ERP ledger",
            "connector": "erp_ledger",
            "config": {"url": url, "max_rows": 1000},
            "cache_ttl_s": 60,
        },
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["key"] == "ledger" and body["config"]["max_rows"] == 1000
    assert body["cache_ttl_s"] == 60 and body["timeout_s"] == 15
    assert "folder" not in body["config"]
    assert "ledger" in [s["key"] for s in finadmin.get(BASE).json["items"]]
    assert finadmin.get(f"{BASE}/ledger").json["name"] == "ERP ledger"
    [event] = [e for e in _audit("datasource.create") if e.object_id == "ledger"]
    assert event.actor_id is not None

    tested = finadmin.post(f"{BASE}/ledger/test")
    assert tested.status_code == 200 and tested.json["ok"] is True
    assert _audit("datasource.test")[-1].object_id == "ledger"

    preview = finadmin.get(f"{BASE}/ledger/preview?query=actuals&year={YEAR}&department=RD")
    assert preview.status_code == 200, preview.json
    assert preview.json["rows"] and {r["department"] for r in preview.json["rows"]} == {"RD"}
    assert "department" in preview.json["columns"]
    assert _audit("datasource.preview")[-1].changes["params"] == {
        "year": str(YEAR),
        "department": "RD",
    }


def test_secrets_are_write_only_shown_as_set_or_unset(api):
    url = "postgresql+psycopg://reader@warehouse:5432/dw"  # a SQLite file has no password
    finadmin = api("finadmin")
    created = finadmin.post(
        BASE,
        json={
            "key": "warehouse",
            "name": "Warehouse",
            "connector": "sql",
            "config": {"url": url},
            "secrets": {"password": PASSWORD},
        },
    )
    assert created.status_code == 201, created.json
    assert created.json["secrets"] == {"password": "set"}
    for response in (created, finadmin.get(f"{BASE}/warehouse"), finadmin.get(BASE)):
        assert PASSWORD not in response.text
    source = db.session.scalar(select(DataSource).where(DataSource.key == "warehouse"))
    assert PASSWORD not in json.dumps([source.config, source.secrets])

    renamed = finadmin.patch(f"{BASE}/warehouse", json={"name": "DW"})
    assert renamed.status_code == 200 and renamed.json["secrets"] == {"password": "set"}
    cleared = finadmin.patch(f"{BASE}/warehouse", json={"clear_secrets": ["password"]})
    assert cleared.status_code == 200 and cleared.json["secrets"] == {"password": "unset"}
    assert _audit("datasource.update")[-1].changes["secrets"] == {"password": "removed"}


def test_bad_input_is_422_with_field_paths_and_malformed_json_400(api, erp_ledger):
    url, _ = erp_ledger
    finadmin = api("finadmin")
    bad = finadmin.post(
        BASE,
        json={
            "key": "Bad Key!",
            "name": "x",
            "connector": "erp_ledger",
            "config": {"url": url, "connect_timeout_s": "soon"},
        },
    )
    assert bad.status_code == 422
    paths = {d["path"] for d in bad.json["error"]["details"]}
    assert {"key", "config.connect_timeout_s"} <= paths
    unknown = finadmin.post(BASE, json={"key": "k", "name": "K", "connector": "no_such"})
    assert unknown.status_code == 422
    assert unknown.json["error"]["details"][0]["path"] == "connector"
    missing = finadmin.post(BASE, json={"config": []})
    assert missing.status_code == 422
    assert {"key", "name", "connector", "config"} <= {
        d["path"] for d in missing.json["error"]["details"]
    }
    assert finadmin.post(BASE, data="not json", content_type="application/json").status_code == 400
    assert "k" not in [s["key"] for s in finadmin.get(BASE).json["items"]]


def test_a_source_of_a_published_template_changes_only_when_confirmed(api, make_source, erp_ledger):
    url, _ = erp_ledger
    make_source("erp-actuals", "erp_ledger", {"url": url})
    finadmin = api("finadmin")
    asked = finadmin.patch(f"{BASE}/erp-actuals", json={"name": "ERP (new)"})
    assert asked.status_code == 409
    assert "confirm=1" in asked.json["error"]["message"]
    paths = [d["path"] for d in asked.json["error"]["details"]]
    assert paths == ["used_by.actual-lines", "used_by.budget-vs-actual"]
    assert finadmin.get(f"{BASE}/erp-actuals").json["name"] == "ERP-ACTUALS"
    done = finadmin.patch(f"{BASE}/erp-actuals?confirm=1", json={"name": "ERP (new)"})
    assert done.status_code == 200 and done.json["name"] == "ERP (new)"
    assert done.json["config"]["url"] == url  # settings left out keep their value
    confirmed = _audit("datasource.update")[-1].changes["confirmed_for"]
    assert confirmed == ["actual-lines", "budget-vs-actual"]

    assert finadmin.delete(f"{BASE}/erp-actuals").status_code == 409
    assert finadmin.delete(f"{BASE}/erp-actuals?confirm=1").status_code == 204
    assert finadmin.get(f"{BASE}/erp-actuals").status_code == 404


def test_a_dead_source_tests_false_and_previews_503(api, make_source, tmp_path):
    make_source("gone", "sql", {"url": f"sqlite:///{tmp_path / 'missing' / 'x.db'}"})
    finadmin = api("finadmin")
    tested = finadmin.post(f"{BASE}/gone/test")
    assert tested.status_code == 200 and tested.json["ok"] is False
    preview = finadmin.get(f"{BASE}/gone/preview?query=SELECT%201%20AS%20x")
    assert preview.status_code == 503
    assert preview.json["error"]["code"] == "source_unavailable"
    assert _audit("datasource.preview")[-1].object_id == "gone"


def test_the_endpoints_are_in_the_openapi_document(api):
    document = api("finadmin").get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(document["paths"]["/api/v1/datasources"])
    assert {"get", "patch", "delete"} <= set(document["paths"]["/api/v1/datasources/{key}"])
    assert "post" in document["paths"]["/api/v1/datasources/{key}/test"]
    assert "get" in document["paths"]["/api/v1/datasources/{key}/preview"]


def test_a_password_with_a_sqlite_url_is_named_not_source_unavailable(api, tmp_path, app):
    from quire.runtime.datasources import vault

    finadmin = api("finadmin")
    refused = finadmin.post(
        BASE,
        json={
            "key": "local",
            "name": "Local",
            "connector": "sql",
            "config": {"url": f"sqlite:///{tmp_path / 'x.db'}"},
            "secrets": {"password": "pw"},
        },
    )
    assert refused.status_code == 422
    [detail] = refused.json["error"]["details"]
    assert detail["path"] == "config.password" and "SQLite" in detail["message"]

    # One stored before this check (or by hand) says the same when tested.
    db.session.add(
        DataSource(
            key="old-local",
            name="Old",
            connector="sql",
            config={"url": f"sqlite:///{tmp_path / 'x.db'}"},
            secrets={"password": vault.encrypt("pw")},
        )
    )
    db.session.commit()
    tested = finadmin.post(f"{BASE}/old-local/test").json
    assert (
        tested["ok"] is False
        and "SQLite database is a file and has no password" in (tested["message"])
    )
