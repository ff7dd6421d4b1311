"""Declarative base, shared column types and time helpers for every Quire model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, MetaData, Numeric, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, registry

from .. import clock

# Stable constraint names, so Alembic can alter tables on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """This moment, aware UTC, from the instance's one clock (tests move it there)."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    SQLite has no time zones; storing naive UTC and re-attaching UTC on the way out
    gives the same aware values on SQLite and PostgreSQL, which the audit hash chain needs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC was expected")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Money and other fixed-point amounts, exact on every database.

    PostgreSQL keeps ``NUMERIC(p, s)`` exactly. SQLite has no decimal type and would store
    a REAL (112,999,999,999,999.99 comes back as …98), so there the value is kept as a
    whole number of the smallest unit (cents for money) in the same NUMERIC column, which
    SQLite stores as a 64-bit integer, exact up to 92 quadrillion yuan.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2):
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale
        self._unit = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        # `impl` is the Numeric instance TypeDecorator made in __init__, not the class.
        precision = self.impl.precision  # type: ignore[misc]
        return dialect.type_descriptor(Numeric(precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        exact = Decimal(str(value)) if not isinstance(value, Decimal) else value
        exact = exact.quantize(self._unit, rounding=ROUND_HALF_UP)
        return int(exact.scaleb(self.scale)) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self._unit)


class Base(DeclarativeBase):
    # The type map lives on the registry: Flask-SQLAlchemy subclasses this base, and
    # SQLAlchemy refuses a per-class map on a subclass that inherits a registry.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()},
    )


@dataclass(frozen=True)
class ScopeColumns:
    """How a model's rows map onto grant scopes (read by :mod:`quire.runtime.access`).

    Each attribute names a column of the model, or is None when the model has no such
    dimension. ``owner`` rows are always visible to their owner, whatever the grants.
    """

    department: str | None = None
    project: str | None = None
    period: str | None = None
    owner: str | None = None
