"""``quire templates validate|import|export``: templates as files an implementer keeps in git."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def register(main: click.Group) -> None:
    @main.group()
    def templates() -> None:
        """Form and report templates as JSON files."""

    @templates.command("validate")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def validate_cmd(file: Path) -> None:
        """Check a template file; one `path: message` line per problem, exit 1 if any."""
        from .forms.templates import problems

        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            click.echo(f": the file is not valid JSON: {exc}")
            sys.exit(1)
        issues = problems(doc)
        for issue in issues:
            click.echo(f"{issue.path}: {issue.message}")
        if issues:
            sys.exit(1)
        click.echo(f"{file}: valid", err=True)

    @templates.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--publish",
        is_flag=True,
        default=False,
        help="Publish the imported draft as the next version at once.",
    )
    @click.option("--note", default=None, help="Why it is published (kept with the version).")
    @click.option(
        "--by",
        "username",
        default=None,
        help="The user recorded as having saved and published it (default: nobody, the CLI).",
    )
    def import_cmd(file: Path, publish: bool, note: str | None, username: str | None) -> None:
        """Save a template file as the draft of its key; with --publish, publish it too."""
        from .cli import _app, _sentence
        from .errors import QuireError
        from .extensions import db
        from .forms import templates as service

        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"the file is not valid JSON: {exc}") from exc
        app = _app()
        with app.app_context():
            try:
                actor = None
                if username:
                    from .org import user_by_username

                    actor = user_by_username(username)
                record = service.save_draft(actor, doc)
                version = service.publish(actor, record.key, note) if publish else None
                db.session.commit()
            except QuireError as exc:
                for detail in exc.details:
                    click.echo(f"{detail.path}: {detail.message}")
                raise click.ClickException(
                    _sentence(exc) if not exc.details else exc.message
                ) from exc
            click.echo(
                f"{record.key}: "
                + (
                    f"published as version {version.version}"
                    if version
                    else "draft saved (publish it in the designer, or import with --publish)"
                )
            )

    @templates.command("export")
    @click.argument("key")
    @click.option(
        "--version", type=int, default=None, help="A published version (default: latest)."
    )
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
    def export_cmd(key: str, version: int | None, output: Path | None) -> None:
        """Write a published template as canonical JSON (byte-stable across import/export)."""
        from quire.designer.canonical import dumps_template

        from .cli import _app
        from .errors import QuireError
        from .forms import templates as service

        app = _app()
        with app.app_context():
            try:
                _, template = service.published(key, version)
            except QuireError as exc:
                raise click.ClickException(exc.message) from exc
            text = dumps_template(template)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
