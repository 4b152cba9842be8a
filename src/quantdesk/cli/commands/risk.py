"""``quantdesk risk``: metrics and VaR, stress tests, Monte Carlo value paths, sizing."""

from __future__ import annotations

from typing import Annotated, get_args

import typer
from rich.table import Table

from quantdesk.cli.console import (
    console,
    fmt_money,
    fmt_num,
    fmt_pct,
    handle_errors,
    parse_date,
)
from quantdesk.cli.context import open_runtime
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.risk.service import SizingMethod, VaRMethod

app = typer.Typer(help="Risk analytics on stored history.", no_args_is_help=True)

WeightsOption = Annotated[
    str, typer.Argument(help='Symbol=weight pairs, e.g. "AAPL=0.4,JPM=0.35,XOM=0.25"')
]


def parse_weights(text: str) -> dict[str, float]:
    """Parse ``"AAPL=0.4,JPM=0.6"`` into a mapping, naming the bad pair."""
    weights: dict[str, float] = {}
    for index, pair in enumerate(p for p in text.split(",") if p.strip()):
        symbol, sep, value = pair.partition("=")
        try:
            if not sep or not symbol.strip():
                raise ValueError
            weights[symbol.strip().upper()] = float(value)
        except ValueError:
            raise ValidationError(
                "invalid weights",
                [Issue(f"weights[{index}]", f"'{pair.strip()}' is not SYMBOL=WEIGHT", "weights")],
            ) from None
    if not weights:
        raise ValidationError("invalid weights", [Issue("weights", "give SYMBOL=WEIGHT pairs")])
    return weights


@app.command("calculate")
def calculate(
    weights: WeightsOption,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark symbol, e.g. SPX")] = None,
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="Last date, YYYY-MM-DD")] = None,
    lookback: Annotated[int, typer.Option(help="Trading days of history (0: all)")] = 756,
    confidence: Annotated[float, typer.Option(help="VaR confidence, e.g. 0.95")] = 0.95,
    horizon: Annotated[int, typer.Option(help="Horizon in trading days")] = 1,
    method: Annotated[
        list[str] | None, typer.Option(help=f"VaR methods: {', '.join(get_args(VaRMethod))}")
    ] = None,
    value: Annotated[float | None, typer.Option(help="Portfolio value, for amounts")] = None,
) -> None:
    """Risk metrics, VaR/CVaR by method and component VaR of a set of weights."""
    with handle_errors(), open_runtime() as runtime:
        methods = method or ["historical", "parametric", "cornish_fisher"]
        unknown = [m for m in methods if m not in get_args(VaRMethod)]
        if unknown:
            raise ValidationError(
                "unknown VaR method",
                [Issue("--method", f"{', '.join(unknown)}; use {', '.join(get_args(VaRMethod))}")],
            )
        report = runtime.risk.calculate(
            parse_weights(weights),
            benchmark=benchmark,
            start=parse_date(start, "--start"),
            end=parse_date(end, "--end"),
            lookback_days=lookback or None,
            confidence=confidence,
            horizon=horizon,
            methods=methods,  # type: ignore[arg-type]
            portfolio_value=value,
        )
        title = f"{', '.join(report.symbols)}: {report.start} → {report.end}"
        if report.synthetic:
            title += f" [yellow](SYNTHETIC DATA: {', '.join(report.synthetic)})[/yellow]"
        metrics = Table("metric", "value", title=title, title_justify="left")
        for name, metric in report.metrics.to_dict().items():
            if metric is not None:
                metrics.add_row(name, fmt_num(metric))
        console.print(metrics)
        var = Table("method", "VaR", "CVaR", "VaR amount", "CVaR amount", "scaling")
        for result in report.var:
            var.add_row(
                result.method,
                fmt_pct(result.var),
                fmt_pct(result.cvar),
                fmt_money(result.var_amount),
                fmt_money(result.cvar_amount),
                result.scaling,
            )
        console.print(var)
        if report.components is not None:
            parts = Table("symbol", "weight", "component VaR", "marginal VaR")
            c = report.components
            for i, symbol in enumerate(c.symbols):
                parts.add_row(
                    symbol,
                    fmt_num(float(c.weights[i])),
                    fmt_pct(float(c.component_var[i])),
                    fmt_num(float(c.marginal_var[i])),
                )
            console.print(parts)


