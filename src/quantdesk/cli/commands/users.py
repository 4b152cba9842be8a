"""``quantdesk users`` and ``quantdesk secrets``: accounts and stored credentials."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from quantdesk.auth.models import AuditContext
from quantdesk.auth.rbac import Role
from quantdesk.cli.console import console, handle_errors
from quantdesk.cli.context import open_runtime

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
secrets_app = typer.Typer(help="Manage encrypted third-party credentials.", no_args_is_help=True)

_CLI = AuditContext(user_agent="quantdesk cli")


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="The administrator's email")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when omitted (preferred: it stays out of shell history)",
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Create an administrator (first-run bootstrap, or another admin)."""
    with handle_errors(), open_runtime() as runtime:
        user = runtime.auth.create_user(
            email=email,
            password=password,
            display_name=name,
            role=Role.ADMIN,
            actor=None,
            context=_CLI,
        )
        console.print(f"created administrator {user.email} ({user.id})")


@app.command("create")
def create(
    email: Annotated[str, typer.Option(prompt=True, help="The user's email")],
    role: Annotated[Role, typer.Option(help="admin, advisor, trader, analyst or viewer")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Create a user with a role."""
    with handle_errors(), open_runtime() as runtime:
        user = runtime.auth.create_user(
            email=email, password=password, display_name=name, role=role, actor=None, context=_CLI
        )
        console.print(f"created {user.role.value} {user.email} ({user.id})")


@app.command("list")
def list_users() -> None:
    """List users."""
    with handle_errors(), open_runtime() as runtime:
        table = Table("id", "email", "role", "tier", "active", "mfa", "last login")
        for user in runtime.auth.list_users(limit=10_000):
            table.add_row(
                user.id,
                user.email,
                user.role.value,
                user.tier,
                "yes" if user.is_active else "no",
                "on" if user.mfa_enabled else "off",
                user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "",
            )
        console.print(table)


@secrets_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored credential and MFA secret with the newest master key.

    Put the new key first in QUANTDESK_SECRETS__MASTER_KEYS, keep the old ones after it, run
    this, then drop the old keys.
    """
    with handle_errors(), open_runtime() as runtime:
        count = runtime.auth.rotate_secrets(context=_CLI)
        console.print(f"re-encrypted {count} secret(s) with the newest master key")
