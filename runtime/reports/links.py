"""Drill-down targets as URLs: the engine names a target, the web and the API turn it into
their own kind of link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import url_for


def web_link(target: Mapping[str, Any]) -> str | None:
    if "submission" in target:
        return url_for("forms.view", submission_id=target["submission"])
    if "report" in target:
        return url_for("reports.view", key=target["report"], **dict(target.get("params") or {}))
    return None


def api_link(target: Mapping[str, Any]) -> str | None:
    if "submission" in target:
        return url_for("api.get_submission", submission_id=target["submission"])
    if "report" in target:
        return url_for("api.get_report", key=target["report"], **dict(target.get("params") or {}))
    return None
