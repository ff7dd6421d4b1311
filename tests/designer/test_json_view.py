"""The designer's JSON view: a refused save keeps what was typed, lists each problem with its
JSON path and a sentence in the reader's language, and names (and quotes) the line of the
text where it is; the draft's own problems are listed at their lines too."""

from __future__ import annotations

import html
import json
import re

from quire.designer.json_view import position

from .test_designer_page import _op, _version


def _editor_text(page: str) -> str:
    found = re.search(r'<textarea[^>]*id="json-document"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no JSON editor on the page"
    return html.unescape(found.group(1))


def _problems(page: str) -> list[dict[str, str]]:
    """Each listed problem: its path, line, column, sentence and quoted line."""
    items = []
    for item in re.finditer(
        r'<li data-testid="json-problem" data-path="([^"]*)" data-line="(\d+)"'
        r' data-column="(\d*)">(.*?)</li>',
        page,
        re.S,
    ):
        body = item.group(4)
        quote = re.search(r'</span> (.*?)(?:\n<span class="json-caret"|</pre>)', body, re.S)
        items.append(
            {
                "path": item.group(1),
                "line": item.group(2),
                "column": item.group(3),
                "message": html.unescape(
                    re.search(r'<span class="json-message">(.*?)</span>', body, re.S).group(1)
                ),
                "quote": html.unescape(quote.group(1)) if quote else "",
            }
        )
    return items


def _line_of(text: str, needle: str) -> str:
    return str(text[: text.index(needle)].count("\n") + 1)


def _open_json(finadmin):  # type: ignore[no-untyped-def]
    page = finadmin.get("/designer/templates/expense-claim/design?tab=json").text
    return _version(page), _editor_text(page)


def test_a_syntax_error_keeps_the_text_and_names_its_line_and_column(signed_in):
    finadmin = signed_in("finadmin")
    version, text = _open_json(finadmin)
    typed = text.replace('"key": "payee_name"', '"key": "payee_name" "note": 1', 1)

    answer = _op(
        finadmin, "expense-claim", version, {"op": "replace_document"}, document=typed, tab="json"
    )

    assert answer.status_code == 200
    page = answer.text
    assert _editor_text(page) == typed  # nothing typed is lost
    assert _version(page) == version  # and nothing was saved
    assert 'aria-invalid="true"' in page and 'data-testid="json-refused"' in page
    [problem] = _problems(page)
    assert problem["line"] == _line_of(typed, '"note": 1')
    assert problem["column"] == str(
        typed.splitlines()[int(problem["line"]) - 1].index('"note"') + 1
    )
    assert problem["message"] == "两项之间缺少逗号（或括号没有闭合）"
    assert problem["quote"].strip() == '"key": "payee_name" "note": 1,'
    line, column = problem["line"], problem["column"]
    assert f"第 {line} 行第 {column} 列" in page
    assert "Expecting" not in page


def test_model_errors_are_listed_at_their_path_and_line_in_the_readers_language(signed_in):
    finadmin = signed_in("finadmin")
    version, text = _open_json(finadmin)
    doc = json.loads(text)
    doc["fields"][1]["type"] = "nonsense"
    doc["fields"][2]["label"] = 5
    doc["approval"]["steps"][0]["mode"] = "sometimes"
    # Indented differently from the page's own text: lines are found in what was typed.
    typed = json.dumps(doc, ensure_ascii=False, indent=4)

    page = _op(
        finadmin, "expense-claim", version, {"op": "replace_document"}, document=typed, tab="json"
    ).text

    assert _editor_text(page) == typed and _version(page) == version
    found = {p["path"]: p for p in _problems(page)}
    assert set(found) == {"fields[1].type", "fields[2].label", "approval.steps[0].mode"}
    assert found["fields[1].type"]["line"] == _line_of(typed, '"type": "nonsense"')
    assert found["fields[1].type"]["message"].startswith("未知的字段类型“nonsense”")
    assert found["fields[2].label"]["line"] == _line_of(typed, '"label": 5')
    assert found["fields[2].label"]["message"] == "必须是一个对象"
    assert found["approval.steps[0].mode"]["line"] == _line_of(typed, '"mode": "sometimes"')
    assert found["approval.steps[0].mode"]["message"] == "必须是以下之一：any, all, n_of_m"
    assert found["approval.steps[0].mode"]["quote"].strip() == '"mode": "sometimes"'
    # Each path links to its line for the editor to select (designer.js, no inline script).
    label_line = found["fields[2].label"]["line"]
    assert f'class="json-at" data-json-line="{label_line}"' in page
    assert 'data-testid="change-problems"' not in page  # listed once, at their lines
    assert "<script>" not in page and 'style="' not in page


def test_a_document_that_is_not_an_object_is_refused_in_words(signed_in):
    finadmin = signed_in("finadmin")
    version, _text = _open_json(finadmin)
    page = _op(
        finadmin,
        "expense-claim",
        version,
        {"op": "replace_document"},
        document="[1, 2]",
        tab="json",
    ).text
    [problem] = _problems(page)
    assert problem["line"] == "1" and problem["message"].startswith("模板必须是一个 JSON 对象")
    assert _editor_text(page) == "[1, 2]" and "valid dictionary" not in page


def test_the_drafts_own_problems_are_listed_at_their_lines_and_the_page_still_opens(signed_in):
    finadmin = signed_in("finadmin")
    version, text = _open_json(finadmin)
    doc = json.loads(text)
    doc["approval"]["steps"][0]["when"] = "total >>> 3"  # a draft may hold an unfinished formula
    saved = _op(
        finadmin,
        "expense-claim",
        version,
        {"op": "replace_document"},
        document=json.dumps(doc, ensure_ascii=False, indent=2),
        tab="json",
    )
    assert saved.status_code == 200 and _version(saved.text) != version

    page = finadmin.get("/designer/templates/expense-claim/design?tab=json")
    assert page.status_code == 200  # a draft with a problem still opens (and diffs)
    [issue] = _problems(page.text)
    assert issue["path"] == "approval.steps[0].when"
    assert issue["line"] == _line_of(_editor_text(page.text), '"when": "total >>> 3"')
    assert issue["message"] == "公式有误：第 8 列出现了意外的“>”"


def test_a_path_is_found_in_the_text_however_it_is_written():
    compact = '{"a": [1, {"b c": {"d": 2}}], "e": {"f": 3}}'
    assert compact[position(compact, 'a[1]["b c"].d') :].startswith('"d"')
    assert compact[position(compact, "e.f") :].startswith('"f"')
    assert compact[position(compact, "a[1]") :].startswith('{"b c"')
    # Absent parts: the nearest enclosing value that is there.
    assert compact[position(compact, "e.missing") :].startswith('{"f"')
    assert compact[position(compact, "a[7].x") :].startswith("[1,")
    assert position(compact, "") == 0
    spread = '{\n  "fields": [\n    {\n      "key": "x"\n    }\n  ]\n}'
    assert spread.count("\n", 0, position(spread, "fields[0].key")) + 1 == 4


def test_template_problems_are_retold_in_the_readers_language(app):
    from flask_babel import force_locale

    from quire.designer.issue_words import say

    with app.test_request_context():
        with force_locale("zh_CN"):
            assert say('unknown key "lable" (did you mean "label"?)') == (
                "未知的键“lable”（是不是“label”？）"
            )
            assert say("formula error: the formula ends too early (at column 9)") == (
                "公式有误：公式不完整（第 9 列）"
            )
            assert say("must be at least 3 characters long") == "至少需要 3 个字符"
            assert say("a check added later") == "a check added later"  # shown, untranslated
        with force_locale("en"):
            assert say('unknown key "lable"') == "unknown key “lable”"
