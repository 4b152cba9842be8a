"""Backtest results: fills, orders, round-trip trades, equity, positions and metrics.

Definitions
-----------
- The equity curve is the account's equity after the last bar of each timestamp; the *daily*
  curve keeps the last value of each UTC date. Daily returns start from the initial cash, so a
  loss on the first day counts.
- Return and risk metrics (annual return = CAGR, volatility, Sharpe, Sortino, Calmar, max
  drawdown and its duration in days) are :func:`quantdesk.risk.summary` of the daily returns
  with ``periods_per_year`` (default 252); see :mod:`quantdesk.risk.metrics` for formulas.
- A *trade* is a round trip per symbol: it opens when the position leaves zero and closes when
  it returns to zero (a fill that flips the position closes one trade and opens the next with
  the rest). Its P&L is the cash it made, fees included (fees of a flipping fill are split
  pro rata). Trades still open at the end are listed with ``exit_ts`` empty and excluded from
  win rate, profit factor and average win/loss.
- win rate: closed trades with P&L > 0 over closed trades; profit factor: sum of winning P&L
  over the absolute sum of losing P&L (``inf`` without losses); NaN without closed trades.
- exposure: mean over timestamps of gross exposure / equity; time in market: share of
  timestamps with any position.
- turnover: traded notional over the mean equity, per year (``sum |qty * price| / mean equity
  / years``, years = daily observations / ``periods_per_year``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.orders import Fill, Order, OrderUpdate
from quantdesk.risk.metrics import RiskMetrics, summary

__all__ = [
    "BacktestMetrics",
    "BacktestResult",
    "benchmark_returns",
    "build_result",
    "round_trips",
]


@dataclass(frozen=True, slots=True)
class BacktestMetrics:
    """Headline numbers of one backtest (definitions in the module docstring)."""

    total_return: float
    annual_return: float
    volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_duration: int
    trades: int
    win_rate: float
    profit_factor: float
    average_win: float
    average_loss: float
    exposure: float
    time_in_market: float
    turnover: float
    fees: float
    benchmark_total_return: float | None = None
    benchmark_annual_return: float | None = None
    alpha: float | None = None
    beta: float | None = None
    information_ratio: float | None = None
    tracking_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict``, in declaration order."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a backtest produced.

    ``equity`` (per bar timestamp) and ``daily_equity``/``returns`` (per UTC date, index of
    midnight UTC timestamps) are Series; ``positions`` has one column of quantities per symbol
    and a row per timestamp; ``fills``, ``orders`` and ``trades`` are frames (see
    :func:`round_trips`); ``risk`` is the full :class:`~quantdesk.risk.RiskMetrics`.
    """

    strategy: str
    initial_cash: float
    symbols: tuple[str, ...]
    equity: pd.Series
    daily_equity: pd.Series
    returns: pd.Series
    cash: pd.Series
    positions: pd.DataFrame
    fills: pd.DataFrame
    orders: pd.DataFrame
    trades: pd.DataFrame
    metrics: BacktestMetrics
    risk: RiskMetrics
    log: tuple[str, ...]

    @property
    def final_equity(self) -> float:
        """Return the equity after the last bar."""
        return float(self.equity.iloc[-1])


_TRADE_COLUMNS = [
    "symbol",
    "direction",
    "quantity",
    "entry_ts",
    "entry_price",
    "exit_ts",
    "exit_price",
    "pnl",
    "return",
    "fees",
]


@dataclass(slots=True)
class _Open:
    symbol: str
    sign: int
    entry_ts: datetime
    opened: float = 0.0
    entry_notional: float = 0.0
    closed: float = 0.0
    exit_notional: float = 0.0
    cash: float = 0.0
    fees: float = 0.0
    exit_ts: datetime | None = None


