"""Print headers and footers: text a template author writes with ``{{ submission.number }}``,
rendered in Jinja's sandbox with limits.

The values a header or footer may use (the runtime fills them, ``sample_context`` shows them):

- ``submission.number`` (EC-2026-00123), ``submission.status`` (in the reader's words: 审批中 /
  In review; ``submission.status_code`` is the code), ``submission.department`` (its code) and
  ``submission.department_name``, ``submission.submitter``, ``submission.created_at``
  (2026-11-25), ``submission.total`` (12345.67, empty when the form has no total);
- ``form.title``, ``form.key``, ``form.version``;
- ``company``: the company's name (``QUIRE_COMPANY_NAME``).

The sandbox stops access to Python internals; the limits stop a header from taking the server
down by other means: a huge value (``{{ "x" * 10**9 }}``, ``{{ 9**9**9 }}``), nested loops that
outlive the worker, output larger than a page header. Every limit raises `PrintTextError` with
a sentence, so validation refuses such a header at publish (path ``print.header``) and a print
copy of an older version says what is wrong instead of failing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "MAX_OUTPUT",
    "PrintTextError",
    "render_print_text",
    "sample_context",
]

#: Most characters a header or footer may render to.
MAX_OUTPUT = 2000
#: Most loop iterations (``range`` items and template lines run) per render.
MAX_STEPS = 20_000
#: Most seconds a render may take.
MAX_SECONDS = 0.5
#: Largest number (in bits) arithmetic may produce.
_MAX_BITS = 256


class PrintTextError(ValueError):
    """A header or footer that cannot be rendered within the limits; the message says why."""


class _Budget:
    """Steps and time one render may still use."""

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise PrintTextError(f"it runs more than {MAX_STEPS} loop steps; simplify its loops")
        if time.monotonic() > self.deadline:
            raise PrintTextError(f"it takes longer than {MAX_SECONDS:g} seconds to render")


#: What a header is made of: text, ``{{ values }}``, ``{% if %}`` and ``{% for %}``. Without
#: ``set``, ``with``, macros and blocks no variable can hold something built up step by step,
#: so every value stays about as large as the header's own text.
_STATEMENTS_REFUSED: tuple[type[nodes.Node], ...] = (
    nodes.Assign,
    nodes.AssignBlock,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.With,
    nodes.Block,
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Scope,
    nodes.ScopedEvalContextModifier,
)
#: Filters a header needs; the others (``center``, ``indent``, ``wordwrap``, ``format``...)
#: take a size that could build a huge text.
_FILTERS = (
    "abs",
    "capitalize",
    "default",
    "d",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "count",
    "lower",
    "replace",
    "round",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
)
#: String methods that take a width or build text from a format: refused like the filters.
_GROWING_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map"}
)


class _LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with arithmetic and string growth checked before it happens."""

    intercepted_binops = frozenset({"*", "**", "+", "//", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False)
        self.filters = {name: self.filters[name] for name in _FILTERS}
        self.globals = {}  # no lipsum(10**9), cycler, namespace...
        self.tests = {
            name: self.tests[name]
            for name in ("defined", "undefined", "none", "number", "string", "even", "odd")
        }

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Checked before Jinja's own getattr, which hands out `str.format` without asking
        # `is_safe_attribute`.
        if isinstance(obj, str) and attribute in _GROWING_METHODS:
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, str) and argument in _GROWING_METHODS:
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator in {"*", "+"} and (
            isinstance(left, list | tuple | dict) or isinstance(right, list | tuple | dict)
        ):
            raise PrintTextError("it repeats or joins lists, which a header cannot do")
        if operator == "**":
            if _is_number(left) and _is_number(right):
                if abs(right) > 64 or _bits(left) * max(abs(int(right)), 1) > _MAX_BITS:
                    raise PrintTextError("it computes a number too large to print")
        elif operator == "*":
            size = _repeat_size(left, right)
            if size is not None and size > MAX_OUTPUT:
                raise PrintTextError(f"it builds a text longer than {MAX_OUTPUT} characters")
            if _is_number(left) and _is_number(right) and _bits(left) + _bits(right) > _MAX_BITS:
                raise PrintTextError("it computes a number too large to print")
        elif operator == "%" and isinstance(left, str):
            raise PrintTextError("it formats text with %, which a header cannot use")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                if len(left) + len(right) > MAX_OUTPUT:
                    raise PrintTextError(f"it builds a text longer than {MAX_OUTPUT} characters")
        return super().call_binop(context, operator, left, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bits(value: Any) -> int:
    if isinstance(value, float):
        return 64
    return int(value).bit_length()


def _repeat_size(left: Any, right: Any) -> int | None:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str) and isinstance(count, int):
            return len(seq) * max(count, 0)
    return None


_SANDBOX = _LimitedSandbox()


def _budgeted_range(budget: _Budget) -> Any:
    def limited_range(*args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > MAX_STEPS:
            raise PrintTextError(f"it loops more than {MAX_STEPS} times")
        for number in numbers:
            budget.spend()
            yield number

    return limited_range


def render_print_text(source: str, context: dict[str, Any]) -> str:
    """`source` rendered with `context`; raises `PrintTextError` when it cannot be rendered
    within the limits (or at all)."""
    if not source or ("{{" not in source and "{%" not in source):
        if len(source) > MAX_OUTPUT:
            raise PrintTextError(f"it is longer than {MAX_OUTPUT} characters")
        return source
    budget = _Budget()
    try:
        tree = _SANDBOX.parse(source)
        for node in tree.find_all(_STATEMENTS_REFUSED):
            name = type(node).__name__.lower()
            raise PrintTextError(
                f"it uses {name}, but a header may only use values, if and for (line {node.lineno})"
            )
        template = _SANDBOX.from_string(tree)
    except TemplateError as exc:
        raise PrintTextError(f"it is not a valid template: {exc.message or exc}") from None
    parts: list[str] = []
    size = 0
    tracer = _tracer(budget)
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        for chunk in template.generate({**context, "range": _budgeted_range(budget)}):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise PrintTextError(f"it renders to more than {MAX_OUTPUT} characters")
            parts.append(chunk)
    except PrintTextError:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise PrintTextError(f"it cannot be rendered: {exc}") from None
    except RecursionError:
        raise PrintTextError("it nests too deeply to render") from None
    finally:
        sys.settrace(previous)
    return "".join(parts)


def _tracer(budget: _Budget) -> Any:
    """Counts the template's own lines as steps (loops over texts and lists have no `range` to
    count them) and checks the clock; only frames of compiled templates are traced."""

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            budget.spend()
        return local

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == "<template>":
            return local
        return None

    return trace


def sample_context() -> dict[str, Any]:
    """Values shaped like a real print copy's, for checking a header at validation."""
    return {
        "submission": {
            "number": "EXP-2026-000123",
            "status": "审批中 In review",
            "status_code": "in_review",
            "department": "SALES-E",
            "department_name": "华东销售",
            "submitter": "王小明 Wang Xiaoming",
            "created_at": "2026-11-25",
            "total": "12345.67",
        },
        "form": {"key": "expense-claim", "title": "费用报销单 Expense claim", "version": 1},
        "company": "示例集团有限公司",
    }
