"""``quire plugins list``: the installed connector types, their versions and status."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    @main.group()
    def plugins() -> None:
        """Connector plugins."""

    @plugins.command("list")
    def plugins_list() -> None:
        """Every connector found through the quire.connectors entry points."""
        from quire.plugins.registry import discover

        registry = discover()
        rows = [
            (
                e.name,
                e.version or "?",
                e.distribution or "-",
                e.status,
                (e.connector.display_name.get("en", "") if e.connector else ""),
            )
            for e in registry
        ]
        widths = [
            max(len(str(r[i])) for r in [("name", "version", "package", "status", "")] + rows)
            for i in range(4)
        ]
        header = ("NAME", "VERSION", "PACKAGE", "STATUS")
        click.echo(
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  DESCRIPTION"
        )
        for row in rows:
            click.echo(
                "  ".join(str(c).ljust(w) for c, w in zip(row[:4], widths, strict=True))
                + f"  {row[4]}"
            )