def round_trips(
    fills: Sequence[Fill], splits: Sequence[tuple[datetime, str, float]] = ()
) -> pd.DataFrame:
    """Return the round-trip trades of ``fills`` (definition in the module docstring).

    Columns: symbol, direction (``long``/``short``), quantity (largest size held), entry_ts,
    entry_price and exit_price (average fill prices), exit_ts (``NaT`` while open), pnl (cash
    made, fees included), return (pnl over the entry notional), fees.

    ``splits`` lists ``(time, symbol, ratio)`` share splits booked before the fills at or after
    ``time``: the position and an open trade's share counts are multiplied by ``ratio`` (its
    notional is unchanged), so a trade spanning a split keeps one round trip with prices in
    post-split terms for the quantities after it.
    """
    rows: list[tuple[Any, ...]] = []
    position: dict[str, float] = {}
    current: dict[str, _Open] = {}
    pending = sorted(splits, key=lambda item: item[0])
    next_split = 0
    for fill in fills:
        while next_split < len(pending) and pending[next_split][0] <= fill.ts:
            _, symbol, ratio = pending[next_split]
            next_split += 1
            position[symbol] = position.get(symbol, 0.0) * ratio
            open_trade = current.get(symbol)
            if open_trade is not None:
                open_trade.opened *= ratio
                open_trade.closed *= ratio
        qty = fill.signed_quantity
        before = position.get(fill.symbol, 0.0)
        remaining = qty
        fee_per_unit = fill.fee / fill.quantity
        trade = current.get(fill.symbol)
        if trade is not None and before * qty < 0:
            closing = min(abs(qty), abs(before)) * (1 if qty > 0 else -1)
            trade.closed += abs(closing)
            trade.exit_notional += abs(closing) * fill.price
            trade.cash += -closing * fill.price - abs(closing) * fee_per_unit
            trade.fees += abs(closing) * fee_per_unit
            trade.exit_ts = fill.ts
            remaining = qty - closing
            if abs(before + closing) < 1e-9:
                rows.append(_trade_row(trade, closed=True))
                del current[fill.symbol]
                trade = None
        if abs(remaining) > 1e-12:
            if trade is None:
                trade = _Open(fill.symbol, 1 if remaining > 0 else -1, fill.ts)
                current[fill.symbol] = trade
            trade.opened += abs(remaining)
            trade.entry_notional += abs(remaining) * fill.price
            trade.cash += -remaining * fill.price - abs(remaining) * fee_per_unit
            trade.fees += abs(remaining) * fee_per_unit
        position[fill.symbol] = before + qty
    for trade in current.values():
        rows.append(_trade_row(trade, closed=False))
    # A stable sort by (entry_ts, symbol), as a stable sort of the frame by those columns;
    # sorting the rows first leaves the frame its default index.
    rows.sort(key=lambda row: (row[3], row[0]))
    return pd.DataFrame(rows, columns=_TRADE_COLUMNS)


def _trade_row(trade: _Open, *, closed: bool) -> tuple[Any, ...]:
    # in the order of _TRADE_COLUMNS
    entry_price = trade.entry_notional / trade.opened
    exit_price = trade.exit_notional / trade.closed if trade.closed > 0 else math.nan
    pnl = trade.cash if closed else math.nan
    return (
        trade.symbol,
        "long" if trade.sign > 0 else "short",
        trade.opened,
        pd.Timestamp(trade.entry_ts),
        entry_price,
        pd.Timestamp(trade.exit_ts) if closed and trade.exit_ts else pd.NaT,
        exit_price if closed else math.nan,
        pnl,
        pnl / trade.entry_notional if closed else math.nan,
        trade.fees,
    )


# Frames are built from rows of tuples: pandas infers each column's dtype from its values
# exactly as it does for rows of dicts, with less work per row.


def _fills_frame(fills: Sequence[Fill]) -> pd.DataFrame:
    columns = ["order_id", "symbol", "ts", "side", "quantity", "price", "fee", "slippage"]
    rows = [
        (
            f.order_id,
            f.symbol,
            pd.Timestamp(f.ts),
            f.side.value,
            f.quantity,
            f.price,
            f.fee,
            f.slippage,
        )
        for f in fills
    ]
    return pd.DataFrame(rows, columns=columns)


