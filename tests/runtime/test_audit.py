"""The audit trail: every change recorded, hash-chained, verifiable, readable by auditors only."""

from __future__ import annotations

from sqlalchemy import delete, select, text, update

from quire.runtime import audit, org
from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent


def latest(action: str) -> AuditEvent:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
    ).first()


def test_the_seeded_demo_has_an_intact_chain(app):
    report = audit.verify_chain()
    assert report.ok and report.checked > 20


def test_sign_in_and_failed_sign_in_are_recorded_with_address(browser):
    browser.login("sales1", "wrong-password")
    browser.login("sales1")
    failed, ok = latest("auth.login_failed"), latest("auth.login")
    assert failed.actor_name == "sales1" and failed.ip == "127.0.0.1" and failed.request_id
    assert ok.actor_name == "sales1" and ok.seq > failed.seq


def test_a_user_change_records_before_and_after(user):
    sales1 = user("sales1")
    org.save_user(
        user("admin"),
        username="sales1",
        display_name="李明 (East)",
        department=org.department_by_code("SALES-E"),
        email=sales1.email,
        manager=sales1.manager,
        existing=sales1,
    )
    db.session.commit()
    event = latest("user.update")
    assert event.actor_name == "admin" and event.object_id == "sales1"
    assert event.changes["department"] == ["SALES", "SALES-E"]
    assert event.changes["display_name"] == ["李明 Li Ming", "李明 (East)"]
    assert "email" not in event.changes  # unchanged fields are not listed


def test_editing_a_row_in_the_database_breaks_verification(app, runner):
    assert runner.invoke("audit", "verify").exit_code == 0
    victim = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq).offset(5)).first()
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == victim.id).values(actor_name="someone-else")
    )
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == victim.seq
    result = runner.invoke("audit", "verify")
    assert result.exit_code == 1
    assert f"broken at event #{victim.seq}" in result.output


def test_deleting_the_newest_events_is_noticed(app):
    newest = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == newest))
    db.session.commit()
    assert not audit.verify_chain().ok


def test_deleting_an_event_in_the_middle_is_noticed(app):
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == 3


def test_auditors_read_the_trail_through_the_api_with_filters(api, browser):
    browser.login("rd1", "wrong-password")
    response = api("auditor").get("/api/v1/audit?action=auth.login_failed&actor=rd1")
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"items", "page", "pages", "total"}
    assert body["total"] == 1 and body["items"][0]["action"] == "auth.login_failed"
    assert body["items"][0]["at"].endswith("+00:00")


def test_the_audit_api_lists_newest_first_and_pages(api):
    body = api("auditor").get("/api/v1/audit?per_page=5&page=2").json
    seqs = [i["seq"] for i in body["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 5 and body["page"] == 2


def test_nobody_but_auditors_reads_the_trail(api, signed_in):
    for username in ("admin", "cfo", "sales1"):
        assert api(username).get("/api/v1/audit").status_code == 403
    assert signed_in("admin").get("/admin/audit").status_code == 403
    page = signed_in("auditor").get("/admin/audit?action=auth.*")
    assert page.status_code == 200 and "auth.login" in page.text


def test_bad_audit_filters_are_400_with_the_parameter_named(api):
    response = api("auditor").get("/api/v1/audit?since=yesterday")
    assert response.status_code == 400
    assert response.json["error"]["details"][0]["path"] == "since"
    assert api("auditor").get("/api/v1/audit?page=0").status_code == 400


def test_a_failed_change_leaves_no_event(app, user):
    import pytest

    from quire.runtime.errors import Invalid

    before = db.session.scalar(text("SELECT COUNT(*) FROM audit_events"))
    with pytest.raises(Invalid):
        org.save_department(user("admin"), code="bad code!", name_zh="x", name_en="x")
    db.session.rollback()
    assert db.session.scalar(text("SELECT COUNT(*) FROM audit_events")) == before
