"""HR sync: new hires, moves, leavers and position grants, by command and by job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quire.runtime import hr_sync
from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, EmployeeRecord, User, UserStatus


def _grants(user) -> set[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    db.session.refresh(user)
    return {
        (g.role.key, g.department.code if g.department else None)
        for g in user.grants
        if g.is_current()
    }


def _user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def test_marking_rd1_as_left_disables_sign_in_and_moves_open_tasks_to_rdmgr(
    runner, hr_export, task_for_rd1, open_task_holders, user, signed_in, app
):
    assert open_task_holders(task_for_rd1) == ["rd1"]
    rd1_session = signed_in("rd1")
    hr_export.change("rd1", status="left")

    result = runner.invoke("hr", "sync", "--file", str(hr_export.employees))
    assert result.exit_code == 0, result.output
    assert "user.leave" in result.output

    rd1 = _user("rd1")
    assert rd1.status == UserStatus.LEFT
    assert _grants(rd1) == set()
    assert open_task_holders(task_for_rd1) == ["rdmgr"]
    assert rd1_session.get("/").status_code in (302, 401)  # the old session is over
    again = app.test_client().post(
        "/api/v1/auth/token", json={"username": "rd1", "password": "quire-demo"}
    )
    assert again.status_code == 401
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"user.status", "grant.revoke", "hr.sync"} <= actions


def test_a_dry_run_shows_the_changes_and_changes_nothing(runner, hr_export):
    hr_export.change("rd1", status="left")
    result = runner.invoke(
        "hr",
        "sync",
        "--dry-run",
        "--file",
        str(hr_export.employees),
        "--positions",
        str(hr_export.positions),
    )
    assert result.exit_code == 0, result.output
    assert "user.create" in result.output and "rd2" in result.output
    assert "user.leave" in result.output and "Dry run" in result.output
    assert _user("rd2") is None
    assert _user("rd1").status == UserStatus.ACTIVE
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hr.sync")) is None


def test_a_new_hire_gets_an_account_a_manager_and_the_grants_of_the_position(runner, hr_export):
    result = runner.invoke(
        "hr", "sync", "--file", str(hr_export.employees), "--positions", str(hr_export.positions)
    )
    assert result.exit_code == 0, result.output
    rd2 = _user("rd2")
    assert rd2.department.code == "RD" and rd2.manager.username == "rdmgr"
    assert rd2.email == "wu.jing@example.com" and rd2.password_hash is None
    assert _grants(rd2) == {("staff", "RD")}
    record = db.session.scalar(select(EmployeeRecord).where(EmployeeRecord.user_id == rd2.id))
    assert (record.employee_no, record.position) == ("E1013", "staff")
    # The demo people already hold their positions' grants: nothing to add or take away.
    assert "grant.revoke" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("grant.add")] == [
        "grant.add          rd2 gets staff @ RD"
    ]

    second = runner.invoke(
        "hr", "sync", "--file", str(hr_export.employees), "--positions", str(hr_export.positions)
    )
    assert "nothing" in second.output  # a second run finds nothing to do


def test_a_move_trades_the_old_positions_grants_for_the_new_ones(runner, hr_export, user):
    args = ("--file", str(hr_export.employees), "--positions", str(hr_export.positions))
    runner.invoke("hr", "sync", *args)
    hr_export.change("sales2", department="SALES-E", position="department_manager")
    result = runner.invoke("hr", "sync", *args)
    assert result.exit_code == 0, result.output
    sales2 = _user("sales2")
    assert sales2.department.code == "SALES-E"
    assert _grants(sales2) == {("dept_manager", "SALES-E"), ("staff", "SALES-E")}
    assert "sales2 loses staff @ SALES" in result.output


def test_a_grant_given_by_hand_survives_a_move(runner, hr_export, user):
    from quire.runtime.org import grant_role, role_by_key

    grant_role(None, user("rd1"), role_by_key("auditor"), note="internal audit project")
    db.session.commit()
    args = ("--file", str(hr_export.employees), "--positions", str(hr_export.positions))
    hr_export.change("rd1", department="SALES")
    assert runner.invoke("hr", "sync", *args).exit_code == 0
    assert _grants(_user("rd1")) == {("auditor", None), ("staff", "SALES")}


def test_new_departments_come_from_the_department_export(runner, hr_export):
    with hr_export.departments.open("a", encoding="utf-8") as fh:
        fh.write("RD-AI,人工智能组,AI group,RD\n")
    hr_export.add(username="ai1", display_name="AI One", department="RD-AI", position="staff")
    result = runner.invoke(
        "hr",
        "sync",
        "--file",
        str(hr_export.employees),
        "--departments",
        str(hr_export.departments),
        "--positions",
        str(hr_export.positions),
    )
    assert result.exit_code == 0, result.output
    ai1 = _user("ai1")
    assert ai1.department.code == "RD-AI" and ai1.department.path == "/HQ/RD/RD-AI/"
    assert _grants(ai1) == {("staff", "RD-AI")}


def test_bad_rows_are_reported_and_the_good_ones_still_sync(runner, hr_export):
    hr_export.add(username="ghost", display_name="Ghost", department="NOWHERE")
    hr_export.add(username="odd", display_name="Odd", department="RD", status="retired")
    result = runner.invoke("hr", "sync", "--file", str(hr_export.employees))
    assert result.exit_code == 1
    assert "unknown department NOWHERE" in result.output and "retired" in result.output
    assert _user("rd2") is not None and _user("ghost") is None


def test_an_unreadable_file_or_both_inputs_is_a_clear_error(runner, hr_export, tmp_path):
    (tmp_path / "bad.csv").write_text("name;dept\nx;y\n", encoding="utf-8")
    result = runner.invoke("hr", "sync", "--file", str(tmp_path / "bad.csv"))
    assert result.exit_code == 1 and "needs the columns" in result.output
    both = runner.invoke("hr", "sync", "--file", str(hr_export.employees), "--source", "x")
    assert both.exit_code == 2
    missing = runner.invoke("hr", "sync", "--source", "no-such-source")
    assert missing.exit_code == 1 and "no-such-source" in missing.output


@pytest.fixture
def hr_source(app, hr_export):  # type: ignore[no-untyped-def]
    from quire.runtime.datasources import service

    service.save(
        None,
        service.SourceInput(
            key="hr-directory",
            name="HR",
            connector="hr_directory",
            values={"employees_csv": "employees.csv", "departments_csv": "departments.csv"},
        ),
    )
    db.session.commit()
    return hr_export


def test_the_command_reads_the_hr_directory_data_source(runner, hr_source):
    hr_source.change("rd1", status="left")
    result = runner.invoke("hr", "sync", "--source", "hr-directory")
    assert result.exit_code == 0, result.output
    assert _user("rd2") is not None and _user("rd1").status == UserStatus.LEFT


def test_the_scheduled_job_syncs_from_the_source_when_there_is_one(app, hr_export):
    assert "skipped" in hr_sync.run_scheduled()
    from quire.runtime.jobs import PERIODIC

    assert PERIODIC["hr.sync.periodic"][0] == "quire.runtime.hr_sync:run_scheduled"
    app.config["HR_POSITIONS_FILE"] = str(hr_export.positions)
    from quire.runtime.datasources import service

    service.save(
        None,
        service.SourceInput(
            key="hr-directory",
            name="HR",
            connector="hr_directory",
            values={},
        ),
    )
    db.session.commit()
    outcome = hr_sync.run_scheduled()
    assert outcome["counts"]["user.create"] == 1 and outcome["errors"] == 0
    assert _grants(_user("rd2")) == {("staff", "RD")}


def test_only_a_system_administrator_configures_the_hr_feed(signed_in, user, hr_export):
    from quire.runtime.datasources import service
    from quire.runtime.errors import Forbidden

    new = "/admin/data-sources/new/hr_directory"
    fields = {"key": "hr-directory", "name": "HR", "cfg_employees_csv": "employees.csv"}
    finadmin = signed_in("finadmin")
    assert finadmin.post_form(new, {**fields, "timeout_s": "10"}).status_code == 403
    assert service.find_source("hr-directory") is None
    with pytest.raises(Forbidden):
        service.save(
            user("finadmin"),
            service.SourceInput(key="hr-directory", name="HR", connector="hr_directory"),
        )
    # any other key stays the finance admin's
    other = {**fields, "key": "hr-copy", "timeout_s": "10"}
    assert finadmin.post_form(new, other).status_code == 302

    admin = signed_in("admin")
    assert admin.post_form(new, {**fields, "timeout_s": "10"}).status_code == 302
    assert service.find_source("hr-directory") is not None
    assert finadmin.get("/admin/data-sources/hr-directory/edit").status_code == 403
    assert "/admin/data-sources/hr-directory/edit" not in finadmin.get("/admin/data-sources/").text
    assert admin.get("/admin/data-sources/hr-copy/edit").status_code == 403
    assert admin.get("/admin/data-sources/hr-directory/edit").status_code == 200


def test_every_change_of_a_sync_names_the_feed_and_the_run(app, hr_source):
    from sqlalchemy import func

    from quire.runtime import audit

    before = db.session.scalar(select(func.max(AuditEvent.seq)))
    hr_source.change("rd1", status="left")
    outcome = hr_sync.run_scheduled()
    run = outcome["run"]
    assert run and outcome["counts"]["user.leave"] == 1
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.seq > before)))
    assert {e.action for e in events} >= {"user.create", "user.status", "hr.sync"}
    for event in events:
        assert event.actor_name == "hr-sync", event.action
        assert event.changes["origin"] == {
            "by": "hr-sync",
            "feed": "source:hr-directory",
            "run": run,
        }, event.action
    assert audit.verify_chain().ok
