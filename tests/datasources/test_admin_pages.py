"""The data sources admin page: create, test, preview, change, delete; secrets never shown."""

from __future__ import annotations

import json

from sqlalchemy import select

from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, DataSource, User

from .conftest import YEAR

NEW_ERP = "/admin/data-sources/new/erp_ledger"
PASSWORD = "s3cret-erp-password"


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_only_data_source_managers_see_the_link_and_the_page(signed_in):
    finadmin, sales1 = signed_in("finadmin"), signed_in("sales1")
    assert 'data-testid="nav-datasources"' in finadmin.get("/").text
    assert 'data-testid="nav-datasources"' not in sales1.get("/").text
    assert finadmin.get("/admin/data-sources/").status_code == 200
    assert sales1.get("/admin/data-sources/").status_code == 403
    assert sales1.get("/admin/data-sources/new/sql").status_code == 403


def test_finadmin_adds_an_erp_source_tests_it_and_previews_rows(signed_in, erp_ledger):
    url, _ = erp_ledger
    b = signed_in("finadmin")
    assert "erp_ledger" in b.get("/admin/data-sources/new").text
    form = b.get(NEW_ERP).text
    assert 'name="cfg_url"' in form and 'type="password"' in form and "cfg_folder" not in form

    response = b.post_form(
        NEW_ERP,
        {
            "key": "erp-actuals",
            "name": "ERP actuals",
            "cfg_url": url,
            "cfg_max_rows": "100000",
            "cache_ttl_s": "300",
            "timeout_s": "10",
        },
    )
    assert response.status_code == 302, response.text
    source = db.session.scalar(select(DataSource).where(DataSource.key == "erp-actuals"))
    assert source.config["max_rows"] == 100000 and source.cache_ttl_s == 300
    assert source.created_by_id is not None and source.secrets == {}
    page = b.get("/admin/data-sources/erp-actuals/edit").text
    assert "budget-vs-actual" in page  # the built-in report names erp-actuals

    tested = b.post_form("/admin/data-sources/erp-actuals/test", {}, page="/admin/data-sources/")
    assert tested.status_code == 302
    page = b.get(tested.headers["Location"]).text
    assert "Connection works" in page or "连接正常" in page

    preview = b.post_form(
        "/admin/data-sources/erp-actuals/preview",
        {"query": "actuals", "params": f"year={YEAR}\ndepartment=RD"},
    )
    assert preview.status_code == 200, preview.text
    assert 'data-testid="preview"' in preview.text and ">RD<" in preview.text
    assert ">SALES<" not in preview.text


def test_a_secret_is_stored_encrypted_and_never_shown_again(signed_in):
    b = signed_in("finadmin")
    response = b.post_form(
        "/admin/data-sources/new/sql",
        {
            "key": "warehouse",
            "name": "Warehouse",
            "cfg_url": "postgresql+psycopg://reader@warehouse:5432/dw",
            "cfg_password": PASSWORD,
        },
    )
    assert response.status_code == 302, response.text
    source = db.session.scalar(select(DataSource).where(DataSource.key == "warehouse"))
    assert PASSWORD not in json.dumps([source.config, source.secrets])
    assert "password" in source.secrets
    page = b.get("/admin/data-sources/warehouse/edit").text
    assert PASSWORD not in page and "•••••" in page
    [created] = [e for e in _audit("datasource.create") if e.object_id == "warehouse"]
    assert PASSWORD not in json.dumps(created.changes)
    assert created.changes["secrets"] == {"password": "set"}


def test_a_hostile_parameter_in_the_preview_is_a_value(signed_in, erp_ledger, make_source):
    url, summary = erp_ledger
    make_source("ledger", "erp_ledger", {"url": url})
    b = signed_in("finadmin")
    preview = b.post_form(
        "/admin/data-sources/ledger/preview",
        {"query": "actuals", "params": "year=2025\ndepartment=RD'; DROP TABLE gl_actuals; --"},
    )
    assert preview.status_code == 200
    assert "returned no rows" in preview.text or "没有" in preview.text
    again = b.post_form("/admin/data-sources/ledger/preview", {"query": "accounts", "params": ""})
    assert again.status_code == 200 and "travel" in again.text


