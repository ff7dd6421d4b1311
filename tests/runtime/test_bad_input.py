"""Input a client can send that once answered 500 or stored something unreadable."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from jinja2 import nodes
from sqlalchemy import func, select

from quire.runtime.extensions import db
from quire.runtime.models import Submission, VoucherUse
from quire.runtime.numbers import DB_INT_MAX, StrictIntConverter, parse_id, parse_int

TODAY = date.today()
HUGE = "99999999999999999999999"


def _claim(**line):  # type: ignore[no-untyped-def]
    return {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [
            {
                "date": (TODAY - timedelta(days=1)).isoformat(),
                "category": "travel",
                "description": "高铁",
                "amount": "120.00",
                **line,
            }
        ],
    }


# --- one rule for ids and whole numbers -------------------------------------------------
@pytest.mark.parametrize("text", ["²", "١٢", "-1", "+1", " 1", "1.0", "0x10", HUGE, "", None])
def test_only_ascii_digits_in_range_are_numbers(text):
    assert parse_id(text) is None


def test_the_database_range_is_the_limit():
    assert parse_id(str(DB_INT_MAX)) == DB_INT_MAX
    assert parse_id(str(DB_INT_MAX + 1)) is None
    assert parse_int("0") == 0 and parse_id("0") is None


def test_a_huge_submission_id_is_unknown_not_an_error(api):
    response = api("finrev").get(f"/api/v1/submissions/{HUGE}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_a_huge_attachment_id_is_unknown(signed_in):
    assert signed_in("sales1").get(f"/attachments/{HUGE}").status_code == 404


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/templates/expense-claim", "version"),
        ("/api/v1/templates/expense-claim/versions", "page"),
        ("/api/v1/submissions", "page"),
        ("/api/v1/submissions", "per_page"),
        ("/api/v1/inbox", "page"),
    ],
)
@pytest.mark.parametrize("value", ["²", HUGE + "x", "-3", "1.5"])
def test_unicode_or_signed_numbers_in_the_query_are_malformed(api, url, name, value):
    response = api("finrev").get(url, query_string={name: value})
    assert response.status_code == 400, response.json
    assert response.json["error"]["details"][0]["path"] == name


def test_a_huge_template_version_is_malformed_not_an_error(api):
    response = api("finrev").get("/api/v1/templates/expense-claim", query_string={"version": HUGE})
    assert response.status_code == 400
    assert response.json["error"]["details"][0]["path"] == "version"


def _int_routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        ints = [n for n, c in rule._converters.items() if isinstance(c, StrictIntConverter)]
        if ints:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, ints


def _url(rule, ints, value: str) -> str:  # type: ignore[no-untyped-def]
    others = {"key": "expense-claim", "table_key": "lines", "username": "sales1"}
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<[^>]*:?{name}>", value if name in ints else others.get(name, "x"), url)
    return url


def test_every_int_url_argument_uses_the_strict_converter(app):
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            assert type(converter).__name__ != "IntegerConverter", (rule.rule, name)
    assert list(_int_routes(app)), "no route takes an id: the walk below would prove nothing"


@pytest.mark.parametrize("value", [HUGE, "١٢", "²", str(DB_INT_MAX)])
def test_every_route_with_an_id_answers_404_for_ids_that_cannot_exist(app, api, value):
    """Walks every rule with an ``<int:…>`` argument, so a new route is covered at once."""
    client = api("admin")
    for rule, method, ints in _int_routes(app):
        url = _url(rule, ints, value)
        response = client.open(url, method=method, json={} if method != "GET" else None)
        if value == str(DB_INT_MAX):  # a possible id: the view runs and finds nothing
            assert response.status_code < 500, (method, url, response.status_code)
        else:
            assert response.status_code in (404, 405), (method, url, response.status_code)


def test_a_25_digit_invoice_number_is_an_invoice_number(api):
    number = "1234567890123456789012345"
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim(invoice=number)}
    )
    assert response.status_code == 201, response.json
    assert response.json["data"]["lines"][0]["invoice"] == number
    shown = api("sales1").get(f"/api/v1/submissions/{response.json['id']}")
    assert shown.status_code == 200
    used = db.session.scalar(
        select(VoucherUse).where(VoucherUse.submission_id == response.json["id"])
    )
    assert used.kind == "invoice" and used.value == number


# --- text that cannot be stored ---------------------------------------------------------
def test_a_lone_surrogate_is_refused_with_its_path_and_nothing_is_written(api):
    before = db.session.scalar(select(func.count()).select_from(Submission))
    body = '{"data": {"payee_name": "x", "lines": [{"description": "bad \\ud800 text"}]}}'
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"]["details"] == [
        {
            "path": "data.lines[0].description",
            "message": response.json["error"]["details"][0]["message"],
        }
    ]
    assert db.session.scalar(select(func.count()).select_from(Submission)) == before


def test_a_lone_surrogate_in_a_key_or_a_token_request_is_refused(client):
    response = client.post(
        "/api/v1/auth/token",
        data='{"username": "\\udc00", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"]["details"][0]["path"] == "username"
    response = client.post(
        "/api/v1/auth/token",
        data='{"\\ud800": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_a_correct_surrogate_pair_is_ordinary_text(api):
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions",
        data='{"data": {"payee_name": "\\ud83d\\ude00 李明", "lines": []}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (201, 422)
    if response.status_code == 201:
        assert response.json["data"]["payee_name"].startswith("😀")


def test_form_posts_never_carry_a_lone_surrogate(signed_in):
    browser = signed_in("sales1")
    from tests.conftest import csrf_from

    token = csrf_from(browser.get("/forms/expense-claim/new").text)
    response = browser.client.post(
        "/forms/expense-claim/new",
        data=f"csrf_token={token}&payee_name=%ED%A0%80x".encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500
    for submission in db.session.scalars(select(Submission)):
        assert "\ud800" not in str(submission.data)


# --- paged web lists --------------------------------------------------------------------
def _template_names(env) -> list[str]:  # type: ignore[no-untyped-def]
    """Every template any loader serves, including the widgets' macro files."""
    from jinja2 import ChoiceLoader

    from quire.widgets.rendering import BASE_TEMPLATE, WidgetLoader, template_name

    names: set[str] = set()

    def walk(loader) -> None:  # type: ignore[no-untyped-def]
        if isinstance(loader, ChoiceLoader):
            for inner in loader.loaders:
                walk(inner)
        elif isinstance(loader, WidgetLoader):
            names.update([BASE_TEMPLATE, *(template_name(w) for w in loader.registry)])
        else:
            names.update(n for n in loader.list_templates() if n.endswith(".html"))

    walk(env.loader)
    return sorted(names)


