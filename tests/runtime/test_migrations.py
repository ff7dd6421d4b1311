"""Migrations build the schema from nothing, match the models, and go back down."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from quire.runtime.app import MIGRATIONS, create_app
from quire.runtime.extensions import db
from tests.conftest import PG_URL, base_config


def _fresh_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    if PG_URL:
        import uuid

        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"quire_mig_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'mig.db'}"
    return create_app(base_config(tmp_path, url))


def test_all_migrations_run_up_and_down_on_an_empty_database(tmp_path):
    app = _fresh_app(tmp_path)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "departments", "role_grants", "audit_events", "api_tokens"} <= tables
        downgrade(directory=str(MIGRATIONS), revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()


def test_the_models_and_the_migrations_agree(tmp_path):
    app = _fresh_app(tmp_path)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": False, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], f"models changed without a migration: {diff}"
