"""``quantdesk config``: inspect settings."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from quantdesk.cli.console import console, handle_errors
from quantdesk.cli.context import load_settings

app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, "" if value is None else str(value)))
    return rows


@app.command("show")
def show(
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Print the effective settings, secrets masked."""
    with handle_errors():
        data = load_settings().masked()
        if output == "json":
            console.print_json(orjson.dumps(data).decode())
            return
        if output != "table":
            raise ValueError(f"unknown --format {output!r}; use table or json")
        table = Table("setting", "value", title="quantdesk settings (QUANTDESK_<SECTION>__<NAME>)")
        for name, value in _flatten(data):
            table.add_row(name, value)
        console.print(table)
