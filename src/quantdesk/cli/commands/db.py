"""``quantdesk db``: database migrations."""

from __future__ import annotations

import typer

from quantdesk.cli.console import console, handle_errors
from quantdesk.cli.context import load_settings
from quantdesk.config.settings import mask_url
from quantdesk.runtime import database_revision, migrate

app = typer.Typer(help="Manage the database schemas.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply migrations to the relational store and create the bar-store schema."""
    with handle_errors():
        settings = load_settings()
        revision, store = migrate(settings)
        console.print(
            f"relational store {mask_url(settings.database_url)} at revision {revision}; "
            f"bar store ({store}) schema is up to date"
        )


@app.command("current")
def current() -> None:
    """Print the relational store's migration revision."""
    with handle_errors():
        revision = database_revision(load_settings())
        console.print(revision or "not migrated; run `quantdesk db upgrade`")
