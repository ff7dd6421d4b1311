"""The formula grammar and the step from lark's parse to our own syntax tree.

The grammar is a string here rather than a `.lark` file so the package needs no data files.
Lark runs as LALR with the tree builder inlined: parsing and building are iterative, so even a
2,000-character wall of parentheses cannot exhaust Python's recursion limit before the size
checks in `parsing` get to reject it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken

from .errors import FormulaSyntaxError
from .nodes import (
    Boolean,
    Call,
    Comparison,
    Logical,
    Name,
    Node,
    Not,
    Number,
    Operation,
    Sign,
    Text,
)

# Precedence from loosest to tightest: OR, AND, NOT, comparison, &, + -, * /, unary sign.
# Comparisons do not chain (`1 < x < 3` is an error, not a silent TRUE/FALSE comparison).
# AND/OR are keywords, so their function forms `AND(a, b)` are spelt out as atoms.
GRAMMAR = r"""
?start: expr
?expr: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negation
         | comparison
?comparison: concat (COMPARE concat)?
?concat: additive (_AMPERSAND additive)*
?additive: multiplicative (ADDITIVE multiplicative)*
?multiplicative: unary (MULTIPLICATIVE unary)*
?unary: ADDITIVE unary -> sign
      | atom
?atom: NUMBER -> number
     | STRING -> text
     | TRUE -> true
     | FALSE -> false
     | NAME -> name
     | NAME "(" [arguments] ")" -> call
     | _AND "(" arguments ")" -> and_call
     | _OR "(" arguments ")" -> or_call
     | "(" expr ")"
arguments: expr ("," expr)*

_AND: "AND"i
_OR: "OR"i
_NOT: "NOT"i
TRUE: "TRUE"i
FALSE: "FALSE"i
_AMPERSAND: "&"
COMPARE: "<=" | ">=" | "<>" | "=" | "<" | ">"
ADDITIVE: "+" | "-"
MULTIPLICATIVE: "*" | "/"
NAME: /[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*/i
NUMBER: /\d+(\.\d*)?|\.\d+/
STRING: /"([^"]|"")*"/
%ignore /\s+/
"""


def _column(token: Token) -> int:
    # Columns count characters from the start of the whole formula, so they stay
    # meaningful when an author breaks a long formula over several lines.
    return (token.start_pos or 0) + 1


class _TreeBuilder(Transformer):
    """Turns lark's rule callbacks into `nodes`; stateless, so one instance serves all parses."""

    def number(self, children: list[Token]) -> Node:
        (token,) = children
        digits = sum(character.isdigit() for character in token)
        return Number(Decimal(str(token)), digits, column=_column(token))

    def text(self, children: list[Token]) -> Node:
        (token,) = children
        return Text(str(token)[1:-1].replace('""', '"'), column=_column(token))

    def true(self, children: list[Token]) -> Node:
        return Boolean(True, column=_column(children[0]))

    def false(self, children: list[Token]) -> Node:
        return Boolean(False, column=_column(children[0]))

    def name(self, children: list[Token]) -> Node:
        (token,) = children
        return Name(str(token), column=_column(token))

    def call(self, children: list) -> Node:
        token, arguments = children
        return Call(str(token).upper(), tuple(arguments or ()), column=_column(token))

    def arguments(self, children: list[Node]) -> list[Node]:
        return children

    def and_call(self, children: list) -> Node:
        (arguments,) = children
        return Logical("AND", tuple(arguments), column=arguments[0].column)

    def or_call(self, children: list) -> Node:
        (arguments,) = children
        return Logical("OR", tuple(arguments), column=arguments[0].column)

    def or_expr(self, children: list[Node]) -> Node:
        return Logical("OR", tuple(children), column=children[0].column)

    def and_expr(self, children: list[Node]) -> Node:
        return Logical("AND", tuple(children), column=children[0].column)

    def negation(self, children: list[Node]) -> Node:
        (operand,) = children
        return Not(operand, column=operand.column)

    def comparison(self, children: list) -> Node:
        left, operator, right = children
        return Comparison(str(operator), left, right, column=left.column)

    def concat(self, children: list[Node]) -> Node:
        first, *rest = children
        return Operation(first, tuple(("&", node) for node in rest), column=first.column)

    def _chain(self, children: list) -> Node:
        first, *rest = children
        pairs = tuple((str(rest[i]), rest[i + 1]) for i in range(0, len(rest), 2))
        return Operation(first, pairs, column=first.column)

    additive = _chain
    multiplicative = _chain

    def sign(self, children: list) -> Node:
        operator, operand = children
        return Sign(str(operator), operand, column=_column(operator))


@cache
def _parser() -> Lark:
    # Built on first use rather than at import, and then shared: building takes a few ms.
    return Lark(GRAMMAR, parser="lalr", transformer=_TreeBuilder(), maybe_placeholders=True)


def build_tree(source: str) -> Node:
    """Parse `source` into a syntax tree, or raise FormulaSyntaxError with a readable sentence."""
    try:
        # The transformer turns the parse tree into Nodes as it parses.
        return _parser().parse(source)  # type: ignore[return-value]
    except UnexpectedCharacters as error:
        raise _unexpected_character(source, error.pos_in_stream or 0) from None
    except UnexpectedToken as error:
        raise _unexpected_token(source, error.token) from None
    except LarkError as error:  # anything else lark may add later still reads as a syntax error
        raise FormulaSyntaxError("the formula could not be read") from error


_QUOTES = "'\u2018\u2019\u201c\u201d"


def _unexpected_character(source: str, position: int) -> FormulaSyntaxError:
    character = source[position]
    column = position + 1
    if character in _QUOTES:
        message = f"text must be in double quotes (column {column})"
    elif character == '"':
        message = f"the text starting at column {column} has no closing double quote"
    elif source.startswith("!=", position):
        message = f'use <> for "not equal" (column {column})'
    elif character == ";":
        message = f"use a comma to separate arguments (column {column})"
    else:
        message = f'unexpected "{character}" at column {column}'
    return FormulaSyntaxError(message, column)


def _unexpected_token(source: str, token: Token) -> FormulaSyntaxError:
    if token.type == "$END":
        column = len(source.rstrip()) + 1
        if _open_parentheses(source) > 0:
            return FormulaSyntaxError('the formula is missing a closing parenthesis ")"', column)
        return FormulaSyntaxError("the formula ends too early", column)
    column = _column(token)
    if str(token) == "=" and source[: column - 1].rstrip().endswith("="):
        return FormulaSyntaxError(f"use a single = to compare (column {column})", column)
    return FormulaSyntaxError(f'unexpected "{token}" at column {column}', column)


def _open_parentheses(source: str) -> int:
    """How many parentheses are left open, ignoring any inside text in double quotes."""
    depth = 0
    in_text = False
    for character in source:
        if character == '"':
            in_text = not in_text  # an escaped "" toggles twice, which is what we want
        elif not in_text and character == "(":
            depth += 1
        elif not in_text and character == ")":
            depth -= 1
    return depth
