"""The application factory. Nothing runs at import time; everything is bound here."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import generation, jobs
from .errors import BadRequest, Detail
from .extensions import babel, csrf, db, migrate
from .input_text import lone_surrogate_path
from .numbers import StrictIntConverter

MIGRATIONS = Path(__file__).parent / "migrations"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class _JSONProvider(DefaultJSONProvider):
    """The JSON boundary: absurd nesting is malformed, and text that cannot be stored
    (a lone UTF-16 surrogate such as ``"\\ud800"``) is refused with its path before any
    view sees it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            data = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        path = lone_surrogate_path(data)
        if path is not None:
            raise BadRequest(
                "The request contains text that is not valid Unicode.",
                [Detail(path, "contains an unpaired surrogate (\\ud800–\\udfff)")],
            )
        return data


class _Quire(Flask):
    json_provider_class = _JSONProvider


class _SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = Path(
        (test_config or {}).get("INSTANCE_PATH") or config_module.instance_path_from_env()
    )
    app = _Quire("quire.runtime", instance_path=str(instance_path))
    # Before any blueprint adds a rule: every ``<int:…>`` in a URL follows one rule.
    app.url_map.converters["int"] = StrictIntConverter
    app.config.update(config_module.load(instance_path, test_config))
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="quire_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _protect below, skipped for bearer tokens
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        JSON_SORT_KEYS=False,
    )
    app.session_interface = _SessionInterface()
    if app.config.get("BEHIND_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    _init_database(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    from .i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    from .auth import session as auth_session

    auth_session.init_app(app)
    jobs.init_app(app)
    from . import files

    files.init_app(app)
    from . import clock
    from .approvals import settings as approval_settings

    clock.configure(app.config)
    approval_settings.configure(app.config)
    _init_request_hooks(app)
    from . import observability

    observability.init_app(app)
    generation.init_app(app)

    from .admin.views import bp as admin_bp
    from .allocation.views import bp as allocation_bp
    from .api import bp as api_bp
    from .api.errors import register_error_handlers
    from .approvals.views import bp as approvals_bp
    from .auth.views import bp as auth_bp
    from .budgeting.views import bp as budgeting_bp
    from .datasources.views import bp as datasources_bp
    from .exports.views import bp as exports_bp
    from .forms.views import bp as forms_bp
    from .oversight.views import bp as oversight_bp
    from .reports.views import bp as reports_bp
    from .reviews.views import bp as reviews_bp
    from .web.views import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(oversight_bp)
    app.register_blueprint(forms_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(api_bp)
    from quire.designer.views import bp as designer_bp

    app.register_blueprint(designer_bp)
    app.register_blueprint(approvals_bp)
    app.register_blueprint(datasources_bp)
    app.register_blueprint(budgeting_bp)
    app.register_blueprint(allocation_bp)
    from .access_requests.views import bp as sod_bp

    app.register_blueprint(sod_bp)
    app.register_blueprint(reviews_bp)
    register_error_handlers(app)
    from .web.context import register_template_context

    register_template_context(app)
    from quire.widgets.rendering import install as install_widgets

    install_widgets(app.jinja_env)
    return app


def _init_database(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Several threads (job consumer, dev server) share the file; wait rather than fail.
        options["connect_args"] = {"timeout": 30}
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)
    if url.startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():

            @event.listens_for(db.engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()


def _init_request_hooks(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        # Grants loaded by an earlier request on this session are not trusted for this one.
        from . import access
        from .forms import templates

        access.forget_loaded_grants(db.session())
        templates.forget_loaded_versions(db.session())

    @app.before_request
    def _protect() -> None:
        """CSRF on every unsafe request that a browser session could make."""
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            return
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return
        if request.routing_exception is not None or request.endpoint in {"api.issue_token"}:
            return  # unknown route or method: answer 404/405, not a CSRF error
        if request.path.startswith("/api/"):
            from flask_login import current_user

            if not current_user.is_authenticated:
                return  # no session to ride on: the endpoint answers 401 itself
        csrf.protect()

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        if request.path.startswith("/api/") or request.endpoint in {"auth.login"}:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
