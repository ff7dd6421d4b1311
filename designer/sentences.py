"""Conditions in words: a formula's syntax tree told as a sentence in the reader's language.

The route simulator and the diff say why a step runs or is skipped ("total is under 100,000
and within budget"), never the formula text. With values, `explain` tells only the parts that
decided the outcome (for `a OR b` that was false: both parts, negated; for `a AND b` that
was false: the part that failed), so the sentence is the reason, not a restatement.

Pure: no Flask. Field names come from the template's labels; numbers are written with
thousands separators; English and Chinese phrasing live side by side below.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .formula import FormulaError, parse
from .formula.evaluate import evaluate
from .formula.nodes import (
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

#: How a comparison reads, and its opposite (used to say why a condition is false).
_COMPARISONS = {
    "en": {
        "<": "{a} is under {b}",
        "<=": "{a} is at most {b}",
        ">": "{a} is over {b}",
        ">=": "{a} is {b} or more",
        "=": "{a} is {b}",
        "<>": "{a} is not {b}",
    },
    "zh": {
        "<": "{a}低于 {b}",
        "<=": "{a}不超过 {b}",
        ">": "{a}超过 {b}",
        ">=": "{a}达到 {b} 或以上",
        "=": "{a}为 {b}",
        "<>": "{a}不是 {b}",
    },
}
_OPPOSITE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "<>", "<>": "="}

#: Names the engine provides, as phrases; booleans read as a state, with their negation.
_FACTS: dict[str, dict[str, str]] = {
    "en": {
        "within_budget": "within budget",
        "not within_budget": "over budget",
        "over_budget": "over budget",
        "not over_budget": "within budget",
        "budget_remaining": "the remaining budget",
        "submitter.department": "the submitter's department",
        "submitter.username": "the submitter",
        "department.code": "the department",
    },
    "zh": {
        "within_budget": "在预算内",
        "not within_budget": "超出预算",
        "over_budget": "超出预算",
        "not over_budget": "在预算内",
        "budget_remaining": "剩余预算",
        "submitter.department": "提交人所在部门",
        "submitter.username": "提交人",
        "department.code": "部门",
    },
}
_WORDS = {
    "en": {
        "and": " and ",
        "or": " or ",
        "not": "not {x}",
        "yes": "yes",
        "no": "no",
        "+": "{a} plus {b}",
        "-": "{a} minus {b}",
        "*": "{a} times {b}",
        "/": "{a} divided by {b}",
        "&": "{a} followed by {b}",
        "neg": "minus {x}",
        "SUM": "the sum of {x}",
        "COUNT": "the number of {x}",
        "MAX": "the largest {x}",
        "MIN": "the smallest {x}",
        "AVERAGE": "the average {x}",
        "TODAY": "today",
        "ROUND": "{x} rounded",
        "ABS": "{x} without its sign",
        "call": "{name} of {x}",
        "is": "{x}",
        "empty": "is empty",
    },
    "zh": {
        "and": "，且",
        "or": "，或",
        "not": "并非{x}",
        "yes": "是",
        "no": "否",
        "+": "{a}加{b}",
        "-": "{a}减{b}",
        "*": "{a}乘以{b}",
        "/": "{a}除以{b}",
        "&": "{a}接{b}",
        "neg": "负{x}",
        "SUM": "{x}合计",
        "COUNT": "{x}条数",
        "MAX": "最大的{x}",
        "MIN": "最小的{x}",
        "AVERAGE": "平均{x}",
        "TODAY": "今天",
        "ROUND": "{x}（取整）",
        "ABS": "{x}的绝对值",
        "call": "{name}（{x}）",
        "is": "{x}",
        "empty": "为空",
    },
}


def _lang(locale: str) -> str:
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def number_text(value: Decimal | int | float) -> str:
    """`100000` → `100,000`; `2500.5` → `2,500.50` (money reads with its cents)."""
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}"


class Phrasebook:
    """How one template's names read: field labels in the reader's language."""

    def __init__(self, labels: Mapping[str, Mapping[str, str]], locale: str) -> None:
        self.lang = _lang(locale)
        self.labels = labels

    def name(self, key: str) -> str:
        fact = _FACTS[self.lang].get(key)
        if fact is not None:
            return fact
        table, _, column = key.partition(".")
        if column and table in self.labels and key in self.labels:
            joiner = "" if self.lang == "zh" else " "
            return self._label(table) + joiner + self._label(key)
        label = self.labels.get(key)
        if label:
            return self._label(key)
        if column and table in self.labels and f"{table}.{column}" not in self.labels:
            return f"{self.name(table)} · {column}"
        return key.replace("_", " ")

    def _label(self, key: str) -> str:
        label = self.labels[key]
        text = label.get(self.lang) or label.get("en") or key
        if self.lang == "en" and text[:1].isupper() and not text[1:2].isupper():
            text = text[0].lower() + text[1:]  # mid-sentence: "total is under 10,000"
        return text

    def word(self, key: str, **parts: str) -> str:
        return _WORDS[self.lang][key].format(**parts)


def labels_of(document: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Field labels by key (`lines.amount` for columns) from a template document."""
    labels: dict[str, dict[str, str]] = {}
    for f in document.get("fields") or []:
        if isinstance(f, Mapping) and isinstance(f.get("label"), Mapping):
            labels[str(f.get("key"))] = dict(f["label"])
            for c in f.get("columns") or []:
                if isinstance(c, Mapping) and isinstance(c.get("label"), Mapping):
                    labels[f"{f.get('key')}.{c.get('key')}"] = dict(c["label"])
    return labels


