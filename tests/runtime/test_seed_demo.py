"""``quire seed-demo`` on an instance that has no schema yet, or an old one."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from quire.runtime.cli import main

SECRET = "test-secret-key-not-for-production"


def _invoke(instance, *args: str):  # type: ignore[no-untyped-def]
    # Cheap password hashes, as every test uses: the demo has twelve people to hash for.
    (instance / "quire.toml").write_text("password_hash_fast = true\n", encoding="utf-8")
    env = {
        "QUIRE_INSTANCE_PATH": str(instance),
        "QUIRE_DATABASE_URL": f"sqlite:///{instance / 'quire.db'}",
        "QUIRE_SECRET_KEY": SECRET,
    }
    return CliRunner().invoke(main, list(args), env=env)


@pytest.mark.slow
def test_seed_demo_on_an_empty_database_creates_the_schema_first(tmp_path):
    result = _invoke(tmp_path, "seed-demo")
    assert result.exit_code == 0, result.output
    assert "Database schema created." in result.output and "finrev" in result.output
    with sqlite3.connect(tmp_path / "quire.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] >= 12
    again = _invoke(tmp_path, "seed-demo")
    assert again.exit_code == 0 and "already present" in again.output


def test_seed_demo_on_an_old_schema_says_to_upgrade_in_one_sentence(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    with sqlite3.connect(tmp_path / "quire.db") as conn:
        conn.execute("CREATE TABLE something_old (id INTEGER PRIMARY KEY)")
    result = _invoke(tmp_path, "seed-demo")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.output.strip() == (
        "Error: The database schema is not up to date: run `quire db upgrade` first."
    )
