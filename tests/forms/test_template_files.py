"""Templates as files an implementer keeps in git: validate, import, export, versions, diff."""

from __future__ import annotations

import json

from quire.report_templates import builtin_templates


def test_a_template_with_five_mistakes_gets_five_path_addressed_errors(runner, tmp_path):
    doc = json.loads(json.dumps(builtin_templates()["expense-claim"]))
    doc["kind"] = "sheet"  # 1: not form/report
    doc["fields"][0]["colour"] = "red"  # 2: unknown key
    total = next(f for f in doc["fields"] if f["key"] == "total")
    total["expression"] = "SUM(lines.amout)"  # 3: unknown column
    doc["layout"]["sections"][0]["rows"][0]["cells"][0]["field"] = (
        "nope"  # 4: layout names no field
    )
    doc["permissions"][0]["access"] = "secret"  # 5: not an access level
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke("templates", "validate", str(path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 5, lines
    assert all(": " in line for line in lines)
    assert any("amout" in line and "amount" in line for line in lines)  # did you mean…


def test_a_valid_template_passes(runner, tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(
        json.dumps(builtin_templates()["cost-allocation"], ensure_ascii=False), encoding="utf-8"
    )
    assert runner.invoke("templates", "validate", str(path)).exit_code == 0


def test_export_import_export_is_byte_stable(runner, tmp_path):
    first = runner.invoke("templates", "export", "expense-claim").output
    path = tmp_path / "expense-claim.json"
    path.write_text(first, encoding="utf-8")
    imported = runner.invoke("templates", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert runner.invoke("templates", "export", "expense-claim").output == first


def test_publishing_a_change_makes_a_new_version_and_old_submissions_keep_theirs(
    api, tmp_path, runner
):
    client = api("sales1")
    old = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": {"payee_name": "甲"}}
    ).json
    doc = json.loads(json.dumps(builtin_templates()["expense-claim"]))
    doc["fields"].append(
        {"key": "purpose", "type": "text", "label": {"zh": "事由", "en": "Purpose"}}
    )
    designer = api("finadmin")
    assert designer.post("/api/v1/templates", json=doc).status_code == 201
    published = designer.post("/api/v1/templates/expense-claim/publish").json
    assert published == {"key": "expense-claim", "version": 2}
    versions = designer.get("/api/v1/templates/expense-claim/versions").json
    assert [v["version"] for v in versions["items"]] == [2, 1]
    diff = designer.get("/api/v1/templates/expense-claim/diff?from=1&to=2").json
    assert diff["added"] == ["purpose"]
    assert client.get(f"/api/v1/submissions/{old['id']}").json["template_version"] == 1
    new = client.post(
        "/api/v1/forms/expense-claim/submissions", json={"data": {"purpose": "客户拜访"}}
    ).json
    assert new["template_version"] == 2 and new["data"]["purpose"] == "客户拜访"
    assert designer.get("/api/v1/templates/expense-claim?version=1").json.get("fields")


def test_only_designers_save_and_publish(api):
    doc = builtin_templates()["cost-allocation"]
    assert api("sales1").post("/api/v1/templates", json=doc).status_code == 403
    assert api("sales1").post("/api/v1/templates/cost-allocation/publish").status_code == 403


def test_validate_endpoint_answers_valid_and_errors(api):
    client = api("finadmin")
    assert client.post(
        "/api/v1/templates/validate", json=builtin_templates()["cost-allocation"]
    ).json == {"valid": True, "errors": []}
    bad = client.post("/api/v1/templates/validate", json={"key": "X", "kind": "form"}).json
    assert bad["valid"] is False and any(e["path"] == "key" for e in bad["errors"])


def test_saving_an_invalid_template_is_422_with_paths_and_saves_nothing(api):
    client = api("finadmin")
    response = client.post(
        "/api/v1/templates", json={"key": "new-form", "kind": "form", "title": {"zh": "新"}}
    )
    assert response.status_code == 422
    assert response.json["error"]["details"]
    assert client.get("/api/v1/templates/new-form").status_code == 404


def test_template_list_and_schema(api, client):
    listed = api("sales1").get("/api/v1/templates").json
    keys = {t["key"] for t in listed["items"]}
    assert {"expense-claim", "department-budget", "cost-allocation"} <= keys
    schema = client.get("/api/v1/templates/schema").json
    assert "properties" in schema and "fields" in schema["properties"]


def test_finance_admin_compares_two_versions_in_the_designer(api, signed_in):
    doc = json.loads(json.dumps(builtin_templates()["cost-allocation"]))
    doc["fields"].append({"key": "note", "type": "textarea", "label": {"zh": "备注", "en": "Note"}})
    designer = api("finadmin")
    designer.post("/api/v1/templates", json=doc)
    designer.post("/api/v1/templates/cost-allocation/publish")
    browser = signed_in("finadmin")
    assert "cost-allocation" in browser.get("/designer/templates").text
    page = browser.get("/designer/templates/cost-allocation?from=1&to=2")
    assert page.status_code == 200 and 'class="added">note<' in page.text
    assert signed_in("sales1").get("/designer/templates").status_code == 403