def _orders_frame(
    orders: Sequence[Order], times: Sequence[datetime], states: Sequence[OrderUpdate]
) -> pd.DataFrame:
    columns = [
        "order_id",
        "symbol",
        "submitted",
        "side",
        "type",
        "quantity",
        "limit_price",
        "stop_price",
        "tif",
        "status",
        "filled_quantity",
        "average_price",
        "updated",
        "reason",
    ]
    rows = [
        (
            o.id,
            o.symbol,
            pd.Timestamp(ts),
            o.side.value,
            o.type.value,
            o.quantity,
            o.limit_price,
            o.stop_price,
            o.tif.value,
            s.status.value,
            s.filled_quantity,
            s.average_price,
            pd.Timestamp(s.ts),
            s.reason,
        )
        for o, ts, s in zip(orders, times, states, strict=True)
    ]
    return pd.DataFrame(rows, columns=columns)


def _daily(series: pd.Series) -> pd.Series:
    dates = pd.DatetimeIndex(series.index).normalize()
    values = series.to_numpy()
    if dates.is_monotonic_increasing and not np.isnan(values).any():
        # What the groupby below gives for sorted times without NaN: the last value of each
        # run of equal dates, indexed by ``dates`` itself (and its frequency) when every date
        # is distinct.
        last = np.flatnonzero(np.append(dates[1:] != dates[:-1], True))
        index = dates if len(last) == len(dates) else dates[last]
        daily = pd.Series(values[last], index=index, name=series.name)
    else:
        daily = series.groupby(dates).last()
    daily.index.name = "date"
    return daily


