"""``quantdesk ml``: train, predict, evaluate, list and promote forecasting models."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from quantdesk.cli.console import console, fmt_num, handle_errors, parse_date
from quantdesk.cli.context import open_runtime
from quantdesk.ml.training import ModelPerformance, task_names

app = typer.Typer(
    help="Forecasting models: train, predict, evaluate, registry.", no_args_is_help=True
)

TaskOption = Annotated[str, typer.Option(help=f"Task: {', '.join(task_names())}")]
HorizonOption = Annotated[int, typer.Option(help="Bars ahead (1-63)")]


def _record_table(record: ModelPerformance) -> Table:
    version = record.version
    table = Table(
        title=f"{version.name} v{version.version} ({version.stage}), out of sample "
        f"{record.test_start} to {record.test_end}",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column(f"baseline: {record.baseline_name}", justify="right")
    for metric in sorted(set(record.model) | set(record.baseline)):
        marker = " *" if metric == record.primary_metric else ""
        table.add_row(
            metric + marker,
            fmt_num(record.model.get(metric)),
            fmt_num(record.baseline.get(metric)),
        )
    return table


@app.command("train")
def train(
    symbol: Annotated[str, typer.Argument(help="Symbol with stored daily bars, e.g. SPX")],
    task: TaskOption = "trend",
    horizon: HorizonOption = 5,
    model: Annotated[str | None, typer.Option(help="lightgbm, ridge, gjr or garch")] = None,
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="End date (exclusive), YYYY-MM-DD")] = None,
    dead_zone: Annotated[float, typer.Option(help="Trend: ignore moves within ±this")] = 0.0025,
) -> None:
    """Evaluate walk-forward against baselines, then register a new candidate version."""
    with handle_errors(), open_runtime() as runtime:
        outcome = runtime.ml.train(
            symbol,
            task,
            horizon,
            model=model,
            start=parse_date(start, "start"),
            end=parse_date(end, "end"),
            dead_zone=dead_zone,
        )
        record = runtime.ml.performance(outcome.version)
        console.print(
            f"Registered {outcome.version.name} v{outcome.version.version} "
            f"({outcome.rows} labelled rows, {len(outcome.features)} features)"
        )
        console.print(_record_table(record))
        console.print(record.verdict)
        for gap in outcome.gaps:
            console.print(
                f"data gap: {gap.start:%Y-%m-%d} to {gap.end:%Y-%m-%d} "
                f"({gap.missing_weekdays} weekdays missing)"
            )


@app.command("predict")
def predict(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. SPX")],
    task: TaskOption = "trend",
    horizon: HorizonOption = 5,
    output_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Forecast from the latest stored bar with the production (else newest) version."""
    with handle_errors(), open_runtime() as runtime:
        prediction = runtime.ml.predict(symbol, task, horizon)
        if output_json:
            record = prediction.performance
            console.print_json(
                json.dumps(
                    {
                        "symbol": prediction.symbol,
                        "task": prediction.task,
                        "horizon": prediction.horizon,
                        "as_of": prediction.as_of.isoformat(),
                        "forecast": prediction.values,
                        "model": f"{record.version.name} v{record.version.version}",
                        "beats_baseline": record.beats_baseline,
                        "notes": list(prediction.notes),
                    }
                )
            )
            return
        console.print(
            f"{prediction.symbol} {prediction.task} over {prediction.horizon} bars "
            f"from {prediction.as_of:%Y-%m-%d} (close {prediction.last_close:,.2f}):"
        )
        for key, value in prediction.values.items():
            console.print(f"  {key}: {value:.6g}")
        console.print(_record_table(prediction.performance))
        for note in prediction.notes:
            console.print(note)


@app.command("evaluate")
def evaluate(
    name: Annotated[
        str | None, typer.Argument(help="Model, e.g. SPX-trend-5d (default all)")
    ] = None,
) -> None:
    """Show the out-of-sample record of the version in use of each model, vs its baseline."""
    with handle_errors(), open_runtime() as runtime:
        versions = runtime.ml.in_use(name)
        if not versions:
            console.print("No models trained yet: run `quantdesk ml train SYMBOL`.")
        for version in versions:
            record = runtime.ml.performance(version)
            console.print(_record_table(record))
            console.print(record.verdict)


@app.command("models")
def models(
    name: Annotated[str | None, typer.Argument(help="One model only")] = None,
) -> None:
    """List registered versions and their stages."""
    with handle_errors(), open_runtime() as runtime:
        table = Table(title="Models", title_justify="left")
        for column in ("name", "version", "stage", "trained", "beats baseline", "data"):
            table.add_column(column)
        for version in runtime.ml.models(name):
            table.add_row(
                version.name,
                str(version.version),
                version.stage.value,
                f"{version.created_at:%Y-%m-%d %H:%M}",
                version.tags.get("beats_baseline", ""),
                version.tags.get("data_window", ""),
            )
        console.print(table)


@app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="Model, e.g. SPX-volatility-1d")],
    version: Annotated[int, typer.Argument(help="Version number")],
) -> None:
    """Make a version production (refused unless it beat its baseline out of sample)."""
    with handle_errors(), open_runtime() as runtime:
        promoted = runtime.ml.promote(name, version)
        console.print(f"{promoted.name} v{promoted.version} is now {promoted.stage.value}")
