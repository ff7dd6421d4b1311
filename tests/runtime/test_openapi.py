"""The OpenAPI document is generated from the routes (spectree), valid, and complete."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from quire.runtime.openapi import is_documented

#: Every endpoint CONTRACT.md lists, as (method, path in the document).
CONTRACT = [
    ("get", "/api/v1/me"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/templates"),
    ("get", "/api/v1/templates/{key}"),
    ("get", "/api/v1/templates/{key}/versions"),
    ("post", "/api/v1/templates/validate"),
    ("post", "/api/v1/templates"),
    ("post", "/api/v1/templates/{key}/publish"),
    ("post", "/api/v1/forms/{key}/submissions"),
    ("get", "/api/v1/submissions"),
    ("get", "/api/v1/submissions/{submission_id}"),
    ("patch", "/api/v1/submissions/{submission_id}"),
    ("post", "/api/v1/submissions/{submission_id}/submit"),
    ("post", "/api/v1/submissions/{submission_id}/actions"),
    ("get", "/api/v1/submissions/{submission_id}/history"),
    ("get", "/api/v1/submissions/{submission_id}.pdf"),
    ("get", "/api/v1/submissions/{submission_id}.xlsx"),
    ("get", "/api/v1/forms/{key}/workbook"),
    ("post", "/api/v1/forms/{key}/workbook"),
    ("get", "/api/v1/inbox"),
    ("get", "/api/v1/reports/{key}"),
    ("get", "/api/v1/reports/{key}/export"),
    ("get", "/api/v1/jobs/{token}"),
    ("get", "/api/v1/audit"),
    ("post", "/api/v1/templates/{key}/simulate"),
    ("get", "/api/v1/datasources"),
    ("post", "/api/v1/datasources"),
    ("get", "/api/v1/datasources/{key}"),
    ("patch", "/api/v1/datasources/{key}"),
    ("delete", "/api/v1/datasources/{key}"),
    ("post", "/api/v1/datasources/{key}/test"),
    ("get", "/api/v1/datasources/{key}/preview"),
    ("get", "/healthz"),
]


def _document(client):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_is_valid_openapi(client):
    document = _document(client)
    validate(document)  # raises with the first problem
    assert document["openapi"].startswith("3.1")


def test_every_api_route_is_declared_and_in_the_document(app, client):
    """A new /api/v1 endpoint must be declared with ``@spec.validate`` (see openapi.py)."""
    paths = _document(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            declared = is_documented(app.view_functions[rule.endpoint])
            if not declared or method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "not in /api/v1/openapi.json: " + ", ".join(missing)


def test_every_contract_endpoint_has_its_responses_and_the_error_shape(client):
    document = _document(client)
    for method, path in CONTRACT:
        operation = document["paths"].get(path, {}).get(method)
        assert operation is not None, f"{method} {path}"
        assert operation["summary"] and operation["operationId"], path
        assert any(code.startswith("2") for code in operation["responses"]), path
        for code, answer in operation["responses"].items():
            if code.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/Error") or "Error" in schema["$ref"], (path, code)
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorBody")


def test_request_bodies_and_files_are_described(client):
    paths = _document(client)["paths"]
    create = paths["/api/v1/forms/{key}/submissions"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SubmissionCreate"
    )
    created = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/Submission")
    pdf = paths["/api/v1/submissions/{submission_id}.pdf"]["get"]["responses"]["200"]
    assert pdf["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    upload = paths["/api/v1/forms/{key}/workbook"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert paths["/api/v1/auth/token"]["post"]["security"] == []


def test_a_body_that_breaks_its_model_is_422_with_paths_in_the_users_language(api):
    claimant = api("sales1")
    response = claimant.post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": ["not", "an", "object"]},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert error["details"] == [{"path": "data", "message": "must be an object"}]

    chinese = claimant.post(
        "/api/v1/forms/expense-claim/submissions",
        json={"data": 5},
        headers={"Accept-Language": "zh-CN"},
    )
    assert chinese.status_code == 422
    assert chinese.json["error"]["details"][0]["path"] == "data"
    assert chinese.json["error"]["details"][0]["message"] == "必须是一个对象"


def test_a_body_that_is_not_a_json_object_is_400_and_nothing_is_written(api):
    claimant = api("sales1")
    before = claimant.get("/api/v1/submissions?mine=1").json["total"]
    response = claimant.post(
        "/api/v1/forms/expense-claim/submissions", data="[1, 2", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
    assert claimant.get("/api/v1/submissions?mine=1").json["total"] == before


def test_a_malformed_query_parameter_is_400_naming_it(api):
    response = api("sales1").get("/api/v1/submissions?page=²")
    assert response.status_code == 400
    assert response.json["error"]["details"][0]["path"] == "page"
