"""``quantdesk sentiment``: daily news sentiment of a symbol, and scoring texts.

``quantdesk ingest news`` (defined here, registered under ``ingest``) loads articles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quantdesk.cli.console import (
    EXIT_BAD_INPUT,
    console,
    err_console,
    fmt_num,
    handle_errors,
    parse_date,
    print_issues,
)
from quantdesk.cli.context import open_runtime
from quantdesk.data.service import parse_time
from quantdesk.runtime.bootstrap import build_news_source
from quantdesk.sentiment.service import SCORERS, IngestSummary

app = typer.Typer(
    help="News sentiment: 'show SYMBOL' prints a symbol's daily series, 'score TEXT...' scores "
    "texts. Load articles with 'quantdesk ingest news'.",
    no_args_is_help=True,
)

ScorerOption = Annotated[str, typer.Option(help=f"Scorer: {', '.join(SCORERS)}")]
_PREVIEW = 60


def _bad_input(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_BAD_INPUT)


def _print_summary(label: str, summary: IngestSummary) -> None:
    console.print(
        f"[green]{label}[/green]: {summary.new:,} new, {summary.duplicates:,} duplicate(s) of "
        f"{summary.fetched:,} fetched (scorer {summary.scorer})"
    )
    tagged = ", ".join(summary.symbols) if summary.symbols else "none"
    console.print(f"tagged symbols: {tagged}")
    console.print(f"days updated: {summary.days_updated:,}")
    if summary.skipped:
        print_issues(summary.skipped, title="Skipped (not stored)")


def ingest_news(
    rss: Annotated[
        str | None, typer.Option(help="RSS or Atom feed: an http(s) URL or a file path")
    ] = None,
    jsonl: Annotated[Path | None, typer.Option(help="JSON Lines file, one article a line")] = None,
    newsapi: Annotated[
        str | None, typer.Option(help="Search query for a NewsAPI-compatible API")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the news API key (--newsapi)")
    ] = "NEWSAPI_KEY",
    scorer: ScorerOption = "lexicon",
    since: Annotated[
        str | None, typer.Option(help="Only articles published from, YYYY-MM-DD or ISO time")
    ] = None,
) -> None:
    """Load news articles: de-duplicate, tag symbols, score, store, update daily sentiment."""
    given = [("rss", rss), ("jsonl", None if jsonl is None else str(jsonl)), ("newsapi", newsapi)]
    chosen = [(kind, value) for kind, value in given if value is not None]
    if len(chosen) != 1:
        raise _bad_input("give exactly one of --rss, --jsonl or --newsapi")
    kind, target = chosen[0]
    api_key = None
    if kind == "newsapi":
        api_key = os.environ.get(api_key_env, "").strip() or None
        if api_key is None:
            raise _bad_input(
                f"--newsapi needs an API key in the environment variable {api_key_env}; set it "
                "or name another variable with --api-key-env"
            )
    with handle_errors():
        start = parse_time(since, "--since")
        source = build_news_source(kind, target, api_key=api_key)
        with open_runtime() as runtime:
            summary = runtime.sentiment.ingest(source, scorer=scorer, since=start)
        _print_summary(f"news ({kind}: {target})", summary)


@app.command("show")
def show(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. AAPL")],
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (inclusive), YYYY-MM-DD")] = None,
    scorer: ScorerOption = "lexicon",
) -> None:
    """Print a symbol's daily news sentiment (16:00 New York cut-off), oldest first."""
    with handle_errors(), open_runtime() as runtime:
        rows = runtime.sentiment.daily(
            symbol, parse_date(start, "start"), parse_date(end, "end"), scorer
        )
        if not rows:
            console.print(
                f"no {scorer} news sentiment stored for {symbol.upper()} in this range; load "
                "articles with 'quantdesk ingest news'"
            )
            return
        table = Table(title=f"{rows[0].symbol} daily news sentiment ({scorer})")
        table.add_column("date")
        table.add_column("mean", justify="right")
        table.add_column("articles", justify="right")
        table.add_column("dispersion", justify="right")
        for row in rows:
            table.add_row(
                row.day.isoformat(), fmt_num(row.mean), str(row.count), fmt_num(row.dispersion)
            )
        console.print(table)


@app.command("score")
def score(
    texts: Annotated[list[str], typer.Argument(help="Texts to score (quote each one)")],
    scorer: ScorerOption = "lexicon",
) -> None:
    """Score texts: label, score in [-1, 1], confidence and the known symbols mentioned."""
    with handle_errors(), open_runtime() as runtime:
        results = runtime.sentiment.score_texts(texts, scorer)
        table = Table(title=f"Sentiment ({scorer})")
        table.add_column("text")
        table.add_column("label")
        table.add_column("score", justify="right")
        table.add_column("confidence", justify="right")
        table.add_column("symbols")
        for text, result in zip(texts, results, strict=True):
            preview = text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"
            table.add_row(
                preview,
                result.label,
                fmt_num(result.score),
                fmt_num(result.confidence),
                ", ".join(result.symbols),
            )
        console.print(table)
