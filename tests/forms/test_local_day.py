"""A form typed just after midnight in the instance's zone is dated that day, whatever the
server's clock zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from quire.runtime import clock
from quire.runtime.forms import service


def test_a_form_saved_at_half_past_midnight_in_shanghai_is_dated_that_day(app):  # type: ignore[no-untyped-def]
    assert app.config["TIMEZONE"] == "Asia/Shanghai"
    with clock.moved_to(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)):
        assert service._local_today() == date(2027, 1, 1)
