"""``/openapi.json``: the API's description."""

from __future__ import annotations

from flask import jsonify

from ..openapi import build_openapi
from . import bp


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(build_openapi())
