"""One paging shape for every list: ``{items, page, pages, total}``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from .errors import BadRequest, Detail
from .extensions import db
from .numbers import parse_int

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int
    per_page: int

    def as_dict(self, render: Callable[[Any], Any]) -> dict[str, Any]:
        return {
            "items": [render(i) for i in self.items],
            "page": self.page,
            "pages": self.pages,
            "total": self.total,
        }


def parse_page_args(args: Any, default_per_page: int = 50) -> tuple[int, int]:
    def number(name: str, default: int, upper: int) -> int:
        raw = args.get(name)
        if raw in (None, ""):
            return default
        value = parse_int(raw, minimum=1)
        if value is None:
            raise BadRequest("Invalid paging.", [Detail(name, "must be a whole number from 1")])
        return min(value, upper)

    return number("page", 1, 10**6), number("per_page", default_per_page, MAX_PER_PAGE)


def page_of(items: Sequence[Any], page: int, per_page: int) -> Page:
    """One page of rows already in memory (a report's), in the same shape as :func:`paginate`."""
    total = len(items)
    pages = max(1, math.ceil(total / per_page))
    start = (page - 1) * per_page
    return Page(list(items[start : start + per_page]), page, pages, total, per_page)


def paginate(stmt: Select[Any], page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, pages, total, per_page)
