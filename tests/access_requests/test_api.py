"""The grants API: integrations ask for a role and read who holds what, without the admin pages."""

from __future__ import annotations

from datetime import date, timedelta


def _in(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_sales2_asks_for_finance_reviewer_through_the_api_and_reads_her_grant_once_approved(
    app, api, user, act_on_request
):
    sales2 = api("sales2")
    response = sales2.post(
        "/api/v1/access-requests",
        json={
            "role": "finance_reviewer",
            "scope": {"department": "SALES", "subtree": True},
            "valid_until": _in(30),
            "reason": "month-end cover",
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["form"] == "access-request" and body["status"] == "in_review"
    act_on_request("salesmgr", body["id"])
    act_on_request("finadmin", body["id"])

    grants = sales2.get("/api/v1/users/sales2/grants").json["items"]
    reviewer = [g for g in grants if g["role"] == "finance_reviewer"]
    assert reviewer[0]["source"] == f"request:{body['number']}"
    assert reviewer[0]["scope"]["department"] == "SALES" and reviewer[0]["valid_until"]
    staff = [g for g in grants if g["role"] == "staff"]
    assert staff[0]["source"] == "granted_without_request"
    assert api("salesmgr").get("/api/v1/users/sales2/grants").status_code == 200
    assert api("auditor").get("/api/v1/users/sales2/grants").status_code == 200
    assert api("sales1").get("/api/v1/users/sales2/grants").status_code == 403
    assert api("sales1").get("/api/v1/users/nobody/grants").status_code == 404


def test_bad_requests_are_422_with_the_path_of_each_problem(app, api):
    sales2 = api("sales2")
    response = sales2.post(
        "/api/v1/access-requests",
        json={"role": "finance_reviewer", "scope": {"department": "NOPE"}, "reason": "x"},
    )
    assert response.status_code == 422
    assert [d["path"] for d in response.json["error"]["details"]] == ["scope.department"]
    response = sales2.post("/api/v1/access-requests", json={"scope": {"color": 1}})
    assert response.status_code == 422
    paths = {d["path"] for d in response.json["error"]["details"]}
    assert {"role", "reason", "scope.color"} <= paths
    assert sales2.post("/api/v1/access-requests", data="[]").status_code == 400


def test_a_request_breaking_a_separation_of_duties_rule_is_a_422_naming_it_and_keeps_nothing(
    app, api
):
    from sqlalchemy import func, select

    from quire.runtime.extensions import db
    from quire.runtime.models import Submission

    before = db.session.scalar(select(func.count()).select_from(Submission))
    response = api("finadmin").post(
        "/api/v1/access-requests",
        json={"role": "finance_reviewer", "reason": "help at year end", "valid_until": _in(10)},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    detail = response.json["error"]["details"][0]
    assert detail["path"] == "role"
    assert "May not both design templates and approve claims" in detail["message"]
    assert db.session.scalar(select(func.count()).select_from(Submission)) == before


def test_the_openapi_description_lists_the_grants_endpoints(app, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/access-requests"]
    assert "get" in paths["/api/v1/users/{username}/grants"]
