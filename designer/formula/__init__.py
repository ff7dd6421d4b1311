"""Quire's formula language: Excel-like expressions for computed fields, validation rules,
default values, report columns and approval conditions.

    >>> parse("SUM(lines.amount) * 2").evaluate({"lines": [{"amount": 10}, {"amount": 5}]})
    Decimal('30')

Text is parsed by lark into a small syntax tree and evaluated with `Decimal` in a private
context; nothing is ever passed to `eval`, and a formula can reach only the values it is given.
"""

from .errors import FormulaError, FormulaSyntaxError
from .functions import FUNCTIONS
from .parsing import Formula, parse

__all__ = ["FUNCTIONS", "Formula", "FormulaError", "FormulaSyntaxError", "parse"]
