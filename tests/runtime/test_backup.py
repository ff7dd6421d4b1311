"""``quire backup`` and ``quire restore``: a fresh instance gets every row and file back,
and the audit trail still verifies."""

from __future__ import annotations

import tarfile
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, SECRET, _admin_engine


@pytest.fixture
def fresh_database(tmp_path: Path):  # type: ignore[no-untyped-def]
    if PG_URL:
        name = f"quire_restore_{uuid.uuid4().hex[:10]}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'restored' / 'quire.db'}"


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            from quire.runtime.extensions import db

            names = set(inspect(conn).get_table_names())
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar() or 0
                for t in db.metadata.sorted_tables
                if t.name in names
            }
    finally:
        engine.dispose()


def test_a_backup_restores_into_a_fresh_instance_and_the_audit_trail_verifies(
    app, runner, cli_env, database_url, fresh_database, tmp_path
):
    uploads = Path(app.config["INSTANCE_PATH"]) / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "ab12.pdf").write_bytes(b"%PDF-1.4 scan of an invoice")
    archive = tmp_path / "backups" / "quire.tar.gz"

    result = runner.invoke("backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "keep it safe" in result.output
    assert archive.stat().st_mode & 0o077 == 0  # owner-only: it holds the keys
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "files/uploads/ab12.pdf" in names
    assert not any(n.startswith("files/quire.db") for n in names)

    restored = tmp_path / "restored"
    env = {
        "QUIRE_INSTANCE_PATH": str(restored),
        "QUIRE_DATABASE_URL": fresh_database,
        "QUIRE_SECRET_KEY": SECRET,
    }
    from quire.runtime.cli import main

    result = CliRunner().invoke(main, ["restore", str(archive)], env=env)
    assert result.exit_code == 0, result.output
    assert (restored / "uploads" / "ab12.pdf").read_bytes() == b"%PDF-1.4 scan of an invoice"
    original, copy = _counts(database_url), _counts(fresh_database)
    assert copy == original and original["submissions"] > 100

    verify = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert verify.exit_code == 0, verify.output

    again = CliRunner().invoke(main, ["restore", str(archive)], env=env)
    assert again.exit_code != 0 and "already holds data" in again.output


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path):
    bogus = tmp_path / "notes.tar.gz"
    bogus.write_bytes(b"not an archive")
    result = runner.invoke("restore", str(bogus))
    assert result.exit_code != 0 and "is not a Quire backup" in result.output
