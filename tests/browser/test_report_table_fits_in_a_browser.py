"""The budget report's table at common laptop widths: the flagged execution-rate column is in
view without scrolling sideways."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in


@pytest.mark.parametrize("width", [1280, 1440])
def test_the_execution_rate_column_is_in_view_without_horizontal_scroll(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "cfo")
    page.goto("/reports/budget-vs-actual")
    table = page.get_by_test_id("report-table")
    heading = table.locator("th", has_text="执行率")
    heading.wait_for()
    box = heading.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)
    # Nothing scrolls sideways: not the table's box, not the page.
    scroll = page.evaluate(
        "() => { const s = document.querySelector('.table-scroll');"
        " return [s.scrollWidth, s.clientWidth, document.documentElement.scrollWidth]; }"
    )
    assert scroll[0] <= scroll[1] and scroll[2] <= width, scroll
