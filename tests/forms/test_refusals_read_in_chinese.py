"""Issue 20: every widget's refusal reads in Chinese in the Chinese UI, named by the field's
label (and a table cell by its row and column), the template author's own pattern message
in the reader's language."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from quire.widgets.registry import default_registry


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


OPTIONS = [
    {"value": "a", "label": _label("甲", "A")},
    {"value": "b", "label": _label("乙", "B")},
]

#: One field per widget that takes a value, and what a careless person types into it.
FIELDS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"key": "name", "type": "text", "min_length": 3}, {"name": "ab"}),
    (
        {
            "key": "code",
            "type": "text",
            "pattern": "[A-Z]{3}",
            "pattern_message": _label("编码须为三个大写字母", "Three capital letters, please"),
        },
        {"code": "abc"},
    ),
    ({"key": "digits", "type": "text", "pattern": "[0-9]+"}, {"digits": "x1"}),
    ({"key": "note", "type": "textarea", "max_length": 5}, {"note": "abcdefgh"}),
    ({"key": "count", "type": "number", "places": 0}, {"count": "3.5"}),
    ({"key": "fee", "type": "money"}, {"fee": "abc"}),
    ({"key": "rate", "type": "percent"}, {"rate": "abc"}),
    ({"key": "day", "type": "date"}, {"day": "2026-13-45"}),
    ({"key": "trip", "type": "date_range"}, {"trip-start": "2026-03-05", "trip-end": "2026-03-01"}),
    ({"key": "period", "type": "fiscal_period", "granularity": "month"}, {"period": "abc"}),
    ({"key": "kind", "type": "select", "options": OPTIONS}, {"kind": "nope"}),
    ({"key": "kinds", "type": "multi_select", "options": OPTIONS}, {"kinds": ["nope"]}),
    ({"key": "agree", "type": "checkbox", "required": True}, {}),
    ({"key": "person", "type": "user_picker"}, {"person": "nobody-here"}),
    ({"key": "dept", "type": "department_picker"}, {"dept": "NOPE"}),
    ({"key": "role", "type": "role_picker"}, {"role": "nope"}),
    ({"key": "file", "type": "attachment"}, {"file": "../etc/passwd"}),
    (
        {
            "key": "rows",
            "type": "table",
            "min_rows": 2,
            "columns": [
                {"key": "when", "type": "date", "label": _label("日期", "Date")},
                {"key": "amount", "type": "money", "label": _label("金额", "Amount")},
            ],
        },
        {"rows-0-when": "yesterday", "rows-0-amount": "x"},
    ),
]

CHINESE = re.compile(r"[\u4e00-\u9fff]")
#: English words a sentence of the catalogue would start or hinge on.
ENGLISH = re.compile(r"\b(must|is not|may not|needs?|choose|required|valid|rows?|line)\b", re.I)


@pytest.fixture
def every_widget_form(app):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.forms import templates

    fields = []
    for n, (config, _typed) in enumerate(FIELDS):
        fields.append({"label": _label(f"字段{n}", f"Field {n}"), **config})
    doc = {
        "key": "every-widget",
        "kind": "form",
        "title": _label("所有控件", "Every widget"),
        "fields": fields,
        "approval": {"steps": []},
    }
    templates.save_draft(None, doc)
    templates.publish(None, doc["key"])
    db.session.commit()
    return doc


def refusals(html: str) -> list[str]:
    """The error sentences a page shows beside fields and in its summary."""
    found = re.findall(r'<small class="field-error"[^>]*>(.*?)</small>', html, re.S)
    banner = re.search(r'<div class="flash flash-error" role="alert">(.*?)</div>', html, re.S)
    if banner:
        found += re.findall(r"<li>(.*?)</li>", banner.group(1), re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", f)).split()) for f in found]


def test_the_form_covers_every_widget_that_takes_a_value():
    covered = {config["type"] for config, _typed in FIELDS}
    takes_value = {w.type_name for w in default_registry() if w.has_value and not w.computed}
    # projects and cost centres read data sources the test organisation does not have; their
    # refusal is the select's (tests/forms/test_attachments_and_choices.py)
    assert takes_value - covered <= {"cost_center_picker", "project_picker"}, takes_value - covered


def _refused(signed_in, typed: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    sales1 = signed_in("sales1")
    typed = {**typed, "action": "submit"}  # required fields and row counts count on submitting
    page = sales1.post_form("/forms/every-widget/new", typed, page="/forms/every-widget/new")
    assert page.status_code in (400, 422), page.status_code
    messages = refusals(page.text)
    assert messages, page.text[:2000]
    for message in messages:
        assert CHINESE.search(message), f"English-only refusal: {message!r}"
        assert not ENGLISH.search(message), f"English inside a Chinese refusal: {message!r}"
    return " ".join(messages)


#: Refused only on submitting, once every value reads: the required tick box (and the
#: table's row count).
ON_SUBMIT = {"checkbox"}


def test_every_widgets_refusal_reads_in_chinese(every_widget_form, signed_in):
    typed: dict[str, Any] = {}
    for config, values in FIELDS:
        if config["type"] not in ON_SUBMIT:
            typed.update(values)
    text = _refused(signed_in, typed)
    for n, (config, _values) in enumerate(FIELDS):
        if config["type"] not in ON_SUBMIT | {"table"}:
            assert f"字段{n}" in text, (config, text)
    assert "第 1 行 · 金额" in text and "第 1 行 · 日期" in text
    assert "编码须为三个大写字母" in text and "Three capital letters" not in text
    assert "rows[" not in text

    # Submitting: what a draft may lack, said on the page the form comes back to.
    sales1 = signed_in("sales1")
    later = {"rows-0-when": "2026-03-01", "rows-0-amount": "1", "agree": ""}
    sent = sales1.post_form("/forms/every-widget/submit", later, page="/forms/every-widget/new")
    assert sent.status_code == 303
    page = sales1.get(sent.headers["Location"]).text
    banner = re.search(r'<p class="flash flash-error" role="alert">(.*?)</p>', page, re.S)
    assert banner, page[:3000]
    text = unescape(banner.group(1))
    assert CHINESE.search(text) and not ENGLISH.search(text), text
    assert "表单尚未填写完整" in text and "字段12" in text and "字段17" in text, text
    assert "agree:" not in text and "rows:" not in text


def test_the_pattern_message_reads_in_english_for_english_readers(every_widget_form, signed_in):
    from quire.runtime.extensions import db

    sales1 = signed_in("sales1")
    from quire.runtime.models import User

    db.session.query(User).filter_by(username="sales1").update({"locale": "en"})
    db.session.commit()
    page = sales1.post_form(
        "/forms/every-widget/new", {"code": "abc"}, page="/forms/every-widget/new"
    )
    assert "Three capital letters, please" in page.text and "编码须为三个大写字母" not in page.text
