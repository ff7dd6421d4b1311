"""Language choice: the user's own setting, else the one picked in this browser (a cookie, so
the sign-in page remembers it), else the browser's, else Chinese."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

LOCALES = ("zh_CN", "en")
#: The cookie that remembers the language picked in this browser, signed in or not.
LOCALE_COOKIE = "quire_locale"
#: Session key: a language was picked on the sign-in page, so it becomes the setting at sign-in.
PICKED_BEFORE_SIGN_IN = "locale_picked"


def select_locale() -> str:
    preferred = getattr(current_user, "locale", None)
    if preferred in LOCALES:
        return preferred
    if has_request_context():
        remembered = request.cookies.get(LOCALE_COOKIE)
        if remembered in LOCALES:
            return remembered
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        if best and best.startswith("en"):
            return "en"
    return "zh_CN"


def current_locale(default: str = "en") -> str:
    """The language of the person making the current request (``default`` outside one:
    the command line, jobs), for sentences services build with names in them."""
    if not has_request_context():
        return default
    from flask_babel import get_locale

    found = get_locale()
    return "en" if found is not None and str(found).startswith("en") else "zh_CN"


def select_timezone() -> str:
    from . import clock

    return clock.zone().key
