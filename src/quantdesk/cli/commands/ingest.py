"""``quantdesk ingest``: load bars from files, bundled datasets, the synthetic market or APIs.

Every row is validated first. By default one bad row means nothing is written and every
problem is listed (file, row, field, reason); ``--skip-invalid`` loads the good rows and lists
the rejects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from quantdesk.cli.commands.sentiment import ingest_news
from quantdesk.cli.console import EXIT_BAD_INPUT, console, err_console, handle_errors, print_issues
from quantdesk.cli.context import load_settings, open_runtime
from quantdesk.data.ports import FetchRequest, MarketDataProvider
from quantdesk.data.service import IngestProgress, IngestReport, parse_time
from quantdesk.domain import AssetClass, Interval, normalize_symbol
from quantdesk.runtime import load_demo
from quantdesk.runtime.providers import (
    DATASETS,
    FileMapping,
    SyntheticMarketConfig,
    bundled_provider,
    dataset_fingerprint,
    file_provider,
    http_provider,
    synthetic_provider,
)

app = typer.Typer(help="Load market data into the stores.", no_args_is_help=True)

SkipInvalid = Annotated[
    bool, typer.Option("--skip-invalid", help="Write the valid rows and list the rejected ones")
]
IntervalOption = Annotated[str, typer.Option(help="Bar interval: 1m 5m 15m 1h 1d 1w 1mo")]
StartOption = Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")]
EndOption = Annotated[str | None, typer.Option(help="Last date (inclusive), YYYY-MM-DD")]


@contextmanager
def progress_reporter(description: str) -> Iterator[Callable[[IngestProgress], None]]:
    """Show a Rich progress display and yield the callback that advances it."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, rows=0)
        rows = 0

        def report(step: IngestProgress) -> None:
            nonlocal rows
            rows += step.rows
            progress.update(task, advance=1, rows=rows, description=f"{description}: {step.source}")

        yield report


def summarise(name: str, report: IngestReport) -> None:
    """Print one line about an ingest, then its rejected rows if any."""
    if report.skipped:
        console.print(f"[dim]{name}: already loaded, skipped[/dim]")
        return
    console.print(
        f"[green]{name}[/green]: {report.rows_written:,} bars written for "
        f"{len(report.symbols)} symbols from {len(report.sources)} source(s)"
        + (f", {report.rejected_rows:,} rows rejected" if report.rejected_rows else "")
    )
    if report.issues:
        print_issues(report.issues, title="Rejected rows (not written)")


def _run(
    provider: MarketDataProvider, request: FetchRequest, skip_invalid: bool, label: str
) -> None:
    with handle_errors(), open_runtime() as runtime:
        with progress_reporter(f"ingesting {label}") as report:
            result = runtime.market.ingest(
                provider, request, skip_invalid=skip_invalid, progress=report
            )
        summarise(label, result)


