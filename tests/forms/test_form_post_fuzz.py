"""Whatever a client posts as form data, the answer is a clear 4xx or a saved draft: never a
500, and never a half-written record."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quire.runtime.extensions import db
from quire.runtime.models import Submission

FIELD_KEYS = [
    "department",
    "project",
    "payee_name",
    "bank_account",
    "lines",
    "total",
    "colour",
    "__proto__",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        ["25,000.00", "1e309", "NaN", "=1+2", "2026-02-30", "SALES", "", " ", "9" * 40]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["date", "category", "description", "amount", "invoice", "x"]),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=12,
)
documents = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_KEYS), values, max_size=6),
    values,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=documents)
def test_random_form_posts_never_break_the_server(api, data):
    client = (
        api("sales1") if not hasattr(test_random_form_posts_never_break_the_server, "_c") else None
    )
    client = client or test_random_form_posts_never_break_the_server._c  # type: ignore[attr-defined]
    test_random_form_posts_never_break_the_server._c = client  # type: ignore[attr-defined]
    before = db.session.query(Submission).count()
    response = client.post("/api/v1/forms/expense-claim/submissions", json={"data": data})
    assert response.status_code in (201, 400, 413, 422), response.json
    after = db.session.query(Submission).count()
    if response.status_code == 201:
        assert after == before + 1
    else:
        assert after == before
        assert set(response.json["error"]) == {"code", "message", "details"}


def test_a_huge_string_is_refused_cleanly(api):
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": {"payee_name": "长" * (10 * 1024 * 1024 // 3)}},
    )
    assert response.status_code in (413, 422)


def test_deeply_nested_json_is_refused_cleanly(api):
    body = '{"data": {"lines": ' + "[" * 100000 + '"x"' + "]" * 100000 + "}}"
    response = api("sales1").post(
        "/api/v1/forms/expense-claim/submissions", data=body, content_type="application/json"
    )
    assert response.status_code in (400, 413, 422)
