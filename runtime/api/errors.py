"""One mapping from errors to responses, for the API (JSON) and the web (HTML).

Shape of every API error: ``{"error": {"code", "message", "details": [{"path", "message"}]}}``.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
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
        from ..extensions import db

        db.session.rollback()
        log.exception("unexpected error")
        return error_response(
            500, "internal", "Something went wrong on our side; it has been logged."
        )
