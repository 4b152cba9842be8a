"""``quantdesk backtest``: run a registered strategy over stored bars, print metrics, report.

``quantdesk strategies`` lists the registered strategies and their parameters.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from quantdesk.backtest.results import BacktestMetrics
from quantdesk.backtest.spec import BacktestSpec
from quantdesk.cli.console import (
    console,
    err_console,
    fmt_money,
    fmt_num,
    fmt_pct,
    handle_errors,
    parse_date,
)
from quantdesk.cli.context import open_runtime
from quantdesk.core.errors import Issue, ValidationError

_PERCENT = {
    "total_return",
    "annual_return",
    "volatility",
    "max_drawdown",
    "win_rate",
    "exposure",
    "time_in_market",
    "benchmark_total_return",
    "benchmark_annual_return",
    "alpha",
    "tracking_error",
}
_MONEY = {"average_win", "average_loss", "fees"}


def _pairs(text: str) -> list[str]:
    """Split ``text`` on the commas outside quotes, brackets and parentheses."""
    pairs: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pairs.append(text[start:i])
            start = i + 1
    pairs.append(text[start:])
    return [pair for pair in pairs if pair.strip()]


def parse_params(text: str | None) -> dict[str, Any]:
    """Parse ``"fast=10,slow=50"`` into parameters; values are JSON when they parse as JSON
    (numbers, ``true``, ``null``, quoted strings, objects), plain text otherwise. Commas inside
    quotes, brackets or parentheses do not split pairs, so expressions and JSON objects work.

    Raises
    ------
    ValidationError
        Naming the pair that is not ``NAME=VALUE``.
    """
    params: dict[str, Any] = {}
    if not text:
        return params
    for index, pair in enumerate(_pairs(text)):
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                "invalid strategy parameters",
                [Issue(f"params[{index}]", f"'{pair.strip()}' is not NAME=VALUE", "params")],
            )
        raw = value.strip()
        try:
            params[name.strip()] = json.loads(raw)
        except ValueError:
            params[name.strip()] = raw
    return params


def _symbols(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise ValidationError(
            "no symbols", [Issue("symbols", "give at least one symbol, e.g. AAPL,MSFT", "symbols")]
        )
    return symbols


def _format(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in _PERCENT:
        return fmt_pct(float(value))
    if name in _MONEY:
        return fmt_money(float(value))
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return fmt_num(value)


def metrics_table(metrics: BacktestMetrics, title: str) -> Table:
    """Return the metrics as a two-column table (percentages, money and ratios formatted)."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.to_dict().items():
        if value is None:
            continue
        table.add_row(name.replace("_", " "), _format(name, value))
    return table


def backtest(
    strategy: Annotated[str, typer.Option(help="Registered strategy, see `quantdesk strategies`")],
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols, e.g. AAPL,MSFT")],
    params: Annotated[
        str | None, typer.Option(help='Strategy parameters, e.g. "fast=10,slow=50"')
    ] = None,
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="End date (exclusive), YYYY-MM-DD")] = None,
    capital: Annotated[float, typer.Option(help="Initial cash")] = 100_000.0,
    fee_percent: Annotated[
        float, typer.Option(help="Commission as a fraction of notional, e.g. 0.0005")
    ] = 0.0,
    fee_per_share: Annotated[float, typer.Option(help="Commission per share")] = 0.0,
    fee_minimum: Annotated[float, typer.Option(help="Minimum commission per order")] = 0.0,
    slippage_bps: Annotated[float, typer.Option(help="Fixed slippage in basis points")] = 0.0,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark symbol, e.g. SPX")] = None,
    same_close: Annotated[
        bool,
        typer.Option(
            "--same-close",
            help="Fill market orders at the deciding bar's close (optimistic; default next open)",
        ),
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Write the HTML tear sheet here")] = None,
    output_json: Annotated[
        bool, typer.Option("--json", help="Print the run and metrics as JSON")
    ] = False,
) -> None:
    """Run a strategy over stored daily bars and print its metrics."""
    with handle_errors():
        if fee_percent and fee_per_share:
            raise ValidationError(
                "conflicting fees",
                [Issue("fees", "give --fee-percent or --fee-per-share, not both", "fee")],
            )
        fee: dict[str, Any] = {"kind": "none", "minimum": fee_minimum}
        if fee_percent:
            fee = {"kind": "percent", "rate": fee_percent, "minimum": fee_minimum}
        elif fee_per_share:
            fee = {"kind": "per_share", "rate": fee_per_share, "minimum": fee_minimum}
        spec = BacktestSpec.parse(
            {
                "strategy": strategy,
                "params": parse_params(params),
                "symbols": _symbols(symbols),
                "start": parse_date(start, "start"),
                "end": parse_date(end, "end"),
                "capital": capital,
                "fee": fee,
                "slippage": {"kind": "fixed_bps", "bps": slippage_bps}
                if slippage_bps
                else {"kind": "none"},
                "market_fill": "same_close_optimistic" if same_close else "next_open",
                "benchmark": benchmark,
            }
        )
        with open_runtime() as runtime:
            service = runtime.backtests
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as progress:
                task = progress.add_task(f"backtest {spec.strategy}", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                outcome = service.run(spec, progress=advance)
        run, result = outcome.run, outcome.result
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(outcome.report_path, report)
        if output_json:
            payload = {
                "id": run.id,
                "spec_hash": run.spec_hash,
                "spec": run.spec,
                "synthetic": run.synthetic,
                "reused": run.reused,
                "metrics": run.metrics,
                "final_equity": result.final_equity,
                "trades": len(result.trades),
                "report": None if report is None else str(report),
            }
            console.print_json(json.dumps(payload, allow_nan=False))
            return
        period = f"{run.spec['start']} to {run.spec['end']}"
        console.print(
            f"{run.strategy} on {', '.join(run.symbols)}, {period}: "
            f"final equity {fmt_money(result.final_equity)} from {fmt_money(spec.capital)}"
        )
        if run.synthetic:
            console.print(
                "[yellow]SYNTHETIC DATA:[/yellow] some bars come from the synthetic market"
            )
        console.print(metrics_table(result.metrics, f"run {run.id} (spec {run.spec_hash[:12]})"))
        if run.reused:
            console.print("Reused the stored result of an identical run on the same bars.")
        if report is not None:
            console.print(f"Report written to {report}")


def strategies(
    output_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """List the registered strategies and their parameters (defaults and bounds)."""
    from quantdesk.backtest.strategies import strategy_names, strategy_spec

    specs = [strategy_spec(name) for name in strategy_names()]
    if output_json:
        console.print_json(
            json.dumps({spec.name: spec.schema() for spec in specs}, allow_nan=False)
        )
        return
    table = Table(title="Strategies", title_justify="left")
    table.add_column("name")
    table.add_column("parameters")
    table.add_column("description")
    for spec in specs:
        props = spec.schema().get("properties", {})
        described = ", ".join(f"{name}={prop.get('default', '?')}" for name, prop in props.items())
        table.add_row(spec.name, described, spec.description.strip().splitlines()[0])
    console.print(table)
