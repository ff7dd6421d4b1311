"""Whatever an author types and whatever a form holds, a formula fails only with our errors.

Random text must either parse or raise FormulaSyntaxError; random well-formed-ish formulas,
evaluated against random field values, must either return a formula value or raise
FormulaError: never ZeroDivisionError, RecursionError, a decimal signal, TypeError...
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quire.designer.formula import FUNCTIONS, Formula, FormulaError, FormulaSyntaxError, parse

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELDS = ("total", "qty", "note", "due", "flag", "empty", "lines")

formula_characters = st.text(
    alphabet=st.sampled_from(list("0123456789.+-*/&=<>(),\"' abcxyzSUMIFNOTANDOR_\n\t!;^[]")),
    max_size=80,
)


@given(st.one_of(formula_characters, st.text(max_size=80)))
@FUZZ
def test_random_text_either_parses_or_raises_a_syntax_error(source):
    try:
        formula = parse(source)
    except FormulaSyntaxError as error:
        assert error.message
        assert error.column is None or 1 <= error.column <= len(source) + 1
    else:
        assert isinstance(formula, Formula)


numbers = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.decimals(min_value=0, max_value=10**6, places=3).map(str),
    st.sampled_from(["0", "0.0", "9999999999999999", "12345678901234567890", "1" * 30, ".5"]),
)
texts = st.text(alphabet='ab "-1.0', max_size=6).map(lambda t: '"' + t.replace('"', '""') + '"')
names = st.sampled_from([*FIELDS, "lines.amount", "lines.when", "lines.note", "missing"])
atoms = st.one_of(numbers, texts, names, st.sampled_from(["TRUE", "FALSE", "TODAY()"]))


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operator = st.sampled_from(["+", "-", "*", "/", "&", "=", "<>", "<", ">=", "AND", "OR"])
    call = st.tuples(
        st.sampled_from(sorted(FUNCTIONS)), st.lists(children, min_size=0, max_size=4)
    ).map(lambda pair: f"{pair[0]}({', '.join(pair[1])})")
    return st.one_of(
        st.tuples(children, operator, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(["-", "NOT ", "+"]), children).map("".join),
        children.map(lambda child: f"({child})"),
        call,
    )


expressions = st.recursive(atoms, combine, max_leaves=25)

cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(),
    st.text(alphabet="0123456789.-ab ", max_size=8),
    st.dates(),
    st.datetimes(),
)
tables = st.lists(
    st.dictionaries(st.sampled_from(["amount", "when", "note"]), cells, max_size=3), max_size=4
)
field_values = st.fixed_dictionaries(
    {name: cells for name in FIELDS if name != "lines"} | {"lines": st.one_of(tables, cells)}
)

RESULT_TYPES = (Decimal, str, bool, datetime.date, type(None))


@given(expressions, field_values, st.dates())
@FUZZ
def test_random_formulas_evaluate_to_a_value_or_a_formula_error(source, values, today):
    try:
        formula = parse(source)
    except FormulaSyntaxError:
        return
    try:
        result = formula.evaluate(values, today=today)
    except FormulaError as error:
        assert error.message
    else:
        assert isinstance(result, RESULT_TYPES)
        if isinstance(result, Decimal):
            assert result.is_finite()
