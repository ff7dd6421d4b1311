"""The data generation: one counter that every transaction writing Quire's data moves."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DataGeneration(Base):
    """A single row (id 1). `runtime.generation` adds one to ``n`` as the last statement of
    every transaction that wrote a watched table, so a reader that sees the same ``n`` twice
    knows nothing it could have read has changed in between (on any worker or machine)."""

    __tablename__ = "data_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
