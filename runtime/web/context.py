"""Values every page template may use (menus by permission, language, names)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from ..access import Permission, permissions_of
from ..words import action_word, status_word, user_status_word


def register_template_context(app: Flask) -> None:
    @app.context_processor
    def _context() -> dict[str, Any]:
        held = permissions_of(current_user) if current_user.is_authenticated else set()
        locale = str(get_locale() or "zh_CN")
        return {
            "P": Permission,
            "held": held,
            "locale": locale,
            "lang": "en" if locale.startswith("en") else "zh-CN",
            "company_name": app.config.get("COMPANY_NAME", "Quire"),
            "url_endpoints": app.view_functions,
        }

    app.jinja_env.globals.update(
        status_word=status_word, action_word=action_word, user_status_word=user_status_word
    )

    @app.template_filter("localname")
    def _localname(obj: Any) -> str:
        locale = str(get_locale() or "zh_CN")
        return obj.name(locale) if obj is not None else ""

    @app.template_filter("localtime")
    def _localtime(value: Any) -> str:
        from flask_babel import format_datetime

        return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""

    @app.template_filter("localclock")
    def _localclock(value: Any) -> str:
        """The time of day in the instance's time zone ("saved at 21:14")."""
        from flask_babel import format_datetime

        return format_datetime(value, "HH:mm") if value else ""
