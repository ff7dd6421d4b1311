"""Flask extension objects, created unbound so the app factory can bind them."""

from __future__ import annotations

from typing import Any, cast

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, Result

from .models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def affected_rows(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed. ``db.session.execute`` is typed as returning a
    ``Result``; for those statements it is a ``CursorResult``, which carries the count."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
