"""The REST API, ``/api/v1``: JSON in, JSON out, errors in one shape."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import (  # noqa: E402,F401  (routes attach to bp)
    approvals,
    audit,
    auth,
    datasources,
    drafts,
    exports,
    meta,
    reports,
    submissions,
    templates,
    user_sessions,
)
