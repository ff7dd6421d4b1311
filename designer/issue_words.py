"""Template problems in the reader's language, for the designer's pages.

Validation (`validate.py`, `references.py`, `messages.py`, the formula grammar) stays free of
Flask and speaks English, which is also what the API and `quire templates validate` answer.
The pages retell each sentence through the catalogue: a pattern per sentence, its quoted
names and numbers carried over. A sentence no pattern knows is shown as it is, so a new
check is never hidden, only untranslated until a pattern is added here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

_HINT = re.compile(r' \(did you mean "(?P<name>[^"]*)"\?\)')

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rules() -> list[Rule]:
    """Each English sentence and how to say it. Built per call: gettext needs the request's
    locale, and the literal msgids must sit in `_()` calls for `pybabel extract`."""

    def exact(text: str, said: Callable[[], str]) -> Rule:
        return re.compile(re.escape(text)), lambda m: said()

    def inner(m: re.Match[str], name: str) -> str:
        return say(m.group(name))

    return [
        exact("this field is required", lambda: _("this field is required")),
        exact("must be text", lambda: _("must be text")),
        exact("must be a whole number", lambda: _("must be a whole number")),
        exact("must be true or false", lambda: _("must be true or false")),
        exact("must be a number", lambda: _("must be a number")),
        exact("must be a finite number", lambda: _("must be a finite number")),
        exact("must be a list", lambda: _("must be a list")),
        exact("must be an object (keys and values)", lambda: _("must be an object")),
        exact("must be empty", lambda: _("must be empty")),
        exact("must be valid text", lambda: _("must be valid text")),
        exact("must not be empty", lambda: _("must not be empty")),
        exact("is not in the expected form", lambda: _("is not in the expected form")),
        exact(
            "must be a three-letter currency code such as CNY",
            lambda: _("must be a three-letter currency code such as CNY"),
        ),
        exact(
            "must start with a lowercase letter and contain only lowercase letters, digits, "
            "underscores and hyphens",
            lambda: _(
                "must start with a lowercase letter and contain only lowercase letters, digits, "
                "underscores and hyphens"
            ),
        ),
        exact(
            "must start with a lowercase letter and contain only lowercase letters, digits, "
            "and underscores",
            lambda: _(
                "must start with a lowercase letter and contain only lowercase letters, digits "
                "and underscores"
            ),
        ),
        exact("a template must be a JSON object", lambda: _("a template must be a JSON object")),
        exact("a form needs at least one field", lambda: _("a form needs at least one field")),
        exact("only forms have an approval route", lambda: _("only forms have an approval route")),
        exact("the formula is too complex", lambda: _("the formula is too complex")),
        exact("the formula ends too early", lambda: _("the formula ends too early")),
        exact("the formula could not be read", lambda: _("the formula could not be read")),
        exact(
            'the formula is missing a closing parenthesis ")"',
            lambda: _('the formula is missing a closing parenthesis ")"'),
        ),
        (
            re.compile(r"must be one of: (?P<values>.+)"),
            lambda m: _("must be one of: %(values)s", values=m["values"]),
        ),
        (
            re.compile(r"must be at least (?P<n>\S+) characters long"),
            lambda m: _("must be at least %(n)s characters long", n=m["n"]),
        ),
        (
            re.compile(r"must be at most (?P<n>\S+) characters long"),
            lambda m: _("must be at most %(n)s characters long", n=m["n"]),
        ),
        (
            re.compile(r"must have at least (?P<n>\S+) item\(s\)"),
            lambda m: _("must have at least %(n)s item(s)", n=m["n"]),
        ),
        (
            re.compile(r"must have at most (?P<n>\S+) items"),
            lambda m: _("must have at most %(n)s items", n=m["n"]),
        ),
        (
            re.compile(r"must be at least (?P<n>.+)"),
            lambda m: _("must be at least %(n)s", n=m["n"]),
        ),
        (
            re.compile(r"must be at most (?P<n>.+)"),
            lambda m: _("must be at most %(n)s", n=m["n"]),
        ),
        (
            re.compile(r'unknown key "(?P<name>[^"]*)"'),
            lambda m: _("unknown key “%(name)s”", name=m["name"]),
        ),
        (
            re.compile(
                r'unknown (?P<what>type|kind|op) "(?P<got>[^"]*)"; must be one of: (?P<v>.*)'
            ),
            lambda m: (
                _(
                    "unknown field type “%(got)s”; must be one of: %(values)s",
                    got=m["got"],
                    values=m["v"],
                )
                if m["what"] == "type"
                else _(
                    "unknown value “%(got)s”; must be one of: %(values)s",
                    got=m["got"],
                    values=m["v"],
                )
            ),
        ),
        (
            re.compile(r'unknown field "(?P<name>[^"]*)"'),
            lambda m: _("unknown field “%(name)s”", name=m["name"]),
        ),
        (
            re.compile(r'table "(?P<table>[^"]*)" has no column "(?P<column>[^"]*)"'),
            lambda m: _(
                "table “%(table)s” has no column “%(column)s”",
                table=m["table"],
                column=m["column"],
            ),
        ),
        (
            re.compile(r'unknown role "(?P<name>[^"]*)"'),
            lambda m: _("unknown role “%(name)s”", name=m["name"]),
        ),
        (
            re.compile(r'unknown approval step "(?P<name>[^"]*)"'),
            lambda m: _("unknown approval step “%(name)s”", name=m["name"]),
        ),
        (
            re.compile(r'duplicate key "(?P<key>[^"]*)" \(also (?P<first>[^)]*)\)'),
            lambda m: _("key “%(key)s” is used twice (also at %(first)s)", **m.groupdict()),
        ),
        (
            re.compile(r'duplicate (?P<what>column|step|data source|rule) key "(?P<key>[^"]*)"'),
            lambda m: _("key “%(key)s” is used twice", key=m["key"]),
        ),
        (
            re.compile(r'field "(?P<key>[^"]*)" is already placed at (?P<at>.+)'),
            lambda m: _("field “%(key)s” is already placed at %(at)s", **m.groupdict()),
        ),
        (
            re.compile(r"formula error: (?P<detail>.+)"),
            lambda m: _("formula error: %(detail)s", detail=inner(m, "detail")),
        ),
        (
            re.compile(r"formulas refer to each other in a circle: (?P<circle>.+)"),
            lambda m: _("formulas refer to each other in a circle: %(circle)s", circle=m["circle"]),
        ),
        (
            re.compile(r"not a valid default: (?P<detail>.+)"),
            lambda m: _("not a valid default: %(detail)s", detail=inner(m, "detail")),
        ),
        (
            re.compile(r'unexpected "(?P<what>.+)" at column (?P<n>\d+)'),
            lambda m: _("unexpected “%(what)s” at column %(n)s", what=m["what"], n=m["n"]),
        ),
        (
            re.compile(r"text must be in double quotes \(column (?P<n>\d+)\)"),
            lambda m: _("text must be in double quotes (column %(n)s)", n=m["n"]),
        ),
        (
            re.compile(r"the text starting at column (?P<n>\d+) has no closing double quote"),
            lambda m: _("the text starting at column %(n)s has no closing double quote", n=m["n"]),
        ),
        (
            re.compile(r'use <> for "not equal" \(column (?P<n>\d+)\)'),
            lambda m: _("use <> for “not equal” (column %(n)s)", n=m["n"]),
        ),
        (
            re.compile(r"use a comma to separate arguments \(column (?P<n>\d+)\)"),
            lambda m: _("use a comma to separate arguments (column %(n)s)", n=m["n"]),
        ),
        (
            re.compile(r"use a single = to compare \(column (?P<n>\d+)\)"),
            lambda m: _("use a single = to compare (column %(n)s)", n=m["n"]),
        ),
        (
            re.compile(r"(?P<rest>.+) \(at column (?P<n>\d+)\)"),
            lambda m: _("%(what)s (at column %(n)s)", what=inner(m, "rest"), n=m["n"]),
        ),
    ]


def say(message: str) -> str:
    """`message` (a validation sentence in English) in the request's language."""
    hint = _HINT.search(message)
    text = _HINT.sub("", message) if hint else message
    for pattern, said in _rules():
        if pattern.fullmatch(text):
            text = said(pattern.fullmatch(text))  # type: ignore[arg-type]
            break
    if hint:
        text += _(" (did you mean “%(name)s”?)", name=hint["name"])
    return text
