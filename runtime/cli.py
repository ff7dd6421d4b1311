"""The ``quire`` command. Each command builds the app itself; nothing runs at import."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from . import config as config_module


def _app(**overrides: Any):  # type: ignore[no-untyped-def]
    from .app import create_app

    try:
        return create_app(overrides or None)
    except config_module.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Quire: forms, approvals and reports for corporate finance."""


# --- database -----------------------------------------------------------------------
@main.group()
def db() -> None:
    """Database schema."""


def upgrade_database(app) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(Path(__file__).parent / "migrations"))


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the latest version."""
    upgrade_database(_app())
    click.echo("Database is up to date.")


# --- demo and serving -----------------------------------------------------------------
def schema_state(app) -> str:  # type: ignore[no-untyped-def]
    """``empty`` (no tables at all), ``current`` (at the newest migration) or ``behind``."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from .extensions import db as database

    with app.app_context(), database.engine.connect() as connection:
        if not inspect(connection).get_table_names():
            return "empty"
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(ScriptDirectory(str(Path(__file__).parent / "migrations")).get_heads())
    return "current" if current == heads else "behind"


@main.command("seed-demo")
def seed_demo_cmd() -> None:
    """Load the demo organisation, templates and sample data (demo only); creates the schema
    first when the database is empty."""
    from sqlalchemy.exc import OperationalError

    from .demo import logins_table, seed_demo

    app = _app()
    try:
        state = schema_state(app)
    except OperationalError as exc:
        raise click.ClickException(f"Cannot reach the database: {exc.orig}") from exc
    if state == "empty":
        upgrade_database(app)
        click.echo("Database schema created.")
    elif state == "behind":
        raise click.ClickException(
            "The database schema is not up to date: run `quire db upgrade` first."
        )
    with app.app_context():
        created = seed_demo()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        click.echo(logins_table())


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Set up the demo and exit.")
def demo(port: int, host: str, no_serve: bool) -> None:
    """Set up a local demo (database, organisation, data) and serve it."""
    from .demo import logins_table, seed_demo

    config_module.ensure_instance_secret(config_module.instance_path_from_env())
    app = _app()
    upgrade_database(app)
    with app.app_context():
        created = seed_demo()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        click.echo(logins_table())
    if no_serve:
        return
    click.echo(f"Serving Quire on http://{host}:{port}  (Ctrl+C to stop)")
    _serve(host, port, workers=1, with_worker=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-worker", is_flag=True, help="Do not run a job consumer in this process group.")
def serve(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve Quire with gunicorn (plus a job consumer unless --no-worker)."""
    _prepare_metrics_folder()
    _app()  # fail fast on configuration errors
    _serve(host, port, workers=workers, with_worker=not no_worker)


def _prepare_metrics_folder() -> None:
    """Every gunicorn worker writes its counters under the instance so one scrape of
    ``/metrics`` adds them up; set before the app (and so the metrics) is first imported."""
    from .config import instance_path_from_env
    from .observability import MULTIPROC_ENV

    folder = instance_path_from_env() / "metrics"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(folder)


def _configured_base_url() -> str | None:
    return config_module.load(config_module.instance_path_from_env(), None).get("BASE_URL")


def _instance_folder() -> Path:
    from .config import instance_path_from_env

    return instance_path_from_env()


def _worker_exited(_server: Any, worker: Any) -> None:
    from .observability import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _serve(host: str, port: int, *, workers: int, with_worker: bool) -> None:
    from gunicorn.app.base import BaseApplication

    if not _configured_base_url():
        # Links in emails point where this server listens, for it and its job consumer.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        os.environ["QUIRE_BASE_URL"] = f"http://{shown}:{port}"

    worker_proc = None
    if with_worker:
        worker_proc = subprocess.Popen([sys.executable, "-m", "quire.runtime.cli", "worker"])  # noqa: S603

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")
            # One control socket per instance, so two Quire instances on a host never share it.
            self.cfg.set("control_socket", str(_instance_folder() / "gunicorn.ctl"))
            self.cfg.set("child_exit", _worker_exited)

        def load(self):  # type: ignore[no-untyped-def]
            return _app()

    try:
        _Gunicorn().run()
    finally:
        if worker_proc is not None:
            worker_proc.send_signal(signal.SIGINT)
            try:
                worker_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker_proc.kill()


@main.command()
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 32))
def worker(workers: int) -> None:
    """Run a background job consumer (exports, reminders, scheduled reports)."""
    from huey.consumer import Consumer

    from .jobs import JobQueue
    from .jobs.recovery import recover_exports

    app = _app()
    q: JobQueue = app.extensions["quire.jobs"]
    with app.app_context():
        taken = recover_exports()
    click.echo(f"Job consumer on {q.backend} with {workers} worker(s).")
    if taken:
        click.echo(f"{taken} interrupted export(s) taken over.")
    # Idle polling backs off to at most a second, so an export starts within one.
    Consumer(q.huey, workers=workers, worker_type="thread", max_delay=1.0).run()


# --- users and tokens ---------------------------------------------------------------
@main.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--department", required=True, help="Department code, e.g. FIN.")
@click.option("--email", default=None)
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="Role key to grant. Repeatable. Scope: see --scope.",
)
@click.option(
    "--scope",
    default=None,
    help="Department code the roles apply to, or 'organisation'. Default: the whole "
    "organisation for roles with a global permission (templates, data sources, roles, "
    "settings), else the user's own department.",
)
@click.option("--subtree/--no-subtree", default=False, help="Include sub-departments.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_create(
    username: str,
    display_name: str | None,
    department: str,
    email: str | None,
    roles: tuple[str, ...],
    scope: str | None,
    subtree: bool,
    password: str,
) -> None:
    """Create a user; grants obey the same rules as the admin pages."""
    from . import access
    from .auth.passwords import password_problem
    from .errors import QuireError
    from .extensions import db as database
    from .org import department_by_code, grant_role, role_by_key, save_user

    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(f"password: {problem}")
    app = _app()
    with app.app_context():
        try:
            dept = department_by_code(department)
            user = save_user(
                None,
                username=username,
                display_name=display_name or username,
                department=dept,
                email=email,
                password=password,
            )
            for key in roles:
                role = role_by_key(key)
                if scope is None:
                    org_wide = access.needs_organisation_scope(role)
                    where = None if org_wide else dept
                else:
                    where = None if scope == "organisation" else department_by_code(scope)
                grant_role(None, user, role, department=where, include_subtree=subtree)
            database.session.commit()
        except QuireError as exc:
            raise click.ClickException(_sentence(exc)) from exc
    click.echo(f"User {username} created.")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Mark a user as left: sign-in and tokens stop working at once."""
    from .errors import QuireError
    from .extensions import db as database
    from .models import UserStatus
    from .org import set_status, user_by_username

    app = _app()
    with app.app_context():
        try:
            set_status(None, user_by_username(username), UserStatus.LEFT)
            database.session.commit()
        except QuireError as exc:
            raise click.ClickException(_sentence(exc)) from exc
    click.echo(f"User {username} disabled.")


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="CLI token", show_default=True)
@click.option("--days", default=None, type=int, help="Expiry in days (default from config).")
def tokens_create(username: str, name: str, days: int | None) -> None:
    """Create an API token; the token is printed alone on the last line."""
    from .auth.service import create_token
    from .errors import QuireError
    from .extensions import db as database
    from .models import UserStatus
    from .org import user_by_username

    app = _app()
    with app.app_context():
        try:
            user = user_by_username(username)
            if user.status == UserStatus.LEFT:
                raise click.ClickException(f"{username} has left; no token can be created.")
            token, clear = create_token(user, name, days=days)
            database.session.commit()
        except QuireError as exc:
            raise click.ClickException(_sentence(exc)) from exc
        expires = token.expires_at.isoformat() if token.expires_at else "never"
    click.echo(f"Token for {username} (expires {expires}); it is shown only once:")
    click.echo(clear)


# --- backup and restore -------------------------------------------------------------
@main.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Write the database and the instance files to TARGET (.tar.gz, owner-only)."""
    from .backup import BackupError, write_backup
    from .extensions import db

    app = _app()
    with app.app_context():
        try:
            summary = write_backup(
                db.engine, db.metadata, Path(app.config["INSTANCE_PATH"]), target
            )
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    rows = sum(summary.tables.values())
    click.echo(
        f"Backed up {rows} rows in {len(summary.tables)} tables and {summary.files} files "
        f"to {target} (schema {summary.revision}). It holds the instance keys: keep it safe."
    )


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Restore a backup into this instance, whose database must be empty."""
    from flask_migrate import upgrade

    from .backup import BackupError, load_rows, read_manifest, restore_files
    from .extensions import db

    migrations = str(Path(__file__).parent / "migrations")
    try:
        manifest = read_manifest(source)
        # The keys come with the backup's files; until they are unpacked, a placeholder
        # lets the app start (nothing is signed or decrypted while loading rows).
        app = _app(SECRET_KEY=os.environ.get("QUIRE_SECRET_KEY") or "restoring")
        with app.app_context():
            upgrade(directory=migrations, revision=manifest["revision"] or "base")
            with db.engine.begin() as conn:
                counts = load_rows(conn, db.metadata, source)
            upgrade(directory=migrations)
            db.engine.dispose()
        files = restore_files(source, Path(app.config["INSTANCE_PATH"]))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Restored {sum(counts.values())} rows and {files} files from {source}. "
        "Run `quire audit verify` to check the audit trail."
    )


# --- audit --------------------------------------------------------------------------
@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 and name the first broken event if tampered."""
    from .audit import verify_chain

    app = _app()
    with app.app_context():
        report = verify_chain()
    click.echo(report.sentence())
    if not report.ok:
        sys.exit(1)


def _sentence(exc: Exception) -> str:
    from .errors import QuireError

    if isinstance(exc, QuireError) and exc.details:
        return "; ".join(f"{d.path}: {d.message}" for d in exc.details)
    return str(exc)


def _register_optional_commands() -> None:
    """Commands of features that live in their own modules."""
    for module in (
        "quire.runtime.cli_templates",
        "quire.runtime.cli_plugins",
        "quire.runtime.cli_hr",
    ):
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(main)


_register_optional_commands()

if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
