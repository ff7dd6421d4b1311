"""Renderers: a resolved document in, bytes or a stream out.

Nothing in this package queries a database or knows about Flask, so every export can be
produced (and tested) from a plain :class:`ReportDocument`.
"""

from quire.runtime.render.document import (
    ChartSpec,
    Column,
    ReportDocument,
    Thresholds,
)

__all__ = ["ChartSpec", "Column", "ReportDocument", "Thresholds"]
