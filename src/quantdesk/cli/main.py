"""The ``quantdesk`` command."""

from __future__ import annotations

import typer

from quantdesk import __version__
from quantdesk.cli.commands import (
    analysis,
    backtest,
    config,
    db,
    ingest,
    market,
    ml,
    portfolio,
    risk,
    sentiment,
    serve,
    users,
)
from quantdesk.cli.console import console

app = typer.Typer(
    name="quantdesk",
    help="quantdesk: market data, analytics, backtests, portfolio and risk from one install.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(serve.demo)
app.command("serve")(serve.serve)
app.command("quote")(market.quote)
app.command("history")(market.history)
app.command("symbols")(market.symbols)
app.command("analyze")(analysis.analyze)
app.command("signals")(analysis.signals)
app.command("patterns")(analysis.patterns)
app.command("screen")(analysis.screen)
app.command("backtest")(backtest.backtest)
app.command("strategies")(backtest.strategies)
app.add_typer(ingest.app, name="ingest")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")
app.add_typer(users.app, name="users")
app.add_typer(risk.app, name="risk")
app.add_typer(portfolio.app, name="portfolio")
app.add_typer(ml.app, name="ml")
app.add_typer(sentiment.app, name="sentiment")
app.add_typer(users.secrets_app, name="secrets")


@app.command("version")
def version() -> None:
    """Print the quantdesk version."""
    console.print(__version__)


if __name__ == "__main__":
    app()
