"""``quantdesk serve`` and ``quantdesk demo``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from quantdesk.api import create_app
from quantdesk.cli.commands.ingest import progress_reporter, summarise
from quantdesk.cli.console import console, handle_errors
from quantdesk.cli.context import load_settings, open_runtime
from quantdesk.config import Settings
from quantdesk.runtime import configure_logging, ensure_demo_admin, load_demo
from quantdesk.runtime.demo import ensure_demo_portfolio

HostOption = Annotated[str | None, typer.Option(help="Interface to bind (default from settings)")]
PortOption = Annotated[int | None, typer.Option(help="Port (default from settings)")]


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    configure_logging(settings.logging, serving=True)
    bind_host = host or settings.api.host
    bind_port = port or settings.api.port
    console.print(
        f"serving the API on http://{bind_host}:{bind_port} "
        f"(OpenAPI docs at http://{bind_host}:{bind_port}/docs); Ctrl+C stops it"
    )
    uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_config=None)


def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Serve the HTTP API."""
    with handle_errors():
        _serve(load_settings(), host, port)


def demo(
    host: HostOption = None,
    port: PortOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load data, don't serve")] = False,
    force: Annotated[bool, typer.Option(help="Reload datasets even if already loaded")] = False,
    synthetic: Annotated[
        bool, typer.Option(help="Also load the synthetic market (flagged synthetic)")
    ] = True,
) -> None:
    """Migrate the stores, load the demo dataset if needed, then serve the API."""
    with handle_errors():
        settings = load_settings()
        with open_runtime(settings) as runtime:
            console.print(f"quantdesk home: {settings.home_dir}")
            with progress_reporter("loading demo data") as report:
                results = load_demo(runtime, force=force, synthetic=synthetic, progress=report)
            for name, result in results.items():
                summarise(name, result)
            created = ensure_demo_admin(runtime)
            demo_portfolio = ensure_demo_portfolio(runtime)
            if demo_portfolio is not None:
                portfolio, made = demo_portfolio
                console.print(
                    f"demo portfolio {portfolio.name!r} ({portfolio.id}) "
                    f"{'created' if made else 'already there'}: real sp500-20 closes, "
                    f"see /api/v1/portfolio/{portfolio.id}/holdings"
                )
        if created is not None:
            email, password = created
            console.print(
                "\n[bold]Demo administrator created[/bold] (shown once; only a hash is kept):\n"
                f"  email:    {email}\n  password: {password}\n"
                "Sign in at /docs with 'Authorize', or: curl -d "
                f"'username={email}&password=...' "
                f"http://{host or settings.api.host}:{port or settings.api.port}"
                "/api/v1/auth/token\n"
            )
        if not no_serve:
            _serve(settings, host, port)
