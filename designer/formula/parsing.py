"""`parse()` and `Formula`: the checked, ready-to-evaluate form of a formula's text.

Everything that can be known without field values is checked here, once, so a template
validator can report it when the designer saves: syntax, function names and argument counts,
name spelling, literal sizes and the size limits that keep evaluation cheap and shallow.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Mapping

from .errors import FormulaSyntaxError
from .evaluate import evaluate
from .functions import FUNCTIONS
from .grammar import build_tree
from .nodes import Call, Name, Node, Number
from .values import Value

MAX_LENGTH = 2_000
MAX_DEPTH = 50
MAX_NODES = 500
MAX_LITERAL_DIGITS = 30

_FIELD_KEY = re.compile(r"[a-z_][a-z0-9_]*")


class Formula:
    """A parsed formula: its text, the names and functions it uses, and `evaluate()`."""

    __slots__ = ("source", "references", "functions", "_tree")

    def __init__(
        self, source: str, tree: Node, references: frozenset[str], functions: frozenset[str]
    ) -> None:
        self.source = source
        #: every name the formula reads: "total", "lines.amount", or "lines" in COUNT(lines)
        self.references = references
        #: upper-case names of the functions it calls (AND/OR/NOT written as keywords excluded)
        self.functions = functions
        self._tree = tree

    def evaluate(
        self, values: Mapping[str, object], *, today: datetime.date | None = None
    ) -> Value:
        """The formula's value for these field values; raises FormulaError when it has none."""
        return evaluate(self._tree, values, today or datetime.date.today())

    def to_source(self) -> str:
        return self.source

    @property
    def tree(self) -> Node:
        """The syntax tree, for tools that read a formula (the designer's sentences)."""
        return self._tree

    def __repr__(self) -> str:
        return f"Formula({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)


def parse(source: str) -> Formula:
    """Parse and check a formula's text; raises FormulaSyntaxError with a sentence and column."""
    if len(source) > MAX_LENGTH:
        raise FormulaSyntaxError(
            f"the formula is too long: at most {MAX_LENGTH:,} characters, got {len(source):,}"
        )
    if not source.strip():
        raise FormulaSyntaxError("the formula is empty")
    tree = build_tree(source)
    references, functions = _check(tree)
    return Formula(source, tree, frozenset(references), frozenset(functions))


def _check(tree: Node) -> tuple[set[str], set[str]]:
    """Walk the tree once (without recursion) for the limits, names and function calls."""
    nodes = list(_walk(tree))
    if len(nodes) > MAX_NODES:
        raise FormulaSyntaxError(
            f"the formula is too complex: at most {MAX_NODES} parts, got {len(nodes)}; "
            "split it into several computed fields"
        )
    if max(depth for _, depth in nodes) > MAX_DEPTH:
        raise FormulaSyntaxError(
            f"the formula is nested too deeply: at most {MAX_DEPTH} levels; "
            "split it into several computed fields"
        )
    references: set[str] = set()
    functions: set[str] = set()
    for node, _ in nodes:
        if isinstance(node, Name):
            _check_name(node)
            references.add(node.key)
        elif isinstance(node, Call):
            _check_call(node)
            functions.add(node.name)
        elif isinstance(node, Number) and node.digits > MAX_LITERAL_DIGITS:
            raise FormulaSyntaxError(
                f"the number at column {node.column} is too long: "
                f"at most {MAX_LITERAL_DIGITS} digits",
                node.column,
            )
    return references, functions


def _walk(tree: Node):
    """Every node with its depth (the root is 1), in source order."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in reversed(node.children))


def _check_name(node: Name) -> None:
    parts = node.key.split(".")
    if len(parts) > 2:
        raise FormulaSyntaxError(
            f'"{node.key}" at column {node.column} has too many dots: '
            "write a field as total, or a table column as lines.amount",
            node.column,
        )
    # Lower-case `date` or `year` are ordinary field keys; only SUM-like spelling is a slip.
    if node.key != node.key.lower() and node.key.upper() in FUNCTIONS:
        raise FormulaSyntaxError(
            f"{node.key.upper()} at column {node.column} is a function: "
            f"write it with parentheses, e.g. {node.key.upper()}(...)",
            node.column,
        )
    if not all(_FIELD_KEY.fullmatch(part) for part in parts):
        raise FormulaSyntaxError(
            f'"{node.key}" at column {node.column} is not a field key: field keys are '
            "lower case, and text must be in double quotes",
            node.column,
        )


def _check_call(node: Call) -> None:
    function = FUNCTIONS.get(node.name)
    if function is None:
        close = difflib.get_close_matches(node.name, FUNCTIONS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise FormulaSyntaxError(f"unknown function {node.name}{hint}", node.column)
    problem = function.arity_error(len(node.arguments))
    if problem:
        raise FormulaSyntaxError(problem, node.column)
