import copy

import pytest

from quire.report_templates import builtin_templates


@pytest.fixture
def expense_claim():
    """A fresh copy of the built-in expense claim, to break on purpose."""
    return copy.deepcopy(builtin_templates()["expense-claim"])


def bilingual(en: str, zh: str = "中") -> dict:
    return {"zh": zh, "en": en}


def minimal_form(*fields: dict, **extra) -> dict:
    return {
        "key": "test-form",
        "kind": "form",
        "title": bilingual("Test"),
        "fields": list(fields),
        **extra,
    }


def formula(key: str, expression: str) -> dict:
    return {"key": key, "type": "formula", "label": bilingual(key), "expression": expression}


def money(key: str) -> dict:
    return {"key": key, "type": "money", "label": bilingual(key.title())}