def test_a_dead_source_says_unavailable_on_test_and_preview(signed_in, make_source, tmp_path):
    make_source("gone", "sql", {"url": f"sqlite:///{tmp_path / 'missing' / 'x.db'}"})
    b = signed_in("finadmin")
    tested = b.post_form("/admin/data-sources/gone/test", {}, page="/admin/data-sources/")
    page = b.get(tested.headers["Location"]).text
    assert "Source unavailable" in page or "数据源不可用" in page
    preview = b.post_form("/admin/data-sources/gone/preview", {"query": "SELECT 1 AS x"})
    assert preview.status_code == 503
    assert 'data-testid="source-error"' in preview.text


def test_bad_input_is_answered_with_the_form_never_a_500(signed_in, make_source, erp_ledger):
    url, _ = erp_ledger
    make_source("taken", "erp_ledger", {"url": url})
    b = signed_in("finadmin")
    missing_url = b.post_form(NEW_ERP, {"key": "erp2", "name": "ERP", "cfg_url": ""})
    assert missing_url.status_code == 422 and "field-error" in missing_url.text
    bad = b.post_form(
        NEW_ERP,
        {"key": "taken", "name": "x", "cfg_url": url, "cfg_connect_timeout_s": "soon"},
    )
    assert bad.status_code == 422
    assert "already used" in bad.text and "cfg_connect_timeout_s-error" in bad.text
    assert b.post_form(NEW_ERP, {"key": "Bad Key!", "name": "x"}).status_code == 422
    assert b.get("/admin/data-sources/new/no_such_type").status_code == 404
    assert b.get("/admin/data-sources/nope/edit").status_code == 404
    rest = b.post_form(
        "/admin/data-sources/new/rest",
        {
            "key": "hr-api",
            "name": "HR",
            "cfg_base_url": "https://hr.example.com/api/",
            "cfg_allowed_hosts": "hr.example.com",
            "cfg_rows_path": "not a path!",
        },
    )
    assert rest.status_code == 422 and "cfg_rows_path-error" in rest.text
    garbage = b.post_form(
        "/admin/data-sources/taken/preview", {"query": "x", "params": "no equals"}
    )
    assert garbage.status_code == 422
    refused = b.post_form(
        "/admin/data-sources/taken/preview", {"query": "DELETE FROM gl_actuals", "params": ""}
    )
    assert refused.status_code == 422


def test_an_empty_secret_keeps_the_stored_one_and_a_new_one_replaces_it(
    signed_in, make_source, erp_ledger
):
    from quire.runtime.datasources import service, vault

    url = "postgresql+psycopg://reader@warehouse:5432/dw"  # a SQLite file has no password
    make_source("ledger", "sql", {"url": url}, secrets={"password": "first"})
    b = signed_in("finadmin")
    page = "/admin/data-sources/ledger/edit"
    kept = b.post_form(page, {"name": "Ledger", "cfg_url": url, "cfg_password": ""})
    assert kept.status_code == 302
    source = service.source_by_key("ledger")
    db.session.refresh(source)
    assert vault.decrypt(source.secrets["password"]) == "first"
    b.post_form(page, {"name": "Ledger", "cfg_url": url, "cfg_password": "second"})
    db.session.refresh(source)
    assert vault.decrypt(source.secrets["password"]) == "second"
    assert _audit("datasource.update")[-1].changes["secrets"] == {"password": "replaced"}


def test_changing_or_deleting_a_source_of_a_published_template_asks_first(
    signed_in, make_source, erp_ledger
):
    url, _ = erp_ledger
    make_source("erp-actuals", "erp_ledger", {"url": url})
    b = signed_in("finadmin")
    page = "/admin/data-sources/erp-actuals/edit"
    asked = b.post_form(page, {"name": "ERP (new name)", "cfg_url": url})
    assert asked.status_code == 409 and 'name="confirm"' in asked.text
    assert db.session.scalar(select(DataSource.name).where(DataSource.key == "erp-actuals")) == (
        "ERP-ACTUALS"
    )
    done = b.post_form(page, {"name": "ERP (new name)", "cfg_url": url, "confirm": "y"})
    assert done.status_code == 302
    event = _audit("datasource.update")[-1]
    assert event.changes["name"] == ["ERP-ACTUALS", "ERP (new name)"]
    assert event.changes["confirmed_for"] == ["actual-lines", "budget-vs-actual"]

    delete = "/admin/data-sources/erp-actuals/delete"
    assert b.post_form(delete, {}).status_code == 409
    assert b.post_form(delete, {"confirm": "y"}).status_code == 302
    assert db.session.scalar(select(DataSource).where(DataSource.key == "erp-actuals")) is None
    assert _audit("datasource.delete")[-1].changes["confirmed_for"] == [
        "actual-lines",
        "budget-vs-actual",
    ]


