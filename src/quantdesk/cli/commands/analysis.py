"""``quantdesk analyze|signals|patterns|screen``: technical analysis from the terminal."""

from __future__ import annotations

import math
import sys
from typing import Annotated

import orjson
import polars as pl
import typer
from rich.table import Table

from quantdesk.cli.console import console, handle_errors
from quantdesk.cli.context import open_runtime
from quantdesk.data.service import parse_time
from quantdesk.domain import Interval
from quantdesk.signals.service import parse_indicator_list

_TABLE_ROWS = 20


def _num(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:,.2f}"


def analyze(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. SPX")],
    indicators: Annotated[
        str, typer.Option("--indicators", "-i", help='e.g. "rsi(14), macd(), bbands(20, 2, 2)"')
    ] = "rsi(14), macd(), bbands()",
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="Last date (inclusive)")] = None,
    interval: Annotated[str, typer.Option(help="1m 5m 15m 1h 1d 1w 1mo")] = "1d",
    output: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Compute indicators on a symbol (table: the latest 20 bars)."""
    with handle_errors(), open_runtime() as runtime:
        if output not in ("table", "csv", "json"):
            raise ValueError(f"unknown --format {output!r}; use table, csv or json")
        analysis = runtime.analysis
        requests = parse_indicator_list(indicators, analysis.registry)
        result = analysis.technical(
            symbol,
            requests,
            Interval.parse(interval),
            parse_time(start, "--start"),
            parse_time(end, "--end", end=True),
        )
        frame = result.frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if output == "csv":
            sys.stdout.write(frame.write_csv())
            return
        if output == "json":
            sys.stdout.write(orjson.dumps(frame.to_dicts()).decode() + "\n")
            return
        shown = frame.tail(_TABLE_ROWS) if start is None else frame
        title = f"{result.instrument.symbol} {result.interval.value}"
        if result.instrument.synthetic:
            title += " [yellow](SYNTHETIC DATA)[/yellow]"
        table = Table(title=title, title_justify="left")
        for column in shown.columns:
            table.add_column(column, justify="left" if column == "ts" else "right")
        for row in shown.iter_rows():
            table.add_row(
                row[0][:10] if not result.interval.is_intraday else row[0],
                *(_num(v) for v in row[1:]),
            )
        console.print(table)


def signals(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. SPX")],
    since: Annotated[str | None, typer.Option(help="Only events from this date")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    interval: Annotated[str, typer.Option(help="1m 5m 15m 1h 1d 1w 1mo")] = "1d",
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show recent signal events of a symbol and why each fired."""
    with handle_errors(), open_runtime() as runtime:
        instrument, events = runtime.analysis.signals(
            symbol, Interval.parse(interval), parse_time(since, "--since"), limit
        )
        if output == "json":
            sys.stdout.write(orjson.dumps([e.to_dict() for e in events]).decode() + "\n")
            return
        title = f"{instrument.symbol}: {len(events)} most recent signals"
        if instrument.synthetic:
            title += " [yellow](SYNTHETIC DATA)[/yellow]"
        table = Table(title=title, title_justify="left")
        for column in ("date", "rule", "direction", "strength", "why"):
            table.add_column(column)
        for event in events:
            colour = "green" if event.direction > 0 else "red"
            table.add_row(
                f"{event.ts:%Y-%m-%d %H:%M}"
                if Interval.parse(interval).is_intraday
                else f"{event.ts:%Y-%m-%d}",
                event.rule,
                f"[{colour}]{'bullish' if event.direction > 0 else 'bearish'}[/{colour}]",
                f"{event.strength:.2f}",
                event.explanation,
            )
        console.print(table)


def patterns(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. SPX")],
    since: Annotated[str | None, typer.Option(help="Only events from this date")] = None,
    interval: Annotated[str, typer.Option(help="1m 5m 15m 1h 1d 1w 1mo")] = "1d",
) -> None:
    """Show support/resistance levels and chart-pattern events of a symbol."""
    with handle_errors(), open_runtime() as runtime:
        result = runtime.analysis.patterns(
            symbol, Interval.parse(interval), parse_time(since, "--since")
        )
        levels = Table(
            title=f"{result.instrument.symbol} levels (last close {result.last_close:,.2f})",
            title_justify="left",
        )
        for column in ("price", "kind", "touches", "strength"):
            levels.add_column(column)
        for level in sorted(result.levels, key=lambda lv: lv.price, reverse=True):
            levels.add_row(
                f"{level.price:,.2f}", level.kind, str(level.touches), f"{level.strength:.2f}"
            )
        console.print(levels)
        events = Table(title="pattern events (newest first)", title_justify="left")
        for column in ("date", "pattern", "why"):
            events.add_column(column)
        for event in result.events[:30]:
            events.add_row(f"{event.ts:%Y-%m-%d}", event.rule, event.explanation)
        console.print(events)


def screen(
    expression: Annotated[str, typer.Argument(help='e.g. "rsi(14) < 30 and close > sma(200)"')],
    universe: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (default: every stored symbol)")
    ] = None,
    interval: Annotated[str, typer.Option(help="1m 5m 15m 1h 1d 1w 1mo")] = "1d",
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Find the symbols whose latest bar satisfies a condition."""
    with handle_errors(), open_runtime() as runtime:
        symbols = (
            [s.strip().upper() for s in universe.split(",") if s.strip()] if universe else None
        )
        result, unknown = runtime.analysis.screen(expression, symbols, Interval.parse(interval))
        if output == "json":
            payload = {
                "matches": [
                    {
                        "symbol": m.symbol,
                        "ts": m.ts.isoformat() if m.ts else None,
                        "values": m.values,
                    }
                    for m in result.matches
                ],
                "skipped": dict(result.skipped) | dict.fromkeys(unknown, "unknown symbol"),
                "scanned": result.evaluated,
            }
            sys.stdout.write(orjson.dumps(payload).decode() + "\n")
            return
        table = Table(
            title=f"{len(result.matches)} of {result.evaluated} symbols match: {expression}",
            title_justify="left",
        )
        value_names = list(result.matches[0].values) if result.matches else []
        table.add_column("symbol")
        table.add_column("as of")
        for name in value_names:
            table.add_column(name, justify="right")
        for match in result.matches:
            table.add_row(
                match.symbol,
                f"{match.ts:%Y-%m-%d}" if match.ts else "",
                *(_num(match.values.get(name)) for name in value_names),
            )
        console.print(table)
        skipped = {**result.skipped, **dict.fromkeys(unknown, "unknown symbol")}
        for symbol, reason in skipped.items():
            console.print(f"[dim]skipped {symbol}: {reason}[/dim]")
