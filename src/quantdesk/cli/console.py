"""Console output helpers: the only place that writes to the terminal."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from quantdesk.core.errors import (
    Issue,
    NotFound,
    QuantdeskError,
    ValidationError,
)

console = Console()
err_console = Console(stderr=True)

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def fmt_pct(value: float | None) -> str:
    """Format a fraction as a percentage; blank for ``None`` or non-finite values."""
    return "" if value is None or not math.isfinite(value) else f"{value:.2%}"


def fmt_num(value: Any) -> str:
    """Format a float with four decimals (blank when non-finite); other values as text."""
    if isinstance(value, float):
        return f"{value:,.4f}" if math.isfinite(value) else ""
    return "" if value is None else str(value)


def fmt_money(value: float | None) -> str:
    """Format an amount with two decimals and thousands separators; blank when missing."""
    return "" if value is None or not math.isfinite(value) else f"{value:,.2f}"


def parse_date(text: str | None, name: str) -> date | None:
    """Parse a ``YYYY-MM-DD`` option, raising ``ValidationError`` naming option ``name``."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            "invalid date", [Issue(name, f"'{text}' is not YYYY-MM-DD", name)]
        ) from None


def print_issues(issues: Sequence[Issue], *, title: str, limit: int = 50) -> None:
    """Print rejected rows as a table (first ``limit`` of them)."""
    table = Table(title=title, title_justify="left")
    table.add_column("where")
    table.add_column("field")
    table.add_column("problem")
    for issue in issues[:limit]:
        table.add_row(issue.location, issue.field or "", issue.reason)
    err_console.print(table)
    if len(issues) > limit:
        err_console.print(f"... and {len(issues) - limit} more")


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn quantdesk errors into a readable message and a non-zero exit code."""
    try:
        yield
    except ValidationError as exc:
        caret = getattr(exc, "caret", None)
        if callable(caret):
            err_console.print(caret(), markup=False, highlight=False)
        if exc.issues:
            print_issues(exc.issues, title="Problems found")
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except NotFound as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except QuantdeskError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        if getattr(exc, "retryable", False):
            err_console.print("This may be temporary; try again in a moment.")
        raise typer.Exit(EXIT_ERROR) from None
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
