from datetime import date
from decimal import Decimal

import pytest
from wtforms import Form

from quire.widgets.base import FieldValueError, ParseContext

from .conftest import bilingual


@pytest.fixture
def lines(make_field):
    return make_field(
        "table",
        "lines",
        columns=[
            {
                "key": "date",
                "type": "date",
                "label": bilingual("Date"),
                "required": True,
                "max": "today",
            },
            {
                "key": "category",
                "type": "select",
                "label": bilingual("Category"),
                "options": [{"value": "travel", "label": bilingual("Travel", "差旅费")}],
            },
            {"key": "amount", "type": "money", "label": bilingual("Amount"), "required": True},
            {"key": "note", "type": "formula", "label": bilingual("Note"), "expression": "amount"},
        ],
        min_rows=1,
        max_rows=3,
        totals=["amount"],
    )


def row(amount, day="2025-03-01", category="travel"):
    return {"date": day, "category": category, "amount": amount}


def test_a_table_reports_the_row_of_a_bad_amount_as_lines_2_amount(lines):
    table, field = lines
    with pytest.raises(FieldValueError) as refused:
        table.parse(field, [row("10"), row("20"), row("12.345")])
    assert refused.value.path == "lines[2].amount"
    assert "row 3" in refused.value.message
    assert "at most 2 decimal places" in refused.value.message


def test_every_bad_cell_of_a_table_is_reported_at_once(lines):
    table, field = lines
    today = ParseContext(today=date(2025, 3, 10))
    bad = [row("x", day="2025-03-11"), row("5", category="meals"), {"amount": "1", "colour": 1}]
    with pytest.raises(FieldValueError) as refused:
        table.parse(field, bad, today)
    paths = [error.path for error in refused.value.errors]
    assert paths == [
        "lines[0].date",
        "lines[0].amount",
        "lines[1].category",
        "lines[2].colour",
        "lines[2].date",
    ]
    assert "may not be in the future" in refused.value.errors[0].message


def test_table_rows_are_parsed_column_by_column_and_totalled(lines):
    table, field = lines
    rows = table.parse(field, [row("1,000"), row(250.5)])
    assert rows[0] == {
        "date": date(2025, 3, 1),
        "category": "travel",
        "amount": Decimal("1000.00"),
        "note": None,  # computed by the server, whatever the client sends
    }
    assert table.totals(field, rows) == {"amount": Decimal("1250.50")}
    assert table.to_json(field, rows)[1]["amount"] == "250.50"


def test_table_row_limits(lines):
    table, field = lines
    with pytest.raises(FieldValueError, match="at most 3 rows"):
        table.parse(field, [row("1")] * 4)
    with pytest.raises(FieldValueError, match="must be a list of rows"):
        table.parse(field, "rows")


def test_a_table_builds_a_repeating_wtforms_subform(lines):
    table, field = lines

    class ClaimForm(Form):
        pass

    ClaimForm.lines = table.form_field(field, "zh_CN")
    form = ClaimForm(data={"lines": [{"date": "2025-03-01", "amount": "5"}]})
    assert form.lines.entries[0].form.amount.data == "5"
    assert form.lines.entries[0].form.note.render_kw["readonly"] is True