def _mapping_pairs(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            err_console.print(
                f"[red]error:[/red] --map {pair!r} must look like field=column, e.g. ts=Date"
            )
            raise typer.Exit(EXIT_BAD_INPUT)
        mapping[field.strip()] = column.strip()
    return mapping


def _file_command(file_format: str) -> Callable[..., None]:
    def command(
        paths: Annotated[list[Path], typer.Argument(help="Files to load", exists=False)],
        symbol: Annotated[
            str | None, typer.Option(help="Symbol for files without a symbol column")
        ] = None,
        interval: IntervalOption = "1d",
        map_: Annotated[
            list[str] | None,
            typer.Option("--map", help="field=column, e.g. --map ts=Date --map close='Last'"),
        ] = None,
        date_format: Annotated[
            str | None, typer.Option(help="e.g. %d/%m/%Y, epoch_s, epoch_ms (auto if omitted)")
        ] = None,
        timezone: Annotated[str, typer.Option(help="Zone of naive intraday times")] = "UTC",
        adjust: Annotated[bool, typer.Option(help="Scale OHLC by adjusted close / close")] = False,
        delimiter: Annotated[str, typer.Option(help="CSV separator")] = ",",
        name: Annotated[str | None, typer.Option(help="Instrument name")] = None,
        asset_class: Annotated[str | None, typer.Option(help="equity, etf, index, ...")] = None,
        currency: Annotated[str | None, typer.Option(help="ISO currency, e.g. USD")] = None,
        exchange: Annotated[str | None, typer.Option(help="Exchange code")] = None,
        sector: Annotated[str | None, typer.Option(help="Sector")] = None,
        skip_invalid: SkipInvalid = False,
    ) -> None:
        with handle_errors():
            mapping = FileMapping(
                columns=_mapping_pairs(map_ or []),
                symbol=normalize_symbol(symbol) if symbol else None,
                interval=Interval.parse(interval),
                date_format=date_format,
                timezone=timezone,
                adjust=adjust,
                delimiter=delimiter,
            )
            instrument = {
                key: value
                for key, value in {
                    "name": name,
                    "asset_class": AssetClass(asset_class).value if asset_class else None,
                    "currency": currency,
                    "exchange": exchange,
                    "sector": sector,
                }.items()
                if value is not None
            }
            provider = file_provider(
                paths, mapping, "csv" if file_format == "csv" else "parquet", instrument
            )
        _run(provider, FetchRequest(interval=mapping.interval), skip_invalid, file_format)

    command.__doc__ = f"Load bars from {file_format.upper()} files."
    return command


app.command("csv")(_file_command("csv"))
app.command("parquet")(_file_command("parquet"))


@app.command("demo")
def demo(
    dataset: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these bundled datasets: {', '.join(DATASETS)}"),
    ] = None,
    force: Annotated[bool, typer.Option(help="Reload even if already loaded")] = False,
    synthetic: Annotated[bool, typer.Option(help="Also load the synthetic market")] = True,
) -> None:
    """Load the bundled real datasets (and the synthetic market)."""
    with handle_errors(), open_runtime() as runtime:
        if dataset:
            for name in dataset:
                with progress_reporter(f"loading {name}") as report:
                    result = runtime.market.ingest_dataset(
                        name,
                        dataset_fingerprint(name),
                        bundled_provider(name),
                        force=force,
                        progress=report,
                    )
                summarise(name, result)
            return
        with progress_reporter("loading demo data") as report:
            results = load_demo(runtime, force=force, synthetic=synthetic, progress=report)
        for name, result in results.items():
            summarise(name, result)


@app.command("synthetic")
def synthetic(
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same market")] = 7,
    days: Annotated[int, typer.Option(min=2, help="Trading days of daily bars")] = 2520,
    intraday: Annotated[bool, typer.Option(help="Also generate intraday bars")] = True,
) -> None:
    """Generate and load the deterministic synthetic market (every instrument flagged)."""
    with handle_errors():
        config = SyntheticMarketConfig(
            seed=seed, days=days, intraday_days=min(20, days) if intraday else 0
        )
        market = synthetic_provider(config)
    _run(market, FetchRequest(), False, "synthetic")


def _http_command(kind: str) -> Callable[..., None]:
    def command(
        symbols: Annotated[list[str], typer.Argument(help="Tickers to download")],
        interval: IntervalOption = "1d",
        start: StartOption = None,
        end: EndOption = None,
        skip_invalid: SkipInvalid = False,
    ) -> None:
        with handle_errors():
            settings = load_settings()
            request = FetchRequest(
                symbols=tuple(normalize_symbol(s) for s in symbols),
                interval=Interval.parse(interval),
                start=parse_time(start, "--start"),
                end=parse_time(end, "--end", end=True),
            )
            provider = http_provider(kind, settings)
        _run(provider, request, skip_invalid, kind)

    command.__doc__ = f"Download bars from {kind} and load them."
    return command


app.command("yahoo")(_http_command("yahoo"))
app.command("alphavantage")(_http_command("alphavantage"))
app.command("stooq")(_http_command("stooq"))
app.command("news")(ingest_news)
