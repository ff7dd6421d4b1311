"""The formula syntax tree: small immutable records, so a parsed formula can be cached and shared.

Left-associative chains (`a + b - c`, `x AND y AND z`) are one node with many operands rather
than a deep tree, so a long but flat formula does not run into the depth limit.
Every node keeps the 1-based column where it starts, for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Node:
    column: int = field(default=0, compare=False, kw_only=True)

    @property
    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: Decimal
    digits: int  # how many digits the literal was written with, for the size limit


@dataclass(frozen=True, slots=True)
class Text(Node):
    value: str


@dataclass(frozen=True, slots=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A field key (`total`), a table column (`lines.amount`) or a whole table (`lines`)."""

    key: str


@dataclass(frozen=True, slots=True)
class Sign(Node):
    """Unary `-` or `+`."""

    operator: str
    operand: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Operation(Node):
    """`first op1 x1 op2 x2 ...` for one precedence level of `* /`, `+ -` or `&`."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.first, *(operand for _, operand in self.rest))


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    operator: str  # one of = <> < <= > >=
    left: Node
    right: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """`AND`/`OR`, written infix or as a function; evaluated left to right, short-circuiting."""

    operator: str  # "AND" or "OR"
    operands: tuple[Node, ...]

    @property
    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str  # upper case as written in FUNCTIONS; the user may type any case
    arguments: tuple[Node, ...]

    @property
    def children(self) -> tuple[Node, ...]:
        return self.arguments
