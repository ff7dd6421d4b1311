"""A form typed just after midnight in the instance's zone is dated that day, whatever the
server's clock zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from quire.runtime.approvals import settings
from quire.runtime.forms import service


def test_a_form_saved_at_half_past_midnight_in_shanghai_is_dated_that_day(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        settings, "_settings", settings.EngineSettings(zone=settings.ZoneInfo("Asia/Shanghai"))
    )
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    assert service._local_today() == date(2027, 1, 1)
