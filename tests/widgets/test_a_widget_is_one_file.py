"""A widget is one file: the star rating of `star_rating.py`, defined here in the tests and
registered at run time, works through the whole product with no other file touched: template
validation, the form page, a posted form, the read-only view, the PDF and Excel print copies,
the offline workbook, the API, the designer's palette and its canvas (design mode)."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from quire.widgets.base import FieldView
from quire.widgets.registry import default_registry
from quire.widgets.rendering import render, render_design, standalone_environment

from . import star_rating

KEY = "site-visit"


def label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def template_doc(stars: int = 5) -> dict:
    return {
        "key": KEY,
        "kind": "form",
        "title": label("客户拜访反馈", "Site visit feedback"),
        "fields": [
            {"key": "customer", "type": "text", "label": label("客户", "Customer")},
            {
                "key": "score",
                "type": "star_rating",
                "label": label("总体评分", "Overall score"),
                "stars": stars,
                "required": True,
            },
            {
                "key": "visits",
                "type": "table",
                "label": label("拜访记录", "Visits"),
                "columns": [
                    {"key": "topic", "type": "text", "label": label("议题", "Topic")},
                    {
                        "key": "mood",
                        "type": "star_rating",
                        "label": label("气氛", "Mood"),
                        "stars": 3,
                    },
                ],
            },
        ],
    }


@pytest.fixture
def star_widget():
    """The test module's widget in Quire's registry for one test, then gone again."""
    registry = default_registry()
    registry.add(star_rating.WIDGET)
    yield star_rating.WIDGET
    registry.remove(star_rating.WIDGET.type_name)


@pytest.fixture
def published(api, star_widget):
    designer = api("finadmin")
    assert designer.post("/api/v1/templates", json=template_doc()).status_code == 201
    assert designer.post(f"/api/v1/templates/{KEY}/publish").status_code == 200
    return KEY


def test_templates_accept_the_new_type_and_check_its_config_with_a_path(api, star_widget):
    designer = api("finadmin")
    good = designer.post("/api/v1/templates/validate", json=template_doc()).json
    assert good == {"valid": True, "errors": []}
    bad = designer.post("/api/v1/templates/validate", json=template_doc(stars=1)).json
    assert not bad["valid"]
    assert [e["path"] for e in bad["errors"]] == ["fields[1].stars"]


def test_without_registration_the_type_is_unknown(api):
    result = api("finadmin").post("/api/v1/templates/validate", json=template_doc()).json
    assert not result["valid"]
    assert any(e["path"].startswith("fields[1]") for e in result["errors"])


def test_the_palette_and_the_designer_canvas_show_it(star_widget):
    entry = next(e for e in default_registry().palette() if e["type"] == "star_rating")
    assert entry == {
        "type": "star_rating",
        "label": {"zh": "星级评分", "en": "Star rating"},
        "icon": "star",
        "category": "choice",
        "defaults": {"stars": 5},
        "has_value": True,
        "can_be_column": True,
    }
    field = star_rating.StarRatingField(key="score", type="star_rating", label=label("分", "S"))
    env = standalone_environment()
    canvas = render(env, FieldView(field, "design", "score", locale="zh_CN"))
    assert canvas.count('type="radio"') == 5 and canvas.count(" disabled") == 5
    assert render_design(env, field, "en").count(" disabled") == 5
    # A table on the canvas draws its star column with the same macro.
    table = default_registry()["table"].FieldModel.model_validate(template_doc()["fields"][2])
    drawn = render(env, FieldView(table, "design", "visits", locale="en"))
    assert "Mood" in drawn and drawn.count('type="radio"') == 3


def test_a_person_fills_it_in_on_the_web_and_reads_it_back(signed_in, api, published):
    browser = signed_in("sales1")
    page = browser.get(f"/forms/{KEY}/new")
    assert page.status_code == 200
    assert page.text.count('class="star-rating"') == 2  # the field and the first table row
    assert 'name="score" value="4"' in page.text and 'name="visits-0-mood" value="3"' in page.text

    saved = browser.post_form(
        f"/forms/{KEY}/new",
        {
            "customer": "华东电网",
            "score": "4",
            "visits-0-topic": "年度框架",
            "visits-0-mood": "2",
        },
        page=f"/forms/{KEY}/new",
    )
    assert saved.status_code == 302, saved.text[:500]
    submission_id = int(re.search(r"/submissions/(\d+)", saved.headers["Location"]).group(1))
    data = api("sales1").get(f"/api/v1/submissions/{submission_id}").json["data"]
    assert data["score"] == 4 and data["visits"] == [{"topic": "年度框架", "mood": 2}]

    view = browser.get(f"/submissions/{submission_id}")
    assert "★★★★☆ 4/5" in view.text and "★★☆ 2/3" in view.text
    assert 'type="radio"' not in view.text

    refused = browser.post_form(
        f"/forms/{KEY}/new", {"customer": "x", "score": "9"}, page=f"/forms/{KEY}/new"
    )
    assert refused.status_code == 422 and "must be 1 to 5 stars" in refused.text


def test_the_api_parses_it_and_the_print_copies_carry_it(api, published):
    from tests.exports.conftest import pdf_text

    client = api("sales1")
    created = client.post(
        f"/api/v1/forms/{KEY}/submissions",
        json={"data": {"customer": "华东电网", "score": "3/5", "visits": [{"mood": 3}]}},
    )
    assert created.status_code == 201, created.json
    submission_id = created.json["id"]
    assert created.json["data"]["score"] == 3

    pdf = client.get(f"/api/v1/submissions/{submission_id}.pdf")
    assert pdf.status_code == 200
    assert "3/5" in pdf_text(pdf.data)

    xlsx = client.get(f"/api/v1/submissions/{submission_id}.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    values = [cell.value for sheet in book for row in sheet.iter_rows() for cell in row]
    assert 3 in values  # a number cell, as the widget's excel format says

    wrong = client.post(f"/api/v1/forms/{KEY}/submissions", json={"data": {"score": "six"}})
    assert wrong.status_code == 422
    assert wrong.json["error"]["details"][0]["path"] == "score"


def test_the_offline_workbook_offers_it_and_reads_it_back(api, published):
    client = api("sales1")
    blank = client.get(f"/api/v1/forms/{KEY}/workbook")
    assert blank.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(blank.data))
    form = book["表单"]  # the form sheet, named in the downloader's language
    row = next(r[0].row for r in form.iter_rows(max_col=1) if "总体评分" in str(r[0].value))
    assert "1–5" in form[f"C{row}"].value  # the widget's own hint
    lists = [v for v in form.data_validations.dataValidation if f"B{row}" in str(v.sqref)]
    assert lists and lists[0].type == "list"

    form[f"B{row}"] = 5
    lines = next(name for name in book.sheetnames if name not in ("表单", "_lists", "_quire"))
    book[lines]["B7"] = 1
    out = io.BytesIO()
    book.save(out)
    uploaded = client.post(
        f"/api/v1/forms/{KEY}/workbook",
        data={"file": (io.BytesIO(out.getvalue()), "visit.xlsx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["data"]["score"] == 5
    assert uploaded.json["data"]["visits"] == [{"topic": None, "mood": 1}]


def test_every_built_in_widget_draws_itself_in_every_mode():
    """The canvas, the form, the read-only page and the print copy all have something to show
    for every widget; a select on the canvas lists its own options."""
    from quire.widgets.base import RENDER_MODES

    registry = default_registry()
    env = standalone_environment()
    doc = {
        "key": "f",
        "type": "select",
        "label": label("类别", "Category"),
        "options": [{"value": "travel", "label": label("差旅", "Travel")}],
    }
    select = registry["select"].FieldModel.model_validate(doc)
    assert '<option value="travel"' in render_design(env, select, "en")
    for widget in registry:
        palette = widget.palette_item()
        config = {"key": "f", "type": widget.type_name, "label": label("字段", "Field")}
        config |= {
            "select": {"options": doc["options"]},
            "multi_select": {"options": doc["options"]},
            "formula": {"expression": "1 + 1"},
            "static_text": {"content": label("说明", "Note")},
            "table": {"columns": [{"key": "c", "type": "text", "label": label("列", "C")}]},
        }.get(widget.type_name, {})
        field = widget.FieldModel.model_validate({**palette["defaults"], **config})
        for mode in RENDER_MODES:
            html = render(env, FieldView(field, mode, "f", locale="zh_CN", text="x"))
            assert html.strip(), (widget.type_name, mode)
