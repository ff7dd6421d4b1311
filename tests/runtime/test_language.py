"""The UI speaks Chinese by default, English on request, and remembers a user's choice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from quire.runtime.extensions import db

# Babel spells zh_CN as zh_Hans_CN when it looks for a catalogue, so the folder has that name.
TRANSLATIONS = Path(__file__).resolve().parents[2] / "runtime" / "translations"


def test_chinese_by_default(client):
    page = client.get("/login")
    assert "登录" in page.text and 'lang="zh-CN"' in page.text


def test_english_browser_gets_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in to Quire" in page.text and 'lang="en"' in page.text


def test_a_user_switches_language_and_it_sticks(signed_in, user):
    browser = signed_in("sales1")
    assert "我的待办" in browser.get("/").text
    browser.post_form("/locale", {"locale": "en"}, page="/")
    assert "My tasks" in browser.get("/", headers={"Accept-Language": "zh-CN"}).text
    db.session.expire_all()
    assert user("sales1").locale == "en"


def test_the_compiled_catalogue_matches_its_source(tmp_path):
    """Someone edited messages.po without `make translations`: the UI would not show it."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    po_path = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    mo_path = po_path.with_suffix(".mo")
    with po_path.open("rb") as fh:
        po = read_po(fh)
    with mo_path.open("rb") as fh:
        mo = read_mo(fh)
    # keyed by context too: "Approved" (a status, 已批准) and pgettext("history", "Approved") (同意)
    translated = {(m.context, m.id): m.string for m in po if m.id and m.string and not m.fuzzy}
    compiled = {(m.context, m.id): m.string for m in mo if m.id}
    assert translated == compiled


def test_every_ui_string_has_a_chinese_translation():
    from babel.messages.pofile import read_po

    with (TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        po = read_po(fh)
    missing = [m.id for m in po if m.id and not m.string]
    assert missing == [], f"untranslated: {missing[:10]}"
    assert sys and subprocess  # the catalogue is built by `make translations`
