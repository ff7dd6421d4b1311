"""Jobs about the audit trail."""

from __future__ import annotations

from typing import Any

from .audit import verify_chain


def verify_audit_chain() -> dict[str, Any]:
    """Walk the chain in the background; the smoke job that proves a job backend works."""
    report = verify_chain()
    return {"ok": report.ok, "checked": report.checked, "message": report.sentence()}