@app.command("stress")
def stress(
    weights: WeightsOption,
    shock: Annotated[
        list[str] | None,
        typer.Option(help='User shock KEY=RETURN, e.g. "asset_class:equity=-0.2" (repeatable)'),
    ] = None,
    value: Annotated[float | None, typer.Option(help="Portfolio value, for amounts")] = None,
) -> None:
    """Replay 2000–02, 2008 and 2020 on the weights, and apply user shocks."""
    with handle_errors(), open_runtime() as runtime:
        shocks = {}
        for item in shock or []:
            key, _, amount = item.rpartition("=")
            try:
                shocks[key] = float(amount)
            except ValueError:
                raise ValidationError(
                    "invalid shock", [Issue("--shock", f"'{item}' is not KEY=RETURN")]
                ) from None
        report = runtime.risk.stress(
            parse_weights(weights), shocks=shocks or None, portfolio_value=value
        )
        table = Table("scenario", "window", "return", "P&L", "max drawdown", "not covered")
        results = [*report.historical, *([report.shocks] if report.shocks else [])]
        for result in results:
            window = f"{result.start} → {result.end}" if result.start else ""
            table.add_row(
                result.scenario,
                window,
                fmt_pct(result.portfolio_return),
                fmt_money(result.pnl_amount),
                fmt_pct(result.max_drawdown),
                ", ".join(result.not_covered),
            )
        console.print(table)


@app.command("monte-carlo")
def monte_carlo(
    initial: Annotated[float, typer.Option(help="Value today")],
    periods: Annotated[int, typer.Option(help="Periods to simulate (e.g. months)")],
    expected_return: Annotated[
        float | None, typer.Option(help="Expected return per period (GBM)")
    ] = None,
    volatility: Annotated[float | None, typer.Option(help="Volatility per period (GBM)")] = None,
    weights: Annotated[
        str | None, typer.Option(help="Bootstrap these weights' daily history instead")
    ] = None,
    contribution: Annotated[float, typer.Option(help="Added (negative: withdrawn) per period")] = 0,
    goal: Annotated[float | None, typer.Option(help="Target value")] = None,
    floor: Annotated[float | None, typer.Option(help="Value not to fall below")] = None,
    paths: Annotated[int, typer.Option(help="Simulated paths")] = 10_000,
) -> None:
    """Simulate future value: percentile bands and goal/floor probabilities."""
    with handle_errors(), open_runtime() as runtime:
        simulation = runtime.risk.simulate(
            initial_value=initial,
            periods=periods,
            expected_return=expected_return,
            volatility=volatility,
            weights=parse_weights(weights) if weights else None,
            contribution=contribution,
            goal=goal,
            floor=floor,
            n_paths=paths,
        )
        table = Table("period", *simulation.bands.columns, title=f"{simulation.method} paths")
        step = max(1, periods // 12)
        for row in range(0, periods + 1, step):
            table.add_row(str(row), *(f"{v:,.0f}" for v in simulation.bands.iloc[row]))
        console.print(table)
        if goal is not None:
            console.print(f"P(goal at end) = {fmt_pct(simulation.probability_goal_at_end)}")
        if floor is not None:
            below = fmt_pct(simulation.probability_below_floor_any_time)
            console.print(f"P(below floor at any time) = {below}")


@app.command("size")
def size(
    method: Annotated[str, typer.Argument(help=", ".join(get_args(SizingMethod)))],
    equity: Annotated[float | None, typer.Option(help="Account equity")] = None,
    entry: Annotated[float | None, typer.Option(help="Entry price")] = None,
    stop: Annotated[float | None, typer.Option(help="Stop price")] = None,
    risk: Annotated[float, typer.Option(help="Fraction of equity to risk")] = 0.01,
    symbol: Annotated[str | None, typer.Option(help="Symbol (ATR, Kelly, vol target)")] = None,
    symbols: Annotated[str | None, typer.Option(help="Comma list (risk parity)")] = None,
    target_vol: Annotated[float, typer.Option(help="Target annual volatility")] = 0.10,
) -> None:
    """Position sizing: fixed_fractional, atr, kelly, volatility_target, risk_parity."""
    with handle_errors(), open_runtime() as runtime:
        if method not in get_args(SizingMethod):
            raise ValidationError(
                "unknown sizing method",
                [Issue("method", f"'{method}'; use {', '.join(get_args(SizingMethod))}")],
            )
        result = runtime.risk.position_size(
            method,  # type: ignore[arg-type]
            equity=equity,
            entry_price=entry,
            stop_price=stop,
            risk_fraction=risk,
            symbol=symbol,
            symbols=[s.strip() for s in symbols.split(",")] if symbols else None,
            target_volatility=target_vol,
        )
        table = Table("field", "value", title=method)
        if result.position is not None:
            for name in ("quantity", "notional", "risk_amount", "stop_price"):
                table.add_row(name, fmt_num(float(getattr(result.position, name))))
        if result.fraction is not None:
            table.add_row("kelly fraction", fmt_num(result.fraction))
        if result.volatility_target is not None:
            table.add_row("exposure scale", fmt_num(result.volatility_target.scale))
        if result.risk_parity is not None:
            for label, weight in zip(result.symbols, result.risk_parity.weights, strict=True):
                table.add_row(label, fmt_pct(float(weight)))
        console.print(table)
