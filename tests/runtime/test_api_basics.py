"""What every client can rely on: error shape, security headers, health, OpenAPI."""

from __future__ import annotations


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": "Not found.", "details": []}}


def test_wrong_method_is_405_json(client):
    response = client.delete("/api/v1/me")
    assert response.status_code in (401, 405)
    assert "error" in response.json


def test_a_cookie_session_must_send_csrf_for_api_writes(signed_in):
    browser = signed_in("finrev")
    response = browser.client.post(
        "/api/v1/auth/token", json={"username": "finrev", "password": "x"}
    )
    # The token endpoint is a credential exchange and needs no CSRF; other writes do.
    assert response.status_code == 401


def test_every_page_has_a_strict_content_security_policy(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_scripts_or_styles(signed_in):
    import re

    admin = signed_in("admin")
    for url in [
        "/",
        "/admin/users",
        "/admin/departments",
        "/admin/roles",
        "/profile",
        "/admin/users/sales1",
    ]:
        html = admin.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html, url
        assert " onclick=" not in html, url


def test_health_reports_database_and_jobs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "jobs": "ok"}


def test_openapi_describes_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/auth/token", "/api/v1/me", "/api/v1/audit"} <= set(spec["paths"])
    assert "Error" in spec["components"]["schemas"]


def test_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


def test_the_server_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    import pytest

    from quire.runtime.app import create_app
    from quire.runtime.config import ConfigError

    monkeypatch.delenv("QUIRE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="secret key"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_environment_overrides_the_instance_file(tmp_path, monkeypatch):
    from quire.runtime import config

    (tmp_path / "quire.toml").write_text(
        'secret_key = "from-file"\ncompany_name = "ACME 财务"\n', encoding="utf-8"
    )
    monkeypatch.setenv("QUIRE_SECRET_KEY", "from-env")
    loaded = config.load(tmp_path)
    assert loaded["SECRET_KEY"] == "from-env" and loaded["COMPANY_NAME"] == "ACME 财务"
    assert loaded["DATABASE_URL"] == f"sqlite:///{tmp_path / 'quire.db'}"
