"""The two errors a formula can raise, so callers catch one family and show its message."""

from __future__ import annotations


class FormulaError(Exception):
    """A formula cannot be evaluated; `message` is a sentence for the person who wrote it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FormulaSyntaxError(FormulaError):
    """A formula's text is not valid; `column` (1-based, or None) points the designer's caret."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column