def benchmark_returns(benchmark: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Return the benchmark's returns between consecutive ``dates`` (the last close on or
    before each date; the first date has none).

    Raises
    ------
    ValidationError
        For a benchmark that is empty or not indexed by time.
    """
    if not isinstance(benchmark.index, pd.DatetimeIndex) or benchmark.empty:
        raise ValidationError(
            "invalid benchmark",
            [Issue("benchmark", "must be a non-empty Series of closes with a DatetimeIndex")],
        )
    index = benchmark.index
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    closes = pd.Series(benchmark.to_numpy(dtype=np.float64), index=index).sort_index()
    daily = closes.groupby(pd.DatetimeIndex(closes.index).normalize()).last().reindex(dates).ffill()
    if daily.isna().any() or (daily <= 0).any():
        raise ValidationError(
            "invalid benchmark",
            [Issue("benchmark", "needs a positive close on or before every backtest date")],
        )
    return daily.pct_change().iloc[1:]


def build_result(
    *,
    strategy: str,
    initial_cash: float,
    symbols: tuple[str, ...],
    stamps: Sequence[datetime] | pd.DatetimeIndex,
    equity: Sequence[float],
    cash: Sequence[float],
    positions: Sequence[Mapping[str, float]] | npt.NDArray[np.float64],
    gross: Sequence[float],
    fills: Sequence[Fill],
    orders: Sequence[Order],
    order_times: Sequence[datetime],
    final_states: Sequence[OrderUpdate],
    log: Sequence[str],
    benchmark: pd.Series | None,
    periods_per_year: float,
    risk_free: float,
    splits: Sequence[tuple[datetime, str, float]] = (),
) -> BacktestResult:
    """Assemble a :class:`BacktestResult` from the engine's records (used by the engines).

    ``stamps`` are the recorded times (Python datetimes, or an index of them); ``positions``
    per time either the quantities by symbol (symbols left out are flat) or a float array of
    ``len(stamps)`` rows and one column per symbol of ``symbols``; ``splits`` as in
    :func:`round_trips`.

    Raises
    ------
    ValueError
        For a positions array of another shape.
    ValidationError
        For fewer than two dates of records or a bad benchmark.
    """
    if isinstance(stamps, pd.DatetimeIndex) and stamps.freq is None:
        # an index of its elements would be the same: same unit and zone, no frequency
        index = stamps.rename("ts")
    else:
        index = pd.DatetimeIndex(list(stamps), name="ts")
    equity_s = pd.Series(list(equity), index=index, name="equity", dtype=np.float64)
    cash_s = pd.Series(list(cash), index=index, name="cash", dtype=np.float64)
    columns = list(symbols)
    if isinstance(positions, np.ndarray):
        if positions.shape != (len(index), len(columns)):
            raise ValueError(
                f"positions must have shape {(len(index), len(columns))}, got {positions.shape}"
            )
        pos = pd.DataFrame(positions, index=index, columns=columns, dtype=np.float64)
    else:
        pos = pd.DataFrame(list(positions), index=index, columns=columns, dtype=np.float64)
    pos = pos.fillna(0.0)
    daily = _daily(equity_s)
    # the percentage changes of the initial cash followed by the daily equity
    wealth = np.concatenate(([float(initial_cash)], daily.to_numpy(dtype=np.float64)))
    with np.errstate(divide="ignore", invalid="ignore"):
        changes = wealth[1:] / wealth[:-1] - 1
    returns = pd.Series(changes, index=daily.index, name="returns")
    if len(returns) < 2:
        raise ValidationError(
            "backtest too short",
            [Issue("bars", "metrics need at least two dates of bars", "ts")],
        )
    bench = (
        None if benchmark is None else benchmark_returns(benchmark, pd.DatetimeIndex(daily.index))
    )
    aligned = None
    if bench is not None:
        aligned = bench.reindex(returns.index)
    risk = summary(
        returns,
        None if aligned is None else aligned,
        periods_per_year=periods_per_year,
        risk_free=risk_free,
    )
    trades = round_trips(fills, splits)
    pnl = trades["pnl"].to_numpy(dtype=np.float64)[trades["exit_ts"].notna().to_numpy()]
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    count = len(pnl)
    loss_sum = float(-losses.sum())
    if count == 0:
        profit_factor = math.nan
    elif loss_sum == 0:
        profit_factor = math.inf
    else:
        profit_factor = float(wins.sum()) / loss_sum
    eq = equity_s.to_numpy()
    gross_arr = np.asarray(gross, dtype=np.float64)
    ratio = np.divide(gross_arr, eq, out=np.full_like(eq, np.nan), where=eq > 0)
    notional = sum(f.quantity * f.price for f in fills)
    years = len(returns) / periods_per_year
    bench_total = bench_annual = None
    if bench is not None and aligned is not None:
        growth = float(np.prod(1 + aligned.fillna(0.0).to_numpy(dtype=np.float64)))
        bench_total = growth - 1
        bench_annual = growth ** (periods_per_year / len(aligned)) - 1
    metrics = BacktestMetrics(
        total_return=float(eq[-1] / initial_cash - 1) if initial_cash > 0 else math.nan,
        annual_return=risk.cagr,
        volatility=risk.volatility,
        sharpe=risk.sharpe,
        sortino=risk.sortino,
        calmar=risk.calmar,
        max_drawdown=risk.max_drawdown,
        max_drawdown_duration=risk.max_drawdown_duration,
        trades=count,
        win_rate=len(wins) / count if count else math.nan,
        profit_factor=profit_factor,
        average_win=float(wins.mean()) if len(wins) else math.nan,
        average_loss=float(losses.mean()) if len(losses) else math.nan,
        exposure=float(np.nanmean(ratio)),
        time_in_market=float((np.abs(pos.to_numpy()).sum(axis=1) > 0).mean()),
        turnover=float(notional / eq.mean() / years) if eq.mean() > 0 else math.nan,
        fees=float(sum(f.fee for f in fills)),
        benchmark_total_return=bench_total,
        benchmark_annual_return=bench_annual,
        alpha=risk.alpha,
        beta=risk.beta,
        information_ratio=risk.information_ratio,
        tracking_error=risk.tracking_error,
    )
    return BacktestResult(
        strategy=strategy,
        initial_cash=initial_cash,
        symbols=symbols,
        equity=equity_s,
        daily_equity=daily,
        returns=returns,
        cash=cash_s,
        positions=pos,
        fills=_fills_frame(fills),
        orders=_orders_frame(orders, order_times, final_states),
        trades=trades,
        metrics=metrics,
        risk=risk,
        log=tuple(log),
    )
