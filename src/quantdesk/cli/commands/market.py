"""``quantdesk quote|history|symbols``: read market data."""

from __future__ import annotations

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

_TABLE_DEFAULT_ROWS = 30


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def quote(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. SPX")],
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show the latest price of a symbol."""
    with handle_errors(), open_runtime() as runtime:
        snapshot = runtime.market.quote(symbol)
        instrument = snapshot.instrument
        if output == "json":
            data = {
                "symbol": instrument.symbol,
                "name": instrument.name,
                "synthetic": instrument.synthetic,
                "interval": snapshot.interval.value,
                "ts": snapshot.ts.isoformat(),
                "price": snapshot.price,
                "open": snapshot.open,
                "high": snapshot.high,
                "low": snapshot.low,
                "volume": snapshot.volume,
                "previous_close": snapshot.previous_close,
                "change": snapshot.change,
                "change_pct": snapshot.change_pct,
                "close_only": snapshot.close_only,
            }
            sys.stdout.write(orjson.dumps(data).decode() + "\n")
            return
        if output != "table":
            raise ValueError(f"unknown --format {output!r}; use table or json")
        title = f"{instrument.symbol} · {instrument.name}"
        if instrument.synthetic:
            title += " [yellow](SYNTHETIC DATA)[/yellow]"
        table = Table(title=title, show_header=False, title_justify="left")
        change = snapshot.change
        colour = "green" if (change or 0) >= 0 else "red"
        table.add_row("price", f"{_num(snapshot.price)} {instrument.currency}")
        if change is not None and snapshot.change_pct is not None:
            table.add_row(
                "change",
                f"[{colour}]{change:+,.4f} ({snapshot.change_pct:+.2f}%)[/{colour}]",
            )
        table.add_row("as of", f"{snapshot.ts:%Y-%m-%d %H:%M} UTC ({snapshot.interval.value} bar)")
        if snapshot.close_only:
            table.add_row("open/high/low", "not available (close-only series)")
        else:
            table.add_row("open", _num(snapshot.open))
            table.add_row("high", _num(snapshot.high))
            table.add_row("low", _num(snapshot.low))
        table.add_row("volume", _num(snapshot.volume, 0))
        console.print(table)


def history(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. SPX")],
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="Last date (inclusive), YYYY-MM-DD")] = None,
    interval: Annotated[str, typer.Option(help="1m 5m 15m 1h 1d 1w 1mo")] = "1d",
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many bars (table: latest 30)")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Print OHLCV history of a symbol."""
    with handle_errors(), open_runtime() as runtime:
        if output not in ("table", "csv", "json"):
            raise ValueError(f"unknown --format {output!r}; use table, csv or json")
        bar_interval = Interval.parse(interval)
        start_at = parse_time(start, "--start")
        end_at = parse_time(end, "--end", end=True)
        latest_only = output == "table" and limit is None and start is None
        page = runtime.market.history(
            symbol,
            bar_interval,
            start_at,
            end_at,
            limit=_TABLE_DEFAULT_ROWS if latest_only else limit,
            newest_first=latest_only,
        )
        frame = page.bars.sort("ts") if latest_only else page.bars
        frame = frame.drop("interval")
        if output == "csv":
            sys.stdout.write(
                frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv()
            )
            return
        if output == "json":
            rows = frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_dicts()
            sys.stdout.write(orjson.dumps(rows).decode() + "\n")
            return
        title = f"{page.symbol} {page.interval.value}"
        if page.source_interval != page.interval:
            title += f" (resampled from {page.source_interval.value})"
        if page.synthetic:
            title += " [yellow](SYNTHETIC DATA)[/yellow]"
        if latest_only:
            title += f", latest {frame.height} bars"
        table = Table(title=title, title_justify="left")
        for column in ("ts", "open", "high", "low", "close", "volume"):
            table.add_column(column, justify="right" if column != "ts" else "left")
        fmt = "%Y-%m-%d" if not bar_interval.is_intraday else "%Y-%m-%d %H:%M"
        for row in frame.iter_rows(named=True):
            table.add_row(
                row["ts"].strftime(fmt),
                _num(row["open"]),
                _num(row["high"]),
                _num(row["low"]),
                _num(row["close"]),
                _num(row["volume"], 0),
            )
        console.print(table)


def symbols(
    query: Annotated[str | None, typer.Argument(help="Part of a symbol or name")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """List or search the known instruments."""
    with handle_errors(), open_runtime() as runtime:
        found = runtime.market.search(query, limit=limit)
        table = Table(title=f"{len(found)} instruments", title_justify="left")
        for column in ("symbol", "name", "class", "sector", "series", "source"):
            table.add_column(column)
        for info in found:
            instrument = info.instrument
            series = ", ".join(
                f"{s.interval.value} {s.first_ts:%Y-%m-%d}→{s.last_ts:%Y-%m-%d} ({s.bar_count:,})"
                for s in info.series
            )
            source = (instrument.source or "") + (
                " [yellow]SYNTHETIC[/yellow]" if instrument.synthetic else ""
            )
            table.add_row(
                instrument.symbol,
                instrument.name,
                instrument.asset_class.value,
                instrument.sector or "",
                series,
                source,
            )
        console.print(table)
