"""The ``quire`` command as an operator uses it."""

from __future__ import annotations

from quire.runtime.extensions import db
from quire.runtime.models import User, UserStatus


def test_help_lists_the_contract_commands(runner):
    output = runner.invoke("--help").output
    for command in ("demo", "serve", "db", "seed-demo", "users", "tokens", "audit", "worker"):
        assert command in output


def test_tokens_create_prints_the_token_alone_on_the_last_line(runner, client):
    result = runner.invoke("tokens", "create", "finrev")
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("qt_") and " " not in token
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["username"]
        == "finrev"
    )


def test_tokens_for_unknown_users_fail_with_a_sentence(runner):
    result = runner.invoke("tokens", "create", "ghost")
    assert result.exit_code == 1 and "not found" in result.output


def test_users_create_and_disable(runner, client):
    result = runner.invoke(
        "users",
        "create",
        "newbie",
        "--department",
        "RD",
        "--role",
        "staff",
        "--password",
        "a-long-password",
    )
    assert result.exit_code == 0, result.output
    assert (
        client.post(
            "/api/v1/auth/token", json={"username": "newbie", "password": "a-long-password"}
        ).status_code
        == 200
    )
    assert runner.invoke("users", "disable", "newbie").exit_code == 0
    db.session.expire_all()
    assert db.session.query(User).filter_by(username="newbie").one().status == UserStatus.LEFT
    assert (
        client.post(
            "/api/v1/auth/token", json={"username": "newbie", "password": "a-long-password"}
        ).status_code
        == 401
    )


def test_users_create_refuses_a_short_password_and_unknown_department(runner):
    assert (
        "password"
        in runner.invoke(
            "users", "create", "x1", "--department", "RD", "--password", "short"
        ).output
    )
    result = runner.invoke(
        "users", "create", "x2", "--department", "NOPE", "--password", "a-long-password"
    )
    assert result.exit_code == 1 and "NOPE" in result.output


def test_seed_demo_is_idempotent_and_prints_logins(runner):
    result = runner.invoke("seed-demo")
    assert result.exit_code == 0
    assert (
        "already present" in result.output
        and "quire-demo" in result.output
        and "salesmgr" in result.output
    )


def test_db_upgrade_on_an_up_to_date_database(runner):
    assert runner.invoke("db", "upgrade").exit_code == 0


def test_the_demo_writes_a_sample_erp_ledger_and_says_where(runner, app):
    from sqlalchemy import create_engine, text

    from quire.runtime.demo import sample_ledger_path, write_sample_ledger

    path = write_sample_ledger(__import__("datetime").date.today())
    assert path == sample_ledger_path() and path.exists()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        tables = {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        }
    engine.dispose()
    assert tables
    assert f"sqlite:///{path}" in runner.invoke("seed-demo").output


def test_quire_demo_no_serve_prints_the_logins(runner):
    result = runner.invoke("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "quire-demo" in result.output and "Sample ERP ledger" in result.output