def test_no_template_assigns_the_gettext_name(app):
    """``{% set _ = … %}`` inside a macro makes every ``_()`` in it undefined."""
    env = app.jinja_env
    for name in _template_names(env):
        source = env.loader.get_source(env, name)[0]
        tree = env.parse(source)
        for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.For, nodes.Macro)):
            targets = [node.target] if hasattr(node, "target") else node.args
            for target in targets:
                for found in (
                    target.find_all(nodes.Name) if not isinstance(target, nodes.Name) else [target]
                ):
                    assert found.name != "_", f"{name}:{node.lineno} assigns _"


def _paged_endpoints(app):  # type: ignore[no-untyped-def]
    env = app.jinja_env
    found = set()
    for name in _template_names(env):
        source = env.loader.get_source(env, name)[0]
        found |= set(re.findall(r"pager\([^,]+,\s*'([\w.]+)'", source))
    return sorted(found)


#: Paged pages whose address names something: a demo example of it.
_EXAMPLE_ARGS = {"reports.view": {"key": "expense-ledger"}}


def test_the_second_page_of_every_paged_web_list_renders(app, signed_in):
    endpoints = _paged_endpoints(app)
    assert {"oversight.audit_log", "forms.listing"} <= set(endpoints)
    browsers = {u: signed_in(u) for u in ("admin", "auditor", "finrev", "salesmgr", "cfo")}
    with app.test_request_context():
        from flask import url_for

        urls = {e: url_for(e, **_EXAMPLE_ARGS.get(e, {})) for e in endpoints}
    for endpoint, url in urls.items():
        rendered = False
        for username, browser in browsers.items():
            first = browser.get(url, query_string={"per_page": 1, "scope": "all"})
            if first.status_code != 200 or "page=2" not in first.text:
                continue
            second = browser.get(url, query_string={"per_page": 1, "scope": "all", "page": 2})
            assert second.status_code == 200, (endpoint, username, second.text[:300])
            assert "page=1" in second.text, endpoint
            rendered = True
            break
        assert rendered, f"{endpoint}: no demo user has two pages to look at"


@pytest.mark.parametrize("size", ["x", 1e308, -1, True, "²"])
def test_an_upload_record_with_a_nonsense_size_is_invalid_not_an_error(api, size):
    invoice = {"id": "1", "name": "a.pdf", "size": size, "content_type": "application/pdf"}
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions", json={"data": _claim(invoice=invoice)}
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["details"][0]["path"] == "lines[0].invoice"


@pytest.mark.parametrize("key", ["²", "١", "0x1"])
def test_table_rows_numbered_with_other_digits_are_invalid_not_an_error(api, key):
    line = _claim()["lines"][0]
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": {**_claim(), "lines": {key: line}}},
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["details"][0]["path"].startswith("lines")
