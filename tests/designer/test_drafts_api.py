"""The designer's one operations API: drafts with a version lock, undo/redo, restore, publish
with a note, the simulator, and roles made by an admin."""

from __future__ import annotations

from quire.runtime.extensions import db
from quire.runtime.models import Role

TRAVEL = {
    "key": "travel-request",
    "kind": "form",
    "title": {"zh": "出差申请", "en": "Travel request"},
    "fields": [{"key": "purpose", "type": "text", "label": {"zh": "事由", "en": "Purpose"}}],
}


def _draft(client, key="expense-claim"):
    response = client.get(f"/api/v1/templates/{key}/draft")
    assert response.status_code == 200, response.json
    return response.json


def _ops(client, version, *ops, key="expense-claim"):
    return client.post(
        f"/api/v1/templates/{key}/draft/ops", json={"version": version, "ops": list(ops)}
    )


def test_an_operation_saves_the_draft_and_a_stale_version_gets_the_latest_state(api):
    finadmin = api("finadmin")
    start = _draft(finadmin)
    assert start["has_draft"] is False
    added = _ops(finadmin, start["version"], {"op": "add_field", "type": "text"})
    assert added.status_code == 200, added.json
    assert added.json["has_draft"] and added.json["version"] > start["version"]
    assert "text" in [f["key"] for f in added.json["document"]["fields"]]

    # A second admin still on the first version: refused, told the latest, nothing lost.
    stale = _ops(finadmin, start["version"], {"op": "remove_field", "key": "payee_name"})
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "conflict"
    assert stale.json["latest"]["version"] == added.json["version"]
    assert "payee_name" in [f["key"] for f in _draft(finadmin)["document"]["fields"]]


def test_undo_and_redo_walk_the_operations(api):
    finadmin = api("finadmin")
    version = _draft(finadmin)["version"]
    one = _ops(
        finadmin,
        version,
        {
            "op": "set_approval",
            "name": "auto_approve_when",
            "value": "total < 5000 AND within_budget",
        },
    ).json
    two = _ops(finadmin, one["version"], {"op": "remove_step", "key": "cfo"}).json
    assert [s["key"] for s in two["document"]["approval"]["steps"]] == ["manager", "finance"]
    undone = finadmin.post(
        "/api/v1/templates/expense-claim/draft/undo", json={"version": two["version"]}
    ).json
    assert [s["key"] for s in undone["document"]["approval"]["steps"]][-1] == "cfo"
    assert undone["document"]["approval"]["auto_approve_when"].startswith("total < 5000")
    undone = finadmin.post(
        "/api/v1/templates/expense-claim/draft/undo", json={"version": undone["version"]}
    ).json
    assert undone["document"]["approval"]["auto_approve_when"].startswith("total < 10000")
    assert undone["can_undo"] is False and undone["can_redo"] is True
    redone = finadmin.post(
        "/api/v1/templates/expense-claim/draft/redo", json={"version": undone["version"]}
    ).json
    assert redone["document"]["approval"]["auto_approve_when"].startswith("total < 5000")


def test_a_bad_operation_is_refused_with_its_path_and_nothing_changes(api):
    finadmin = api("finadmin")
    version = _draft(finadmin)["version"]
    response = _ops(
        finadmin,
        version,
        {"op": "set_step", "key": "manager", "name": "mode", "value": "sometimes"},
    )
    assert response.status_code == 422
    assert any(
        d["path"].startswith("approval.steps[0].mode") for d in response.json["error"]["details"]
    )
    unknown = _ops(finadmin, version, {"op": "fly"})
    assert unknown.status_code == 422
    assert unknown.json["error"]["details"][0]["path"].startswith("ops[0]")
    assert _draft(finadmin)["has_draft"] is False


def test_keys_of_published_fields_cannot_be_renamed_but_new_ones_follow_their_label(api):
    finadmin = api("finadmin")
    version = _draft(finadmin)["version"]
    locked = _ops(
        finadmin,
        version,
        {"op": "set_field", "key": "total", "name": "key", "value": "grand_total"},
    )
    assert locked.status_code == 422
    added = _ops(finadmin, version, {"op": "add_field", "type": "date"}).json
    new_key = added["document"]["fields"][-1]["key"]
    renamed = _ops(
        finadmin,
        added["version"],
        {"op": "set_field", "key": new_key, "name": "label.en", "value": "Travel date"},
    )
    assert renamed.status_code == 200, renamed.json
    renamed = renamed.json
    assert "travel_date" in [f["key"] for f in renamed["document"]["fields"]]