def describe(formula: str, document: Mapping[str, Any], locale: str) -> str:
    """The condition as a sentence ("total is 100,000 or more or over budget")."""
    book = Phrasebook(labels_of(document), locale)
    try:
        return _Teller(book, None).holds(parse(formula).tree)
    except FormulaError:
        return book.word("is", x="?")


def explain(
    formula: str,
    document: Mapping[str, Any],
    values: Mapping[str, object],
    locale: str,
    *,
    today: datetime.date | None = None,
) -> tuple[bool | None, str]:
    """The condition's outcome for `values` and the reason in words; (None, sentence) when it
    cannot be evaluated (a missing value), in which case the sentence describes the rule."""
    book = Phrasebook(labels_of(document), locale)
    try:
        tree = parse(formula).tree
    except FormulaError:
        return None, book.word("is", x="?")
    teller = _Teller(book, lambda node: evaluate(node, values, today or datetime.date.today()))
    try:
        outcome = bool(teller.value(tree))
    except FormulaError:
        return None, teller.holds(tree)
    return outcome, teller.holds(tree) if outcome else teller.fails(tree)


class _Teller:
    """Walks a tree: `holds` says it as a statement, `fails` as its negation; with a
    `value` function it keeps only the parts that decided the outcome."""

    def __init__(self, book: Phrasebook, value: Callable[[Node], object] | None) -> None:
        self.book = book
        self._value = value

    def value(self, node: Node) -> object:
        assert self._value is not None
        return self._value(node)

    def _truth(self, node: Node) -> bool | None:
        if self._value is None:
            return None
        try:
            return bool(self._value(node))
        except FormulaError:
            return None

    def holds(self, node: Node) -> str:
        if isinstance(node, Logical):
            parts = node.operands
            if node.operator == "OR" and self._value is not None:
                true = [p for p in parts if self._truth(p)]
                parts = tuple(true[:1]) or parts
            elif node.operator == "AND":
                pass
            joiner = "and" if node.operator == "AND" else "or"
            return self.book.word(joiner).join(self.holds(p) for p in parts)
        if isinstance(node, Not):
            return self.fails(node.operand)
        if isinstance(node, Comparison):
            return self._compare(node.operator, node.left, node.right)
        if isinstance(node, Name):
            return self.book.name(node.key)
        return self.term(node)

    def fails(self, node: Node) -> str:
        if isinstance(node, Logical):
            parts = node.operands
            if node.operator == "AND" and self._value is not None:
                false = [p for p in parts if self._truth(p) is False]
                parts = tuple(false[:1]) or parts
                return self.book.word("and").join(self.fails(p) for p in parts)
            joiner = "and" if node.operator == "OR" else "or"
            return self.book.word(joiner).join(self.fails(p) for p in parts)
        if isinstance(node, Not):
            return self.holds(node.operand)
        if isinstance(node, Comparison):
            return self._compare(_OPPOSITE[node.operator], node.left, node.right)
        if isinstance(node, Name):
            negated = _FACTS[self.book.lang].get(f"not {node.key}")
            return negated or self.book.word("not", x=self.book.name(node.key))
        if isinstance(node, Boolean):
            return self.term(Boolean(not node.value))
        return self.book.word("not", x=self.term(node))

    def _compare(self, operator: str, left: Node, right: Node) -> str:
        return _COMPARISONS[self.book.lang][operator].format(a=self.term(left), b=self.term(right))

    def term(self, node: Node) -> str:
        book = self.book
        if isinstance(node, Number):
            return number_text(node.value)
        if isinstance(node, Text):
            return f"“{node.value}”"
        if isinstance(node, Boolean):
            return book.word("yes" if node.value else "no")
        if isinstance(node, Name):
            return book.name(node.key)
        if isinstance(node, Sign):
            inner = self.term(node.operand)
            return book.word("neg", x=inner) if node.operator == "-" else inner
        if isinstance(node, Operation):
            text = self.term(node.first)
            for operator, operand in node.rest:
                text = book.word(operator, a=text, b=self.term(operand))
            return text
        if isinstance(node, Call):
            inner = book.word("and").join(self.term(a) for a in node.arguments)
            if node.name in _WORDS[book.lang]:
                return book.word(node.name, x=inner)
            return book.word("call", name=node.name.lower(), x=inner)
        if isinstance(node, Logical | Not | Comparison):
            return self.holds(node)
        return "?"
