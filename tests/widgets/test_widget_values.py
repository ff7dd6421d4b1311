from datetime import date
from decimal import Decimal

import pytest
from wtforms.fields.core import UnboundField

from quire.widgets.base import FieldValueError, ParseContext

from .conftest import bilingual

CATEGORIES = [
    {"value": "travel", "label": bilingual("Travel", "差旅费")},
    {"value": "meals", "label": bilingual("Meals", "餐费")},
]

#: One field per widget and a value someone might send, for the round-trip story.
SAMPLES = {
    "text": ({}, " Zhang San "),
    "textarea": ({}, "line one\nline two"),
    "number": ({"places": 1}, "3.5"),
    "money": ({}, "25,000"),
    "percent": ({}, "12.5"),
    "date": ({}, "2025-03-01"),
    "date_range": ({}, {"start": "2025-03-01", "end": "2025-03-03"}),
    "fiscal_period": ({"granularity": "quarter"}, "2025-q1"),
    "select": ({"options": CATEGORIES}, "meals"),
    "multi_select": ({"options": CATEGORIES}, ["meals", "travel"]),
    "checkbox": ({}, "on"),
    "user_picker": ({}, "sales1"),
    "department_picker": ({}, "SALES-E"),
    "cost_center_picker": ({"options_from": {"source": "cc"}}, "CC100"),
    "project_picker": ({"options_from": {"source": "projects"}}, "P-1"),
    "attachment": ({}, "att_123"),
    "table": (
        {"columns": [{"key": "amount", "type": "money", "label": bilingual("Amount")}]},
        [{"amount": "1"}],
    ),
}


@pytest.mark.parametrize("type_name", sorted(SAMPLES))
def test_a_value_survives_parse_to_json_parse(make_field, type_name):
    config, raw = SAMPLES[type_name]
    widget, field = make_field(type_name, **config)
    value = widget.parse(field, raw)
    assert widget.parse(field, widget.to_json(field, value)) == value
    assert isinstance(widget.display(field, value, "zh_CN"), str)
    assert widget.export_value(field, value).excel_format


def test_every_widget_gives_the_form_runtime_a_wtforms_field_or_nothing(widgets, make_field):
    for widget in widgets:
        config = SAMPLES.get(widget.type_name, ({}, None))[0]
        extra = {
            "formula": {"expression": "1"},
            "static_text": {"content": bilingual("Read me")},
        }.get(widget.type_name, {})
        _, field = make_field(widget.type_name, **config, **extra)
        built = widget.form_field(field, "en")
        assert built is None or isinstance(built, UnboundField), widget.type_name
        assert (built is None) == (not widget.has_value)


def test_dates_are_iso_and_may_be_kept_out_of_the_future(make_field):
    widget, field = make_field("date", "spent_on", label="Date", max="today")
    ctx = ParseContext(today=date(2025, 3, 10))
    assert widget.parse(field, "2025-03-10", ctx) == date(2025, 3, 10)
    assert widget.display(field, date(2025, 3, 1), "zh_CN") == "2025-03-01"  # one date format
    with pytest.raises(FieldValueError, match="may not be in the future"):
        widget.parse(field, "2025-03-11", ctx)
    with pytest.raises(FieldValueError, match="YYYY-MM-DD"):
        widget.parse(field, "03/01/2025", ctx)


def test_a_select_checks_static_options_and_shows_their_label(make_field):
    widget, field = make_field("select", "category", options=CATEGORIES)
    assert widget.display(field, "meals", "zh_CN") == "餐费"
    assert widget.display(field, "meals", "en") == "Meals"
    with pytest.raises(FieldValueError, match="Category must be one of: travel, meals"):
        widget.parse(field, "cinema")


def test_a_select_from_a_data_source_is_checked_when_the_runtime_knows_its_values(make_field):
    widget, field = make_field("select", "account", options_from={"source": "accounts"})
    known = ParseContext(source_values={"accounts": frozenset({"6601"})})
    assert widget.parse(field, "6601", known) == "6601"
    with pytest.raises(FieldValueError, match="not one of the available choices"):
        widget.parse(field, "9999", known)
    assert widget.parse(field, "9999") == "9999"  # nothing loaded: the runtime checks later


def test_a_required_checkbox_must_be_ticked(make_field):
    widget, field = make_field("checkbox", "agree", label="Agreement", required=True)
    assert widget.parse(field, "y") is True
    with pytest.raises(FieldValueError, match="must be ticked"):
        widget.parse(field, None)


def test_an_attachment_refuses_big_or_foreign_uploads(make_field):
    widget, field = make_field("attachment", "invoice", max_size_mb=1, accept=[".pdf", "image/*"])
    widget.check_upload(field, "a.PDF", 1000, "application/pdf")
    widget.check_upload(field, "scan", 1000, "image/png")
    with pytest.raises(FieldValueError, match="at most 1 MB"):
        widget.check_upload(field, "a.pdf", 2 * 1024 * 1024, "application/pdf")
    with pytest.raises(FieldValueError, match="only these files"):
        widget.check_upload(field, "a.exe", 10, "application/octet-stream")
    with pytest.raises(FieldValueError, match="at most 1 MB"):
        widget.parse(field, {"id": "a1", "name": "a.pdf", "size": 5_000_000, "content_type": "x"})


def test_a_formula_value_is_ignored_on_input_and_shown_like_its_result_type(make_field):
    widget, field = make_field("formula", "total", expression="SUM(lines.amount)")
    assert widget.parse(field, "999999") is None
    value = widget.coerce(field, Decimal("1234.5"))
    assert value == Decimal("1234.50")
    assert widget.to_json(field, value) == "1234.50"
    assert widget.display(field, value, "en") == "1,234.50"


def test_fiscal_periods_are_labelled_in_chinese(make_field):
    widget, field = make_field("fiscal_period", "period", granularity="month")
    assert widget.parse(field, "2025-03") == "2025-03"
    assert widget.display(field, "2025-03", "zh_CN") == "2025年3月"
    with pytest.raises(FieldValueError, match="YYYY-MM"):
        widget.parse(field, "2025-13")
