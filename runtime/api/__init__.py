"""The REST API, ``/api/v1``: JSON in, JSON out, errors in one shape."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from ..access_requests import api as _access_requests  # noqa: E402,F401
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
