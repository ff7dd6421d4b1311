"""``/openapi.json``: the API's description, generated from the routes (see ``openapi.py``)."""

from __future__ import annotations

from flask import jsonify

from ..openapi import PUBLIC, answers, build_openapi, spec
from . import bp


@bp.get("/openapi.json")
@spec.validate(resp=answers(None), tags=["meta"], security=PUBLIC)
def openapi():  # type: ignore[no-untyped-def]
    """This document (OpenAPI 3.1)."""
    return jsonify(build_openapi())
