"""``quire hr sync``: bring the organisation in line with the HR directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def register(main: click.Group) -> None:
    @main.group()
    def hr() -> None:
        """The HR directory."""

    @hr.command("sync")
    @click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
    @click.option("--source", "source_key", help="Key of a configured HR data source.")
    @click.option(
        "--file",
        "file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="An employees CSV instead of a data source (read by Quire itself).",
    )
    @click.option(
        "--departments",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="With --file: a departments CSV (code, name_zh, name_en, parent).",
    )
    @click.option(
        "--positions",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Position templates (TOML or JSON); default: HR_POSITIONS in the configuration.",
    )
    def sync_cmd(
        dry_run: bool,
        source_key: str | None,
        file: Path | None,
        departments: Path | None,
        positions: Path | None,
    ) -> None:
        """Create new hires, apply moves, deactivate leavers; every change is audited."""
        from . import hr_sync
        from .cli import _app
        from .errors import QuireError
        from .extensions import db

        if source_key and file:
            raise click.UsageError("Give --source or --file, not both.")
        app = _app()
        with app.app_context():
            try:
                position_map = (
                    hr_sync.load_positions(positions)
                    if positions
                    else hr_sync.configured_positions()
                )
                if file is not None:
                    employees, errors = hr_sync.read_employees_csv(file)
                    depts = hr_sync.read_departments_csv(departments) if departments else []
                    label = f"file:{file.name}"
                else:
                    key = source_key or app.config.get("HR_SYNC_SOURCE") or hr_sync.DEFAULT_SOURCE
                    employees, depts, errors = hr_sync.read_source(key)
                    label = f"source:{key}"
                result = hr_sync.sync(
                    employees,
                    depts,
                    position_map,
                    source=label,
                    dry_run=dry_run,
                    errors=errors,
                )
                if dry_run:
                    db.session.rollback()
                else:
                    db.session.commit()
            except QuireError as exc:
                db.session.rollback()
                detail = "; ".join(f"{d.path}: {d.message}" for d in exc.details)
                raise click.ClickException(f"{exc.message} {detail}".strip()) from exc
        for change in result.changes:
            click.echo(f"{change.kind:<18} {change.detail}")
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts().items())) or "nothing"
        if dry_run:
            click.echo(f"Dry run, nothing was changed. Would do: {counts}.")
        else:
            click.echo(f"Synced from {label} (run {result.run}): {counts}.")
        if result.errors:
            sys.exit(1)