def test_import_makes_a_draft_and_publish_records_the_note_and_who(api, runner, tmp_path):
    import json

    path = tmp_path / "travel.json"
    path.write_text(json.dumps(TRAVEL), encoding="utf-8")
    result = runner.invoke("templates", "import", str(path))
    assert result.exit_code == 0 and "draft saved" in result.output
    finadmin = api("finadmin")
    assert _draft(finadmin, "travel-request")["has_draft"] is True
    published = finadmin.post(
        "/api/v1/templates/travel-request/publish", json={"note": "first version"}
    )
    assert published.json == {"key": "travel-request", "version": 1}
    from quire.runtime.forms.templates import template_by_key

    version = template_by_key("travel-request").versions[0]
    assert version.note == "first version" and version.published_by_id is not None
    again = runner.invoke("templates", "import", str(path), "--publish")
    assert again.exit_code == 0


def test_a_published_version_can_be_restored_as_the_draft(api):
    finadmin = api("finadmin")
    version = _draft(finadmin)["version"]
    changed = _ops(finadmin, version, {"op": "remove_step", "key": "cfo"}).json
    assert finadmin.post("/api/v1/templates/expense-claim/publish").status_code == 200
    state = _draft(finadmin)
    restored = finadmin.post(
        "/api/v1/templates/expense-claim/draft/restore",
        json={"version": state["version"], "from_version": 1},
    ).json
    assert [s["key"] for s in restored["document"]["approval"]["steps"]][-1] == "cfo"
    assert changed["version"] < restored["version"]


def test_an_admin_made_role_can_be_used_in_permissions_and_steps(api):
    db.session.add(
        Role(
            key="regional_controller",
            name_zh="区域财务",
            name_en="Regional controller",
            permissions=[],
        )
    )
    db.session.commit()
    finadmin = api("finadmin")
    version = _draft(finadmin)["version"]
    response = _ops(
        finadmin,
        version,
        {
            "op": "set_permission",
            "field": "bank_account",
            "role": "regional_controller",
            "access": "read",
        },
        {
            "op": "set_step",
            "key": "finance",
            "name": "assignee",
            "value": {"kind": "role", "role": "regional_controller"},
        },
    )
    assert response.status_code == 200
    assert response.json["issues"] == []
    doc = response.json["document"]
    assert finadmin.post("/api/v1/templates/validate", json=doc).json["valid"] is True
    doc["permissions"][0]["roles"] = ["regional_controler"]
    checked = finadmin.post("/api/v1/templates/validate", json=doc).json
    assert "did you mean" in checked["errors"][0]["message"]


def test_staff_cannot_touch_drafts(api):
    sales1 = api("sales1")
    assert sales1.get("/api/v1/templates/expense-claim/draft").status_code == 403
    assert _ops(sales1, 1, {"op": "add_field", "type": "text"}).status_code == 403


def test_simulate_names_who_is_asked_and_says_why_steps_are_skipped(api):
    finadmin = api("finadmin")
    sample = {"data": {"total": 25000, "department": "SALES"}, "submitter": "sales1"}
    result = finadmin.post("/api/v1/templates/expense-claim/simulate", json=sample)
    assert result.status_code == 200, result.json
    steps = {s["key"]: s for s in result.json["steps"]}
    assert steps["manager"]["status"] == "will_run"
    assert steps["manager"]["assignees"] == ["salesmgr"]
    assert steps["finance"]["assignees"] == ["finrev"]
    assert steps["cfo"]["status"] == "skipped"
    # finadmin reads Chinese: the reason is a sentence in it, never the formula.
    assert steps["cfo"]["reason"] == "跳过：报销总额低于 100,000，且在预算内"

    small = finadmin.post(
        "/api/v1/templates/expense-claim/simulate",
        json={**sample, "data": {"total": 3000, "department": "SALES"}},
        headers={"Accept-Language": "zh-CN"},
    ).json
    assert {s["status"] for s in small["steps"]} == {"auto_approved"}

    big = finadmin.post(
        "/api/v1/templates/expense-claim/simulate",
        json={**sample, "data": {"total": 150000, "department": "SALES"}},
    ).json
    assert [s["status"] for s in big["steps"]] == ["will_run", "will_run", "will_run"]
    assert big["steps"][2]["assignees"] == ["cfo"]


def test_simulate_reads_the_draft_unless_a_version_is_given(api):
    finadmin = api("finadmin")
    version = _draft(finadmin)["version"]
    _ops(
        finadmin,
        version,
        {
            "op": "set_approval",
            "name": "auto_approve_when",
            "value": "total < 5000 AND within_budget",
        },
    )
    sample = {"data": {"total": 8000}, "submitter": "sales1"}
    draft = finadmin.post("/api/v1/templates/expense-claim/simulate", json=sample).json
    assert draft["steps"][0]["status"] == "will_run"
    published = finadmin.post(
        "/api/v1/templates/expense-claim/simulate", json={**sample, "version": 1}
    ).json
    assert published["steps"][0]["status"] == "auto_approved"
