"""One mapping from errors to responses, for the API (JSON) and the web (HTML).

Shape of every API error: ``{"error": {"code", "message", "details": [{"path", "message"}]}}``.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import Detail, QuireError

log = logging.getLogger("quire.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "unavailable",
    429: "too_many_requests",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str, details: list[Detail] | None = None):  # type: ignore[no-untyped-def]
    if _wants_json():
        body = {
            "error": {
                "code": code,
                "message": message,
                "details": [d.as_dict() for d in details or []],
            }
        }
        response = jsonify(body)
        response.status_code = status
        return response
    return render_template(
        "errors/error.html", status=status, message=message, details=details or []
    ), status


#: What a user is told while a dependency is down (503), by dependency.
UNAVAILABLE = {
    "database": _l("The database cannot be reached at the moment."),
    "jobs": _l("The job queue cannot be reached at the moment."),
}


def unavailable_dependency(error: BaseException) -> str | None:
    """``database`` or ``jobs`` when ``error`` means that service is down, else None."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        return "database"
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a dependency, but only used at scale
        return None
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return "jobs"
    return None


def unavailable_response(dependency: str):  # type: ignore[no-untyped-def]
    """503 while the database or the job queue is down: the API's error shape, or a page in
    words that needs nothing from the database; clients are told to retry shortly."""
    from flask_babel import force_locale

    from ..extensions import db
    from ..i18n import LOCALE_COOKIE, LOCALES

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
        log.debug("rollback after an outage failed", exc_info=True)
    log.warning("%s unavailable for %s %s", dependency, request.method, request.path)
    # The signed-in user's language lives in the database: the cookie or the browser decides.
    locale = request.cookies.get(LOCALE_COOKIE)
    if locale not in LOCALES:
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        locale = "en" if best and best.startswith("en") else "zh_CN"
    with force_locale(locale):
        return _unavailable(dependency, locale)


def _unavailable(dependency: str, locale: str):  # type: ignore[no-untyped-def]
    from flask import current_app

    message = str(UNAVAILABLE[dependency])
    if _wants_json():
        response = error_response(503, "unavailable", message, [Detail(dependency, "unreachable")])
    else:
        page = current_app.jinja_env.get_template("errors/unavailable.html")
        lang = locale.replace("_", "-")
        response = current_app.response_class(
            page.render(message=message, lang=lang, request=request),
            status=503,
            mimetype="text/html",
        )
    response.headers["Retry-After"] = "10"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(QuireError)
    def _domain(error: QuireError):  # type: ignore[no-untyped-def]
        from ..extensions import db

        db.session.rollback()
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        return error_response(
            400, "csrf", "The form expired or was not sent from Quire. Please reload and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        messages = {
            404: "Not found.",
            405: "This method is not allowed here.",
            413: "The upload is too large.",
        }
        return error_response(
            status,
            _HTTP_CODES.get(status, "error"),
            messages.get(status, error.description or "Request failed."),
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
        dependency = unavailable_dependency(error)
        if dependency is not None:
            return unavailable_response(dependency)
        from ..extensions import db

        db.session.rollback()
        log.exception("unexpected error")
        return error_response(
            500, "internal", "Something went wrong on our side; it has been logged."
        )
