"""The event-driven backtest engine: bars in time order through one simulated broker.

For every bar (all symbols merged by time, ties broken by symbol):

1. the broker matches the working orders against the bar (orders placed on earlier bars fill
   at this bar's open, limits and stops inside its range, with the shared fee and slippage
   models) and marks the account at the close;
2. the bar enters the context's history and the symbol's streaming indicators advance;
3. :meth:`Strategy.on_fill` runs for each fill of step 1, then :meth:`Strategy.on_bar`.

After the last bar of each timestamp the account's equity and positions are recorded. Orders
placed in a hook are stamped with the current bar's time, and the broker fills an order only on
bars strictly after that time, so a decision made at ``t`` can trade at ``t + 1`` at the
earliest. The context's history is written one bar at a time, so nothing after the current bar
is reachable from a strategy: there is no lookahead by construction.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.results import BacktestResult, build_result
from quantdesk.backtest.strategy import Context, Strategy
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Bar, Interval
from quantdesk.domain.orders import Fill
from quantdesk.execution.sim import AccountConfig, ExecutionConfig, SimulatedBroker

__all__ = ["BarsInput", "bars_from_frame", "run_backtest"]

BarsInput = Any
"""A pandas or polars frame of OHLCV bars, or a sequence of :class:`Bar`."""

_TS_COLUMNS = ("ts", "timestamp", "date", "datetime", "time")


def bars_from_frame(symbol: str, data: BarsInput, interval: Interval | str = "1d") -> list[Bar]:
    """Return the bars of one symbol from a frame or a sequence of bars, sorted by time.

    Frames need a ``close`` column (any case); ``open``/``high``/``low``/``volume`` are
    optional. Time comes from a ``ts``/``timestamp``/``date``/``datetime`` column or the pandas
    index; naive times are taken as UTC.

    Raises
    ------
    ValidationError
        For a missing close or time column, an empty frame, a bad row or duplicate times.
    """
    sym = normalize_symbol(symbol)
    location = f"bars[{sym}]"
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        bars = list(data)
        for i, bar in enumerate(bars):
            if not isinstance(bar, Bar):
                raise ValidationError(
                    "invalid bars", [Issue(location, "expected Bar objects", row=i)]
                )
            if bar.symbol != sym:
                raise ValidationError(
                    "invalid bars",
                    [Issue(location, f"bar symbol {bar.symbol!r} differs", "symbol", row=i)],
                )
    else:
        bars = _frame_bars(sym, _to_pandas(data, location), Interval.parse(interval), location)
    if not bars:
        raise ValidationError("invalid bars", [Issue(location, "no bars were given")])
    bars.sort(key=lambda b: b.ts)
    for i in range(1, len(bars)):
        if bars[i].ts == bars[i - 1].ts:
            raise ValidationError(
                "invalid bars",
                [Issue(location, f"duplicate bar time {bars[i].ts.isoformat()}", "ts", row=i)],
            )
    return bars


def _to_pandas(data: Any, location: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)
    if callable(to_pandas):
        frame = to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise ValidationError(
        "invalid bars",
        [Issue(location, f"expected a pandas/polars frame or Bars, got {type(data).__name__}")],
    )


def _frame_bars(symbol: str, frame: pd.DataFrame, interval: Interval, location: str) -> list[Bar]:
    lower = {str(c).lower(): c for c in frame.columns}
    if "close" not in lower:
        raise ValidationError("invalid bars", [Issue(location, "needs a close column", "close")])
    ts_col = next((lower[name] for name in _TS_COLUMNS if name in lower), None)
    raw_ts = frame[ts_col] if ts_col is not None else frame.index
    if not (isinstance(raw_ts, pd.DatetimeIndex) or ts_col is not None):
        raise ValidationError(
            "invalid bars",
            [Issue(location, "needs a DatetimeIndex or a ts/timestamp/date column", "ts")],
        )
    stamps = pd.DatetimeIndex(pd.to_datetime(raw_ts))
    stamps = stamps.tz_localize(UTC) if stamps.tz is None else stamps.tz_convert(UTC)

    def column(name: str) -> np.ndarray[Any, np.dtype[np.float64]] | None:
        key = lower.get(name)
        return None if key is None else frame[key].to_numpy(dtype=np.float64)

    close = column("close")
    assert close is not None
    opens, highs, lows, volumes = column("open"), column("high"), column("low"), column("volume")
    has_ohl = opens is not None and highs is not None and lows is not None
    bars: list[Bar] = []
    for i, ts in enumerate(stamps.to_pydatetime()):
        try:
            bars.append(
                Bar(
                    symbol,
                    interval,
                    ts,
                    float(opens[i]) if has_ohl and opens is not None else None,
                    float(highs[i]) if has_ohl and highs is not None else None,
                    float(lows[i]) if has_ohl and lows is not None else None,
                    float(close[i]),
                    None if volumes is None or math.isnan(volumes[i]) else float(volumes[i]),
                )
            )
        except (ValueError, ValidationError) as error:
            raise ValidationError("invalid bars", [Issue(location, str(error), row=i)]) from None
    return bars


def run_backtest(
    strategy: Strategy,
    bars: Mapping[str, BarsInput],
    *,
    cash: float = 100_000.0,
    execution: ExecutionConfig | None = None,
    account: AccountConfig | None = None,
    benchmark: pd.Series | None = None,
    interval: Interval | str = "1d",
    periods_per_year: float = 252,
    risk_free: float = 0.0,
) -> BacktestResult:
    """Run ``strategy`` over ``bars`` through the simulated broker and return the result.

    Parameters
    ----------
    strategy
        The strategy (see :class:`Strategy`); its hooks run in the order described in the
        module docstring.
    bars
        Bars per symbol: pandas/polars frames (see :func:`bars_from_frame`) or lists of Bar.
    cash
        Initial cash (ignored when ``account`` is given).
    execution
        Fee, slippage and fill-timing models (default: no costs, market orders at next open).
    account
        Full account configuration (leverage, shorting, borrow); default: ``cash``, no leverage.
    benchmark
        Benchmark closes indexed by time; adds alpha, beta, tracking error and information
        ratio on daily returns.
    interval
        Interval label of frame rows.
    periods_per_year, risk_free
        Annualisation of the daily metrics and the annual risk-free rate (Sharpe, alpha).

    Returns
    -------
    BacktestResult

    Raises
    ------
    ValidationError
        For empty or invalid bars, a bad cash amount or a bad benchmark.
    """
    if not bars:
        raise ValidationError("no bars", [Issue("bars", "give at least one symbol's bars")])
    config = account or AccountConfig(initial_cash=cash)
    series: dict[str, list[Bar]] = {}
    for symbol, data in bars.items():
        sym = normalize_symbol(symbol)
        if sym in series:
            raise ValidationError("invalid bars", [Issue("bars", f"{sym!r} given twice")])
        series[sym] = bars_from_frame(sym, data, interval)
    broker = SimulatedBroker(config, execution or ExecutionConfig())
    ctx = Context(broker, {symbol: len(items) for symbol, items in series.items()})
    # stable merge of per-symbol streams given in symbol order: ties at one time go by symbol
    merged = heapq.merge(*(series[symbol] for symbol in sorted(series)), key=_bar_key)
    fills: list[Fill] = []
    stamps: list[datetime] = []
    equity: list[float] = []
    cash_values: list[float] = []
    positions: list[dict[str, float]] = []
    gross: list[float] = []

    def collect() -> None:
        for report in ctx._take_reports():
            fills.extend(report.fills)

    strategy.on_start(ctx)
    collect()
    pending: datetime | None = None
    for bar in merged:
        ts = bar.ts
        if pending is not None and ts != pending:
            _record(broker, pending, stamps, equity, cash_values, positions, gross)
        pending = ts
        report = broker.process_bar(bar)
        fills.extend(report.fills)
        ctx._advance(bar)
        for fill in report.fills:
            strategy.on_fill(ctx, fill)
            collect()
        strategy.on_bar(ctx)
        collect()
    if pending is not None:
        _record(broker, pending, stamps, equity, cash_values, positions, gross)
    strategy.on_stop(ctx)
    collect()
    return build_result(
        strategy=strategy.label,
        initial_cash=config.initial_cash,
        symbols=tuple(sorted(series)),
        stamps=stamps,
        equity=equity,
        cash=cash_values,
        positions=positions,
        gross=gross,
        fills=fills,
        orders=list(ctx.orders),
        order_times=list(ctx._order_ts),
        final_states=[broker.order_state(order.id) for order in ctx.orders],
        log=list(ctx.log),
        benchmark=benchmark,
        periods_per_year=periods_per_year,
        risk_free=risk_free,
    )


def _bar_key(bar: Bar) -> tuple[datetime, str]:
    return bar.ts, bar.symbol


def _record(
    broker: SimulatedBroker,
    ts: datetime,
    stamps: list[datetime],
    equity: list[float],
    cash: list[float],
    positions: list[dict[str, float]],
    gross: list[float],
) -> None:
    account = broker.account
    stamps.append(ts)
    equity.append(account.equity())
    cash.append(account.cash)
    gross.append(account.gross_exposure())
    positions.append({s: p.quantity for s, p in account.positions().items()})