def test_a_source_nobody_uses_is_deleted_without_asking(signed_in, make_source, erp_ledger):
    make_source("spare", "erp_ledger", {"url": erp_ledger[0]})
    b = signed_in("finadmin")
    assert b.post_form("/admin/data-sources/spare/delete", {}).status_code == 302


def test_a_broken_plugin_is_listed_and_the_rest_still_works(signed_in, extra_connectors):
    b = signed_in("finadmin")
    page = b.get("/admin/data-sources/")
    assert page.status_code == 200
    assert "broken" in page.text and "error: it could not be imported" in page.text
    assert "broken" not in b.get("/admin/data-sources/new").text
    assert b.get("/admin/data-sources/new/broken").status_code == 404
    assert b.get("/admin/data-sources/new/sql").status_code == 200


def test_a_slow_source_is_unavailable_after_its_timeout_not_a_hang(
    signed_in, extra_connectors, make_source
):
    import time

    make_source("slow", "slow", {"seconds": 5}, timeout=1)
    b = signed_in("finadmin")
    started = time.monotonic()
    preview = b.post_form("/admin/data-sources/slow/preview", {"query": "x"})
    assert preview.status_code == 503 and time.monotonic() - started < 4
    assert "did not answer within 1 seconds" in preview.text
    bug = b.post_form("/admin/data-sources/slow/preview", {"query": "bug"})
    assert bug.status_code == 503 and "failed unexpectedly" in bug.text


def test_pages_keep_the_strict_csp(signed_in):
    page = signed_in("finadmin").get("/admin/data-sources/new/rest")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and ' style="' not in page.text


def test_a_password_with_a_sqlite_url_is_explained_at_the_password_in_chinese(signed_in, tmp_path):
    b = signed_in("finadmin")
    response = b.post_form(
        "/admin/data-sources/new/sql",
        {
            "key": "local",
            "name": "Local",
            "cfg_url": f"sqlite:///{tmp_path / 'x.db'}",
            "cfg_password": "pw",
        },
    )
    assert response.status_code == 422
    assert (
        "SQLite 数据库是一个文件，没有密码" in response.text or "has no password" in response.text
    )


def test_every_connector_setting_has_a_label_in_both_languages_and_a_chinese_hint(app):
    """The admin form draws a connector's settings from its config model; without words a
    Chinese finance admin reads raw field names such as "Statement Timeout S"."""
    from quire.runtime.datasources import forms, service

    with app.app_context():
        entries = [e for e in service.registry().available() if e.connector is not None]
    assert {"sql", "rest", "file", "submissions", "erp_ledger", "hr_directory"} <= {
        e.name for e in entries
    }
    for entry in entries:
        words = entry.connector.words_for_settings()
        for field in forms.config_fields(entry.connector, "zh"):
            said = words.get(field.name) or {}
            assert said.get("zh") and said.get("en") and said.get("help_zh"), (
                f"{entry.name}.{field.name} has no words for the admin form"
            )


def test_the_settings_read_in_the_admin_s_language(signed_in):
    finadmin = signed_in("finadmin")
    user = db.session.scalar(select(User).where(User.username == "finadmin"))
    user.locale = "zh_CN"
    db.session.commit()
    page = finadmin.get("/admin/data-sources/new/sql").text
    assert "查询超时（秒）" in page and "查询超过此时间即中止" in page
    assert "Statement Timeout S" not in page
    user.locale = "en"
    db.session.commit()
    page = finadmin.get("/admin/data-sources/new/sql").text
    assert "Query timeout (seconds)" in page and "A query running longer" in page
