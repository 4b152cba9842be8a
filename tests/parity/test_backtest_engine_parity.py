"""The vectorised engine against the event-driven engine on the real S&P 500 and NASDAQ.

Reference: ``run_backtest`` (SimulatedBroker, Context.order_target_percent, the built-in
strategies) on ``arch.data.sp500``/``arch.data.nasdaq`` daily OHLCV 1999-2018. Every case must
give identical fills (time, side, quantity, price, fee, slippage), orders (final states and
rejection reasons), round trips and equity at every bar; metrics agree to float rounding.
"""

from __future__ import annotations

import math
from typing import Any

import arch.data.nasdaq
import arch.data.sp500
import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest import BacktestResult, Context, Strategy, make_strategy, run_backtest
from quantdesk.backtest.vectorized import VectorizedResult, run_signals, run_strategy
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    FixedBpsSlippage,
    MarketFill,
    PercentFee,
    PerShareFee,
)

COSTS = ExecutionConfig(PercentFee(0.001, minimum=5.0), FixedBpsSlippage(5))
SAME_CLOSE = ExecutionConfig(
    PercentFee(0.001, minimum=5.0),
    FixedBpsSlippage(5),
    market_fill=MarketFill.SAME_CLOSE_OPTIMISTIC,
)
# ~50 shares of ~1e9 daily volume: orders of ~80 shares fill over two or three opens
CAPPED = ExecutionConfig(PerShareFee(0.005, minimum=1.0), FixedBpsSlippage(2), participation=5e-8)

STRATEGIES: dict[str, dict[str, Any]] = {
    "sma_cross": {"fast": 20, "slow": 50},
    "ema_cross": {"fast": 12, "slow": 26},
    "rsi_reversion": {"period": 14, "lower": 30.0, "upper": 70.0},
    "bollinger_breakout": {"period": 20, "nbdev": 2.0},
    "donchian_trend": {"period": 20},
}
CONFIGS: dict[str, tuple[ExecutionConfig, float]] = {
    "costs": (COSTS, 0.95),
    "same_close": (SAME_CLOSE, 0.95),
    "all_in": (COSTS, 1.0),  # gaps up past the close reject fills
    "volume_capped": (CAPPED, 0.95),
}


def _utc(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    return frame


@pytest.fixture(scope="module")
def spx() -> pd.DataFrame:
    return _utc(arch.data.sp500.load())


@pytest.fixture(scope="module")
def ndx() -> pd.DataFrame:
    return _utc(arch.data.nasdaq.load())


def assert_same_run(vector: BacktestResult, event: BacktestResult) -> None:
    """Assert two single-symbol results are identical (metrics to float rounding)."""
    assert len(event.fills) > 10
    pd.testing.assert_frame_equal(vector.fills, event.fills, check_exact=True)
    pd.testing.assert_frame_equal(vector.orders, event.orders, check_exact=True)
    pd.testing.assert_frame_equal(vector.trades, event.trades, check_exact=True)
    pd.testing.assert_series_equal(vector.equity, event.equity, check_exact=True)
    pd.testing.assert_series_equal(vector.cash, event.cash, check_exact=True)
    pd.testing.assert_frame_equal(vector.positions, event.positions, check_exact=True)
    for name, expected in event.metrics.to_dict().items():
        got = getattr(vector.metrics, name)
        if expected is None or (isinstance(expected, float) and math.isnan(expected)):
            assert got is expected or math.isnan(got), name
        else:
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), name


def assert_matches_column(vectorized: VectorizedResult, column: Any, event: BacktestResult) -> None:
    """Assert the grid run itself (not a re-run) holds the event run's fills and equity."""
    position = vectorized.column_position(column)
    equity = vectorized.equity.iloc[:, position].to_numpy()
    np.testing.assert_array_equal(equity, event.equity.to_numpy())
    mine = vectorized.fill_records["column"] == position
    fills = vectorized.fills[mine].reset_index(drop=True)
    expected = event.fills[["ts", "side", "quantity", "price", "fee", "slippage"]]
    pd.testing.assert_frame_equal(fills[expected.columns], expected, check_exact=True)
    row = vectorized.metrics.iloc[position]
    metrics = event.metrics
    assert row["trades"] == metrics.trades
    assert row["fees"] == pytest.approx(metrics.fees, rel=1e-12)
    for name in ("total_return", "annual_return", "sharpe", "max_drawdown", "win_rate"):
        assert row[name] == pytest.approx(getattr(metrics, name), rel=1e-9), name
    assert row["profit_factor"] == pytest.approx(metrics.profit_factor, rel=1e-9)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_built_in_strategy_matches_the_event_engine(
    spx: pd.DataFrame, name: str, config: str
) -> None:
    execution, weight = CONFIGS[config]
    params = {**STRATEGIES[name], "weight": weight}
    event = run_backtest(make_strategy(name, **params), {"SPX": spx}, execution=execution)
    vectorized = run_strategy(name, {"SPX": spx}, [params], execution=execution)
    column = vectorized.columns[0]
    assert_same_run(vectorized.result(column), event)
    assert_matches_column(vectorized, column, event)


def test_the_cases_exercise_rejections_and_partial_fills(spx: pd.DataFrame) -> None:
    all_in = run_strategy("sma_cross", {"SPX": spx}, [{"fast": 20, "slow": 50, "weight": 1.0}])
    assert (all_in.orders["status"] == "rejected").sum() >= 1
    capped = run_strategy("donchian_trend", {"SPX": spx}, execution=CAPPED)
    per_order = capped.fills.groupby("order_id").size()
    assert (per_order > 1).sum() > 10


def test_parameter_grid_on_two_symbols_equals_separate_event_runs(
    spx: pd.DataFrame, ndx: pd.DataFrame
) -> None:
    bars = {"SPX": spx, "NDX": ndx}
    grid = {"fast": [10, 20], "slow": [50, 100]}
    vectorized = run_strategy("sma_cross", bars, grid, execution=COSTS)
    assert len(vectorized.columns) == 8
    for symbol, fast, slow in (("SPX", 10, 50), ("NDX", 20, 100), ("NDX", 10, 100)):
        strategy = make_strategy("sma_cross", fast=fast, slow=slow)
        event = run_backtest(strategy, {symbol: bars[symbol]}, execution=COSTS)
        assert_matches_column(vectorized, (symbol, fast, slow, 0.95), event)


def test_bollinger_grid_equals_separate_event_runs(ndx: pd.DataFrame) -> None:
    grid = [{"period": 10, "nbdev": 1.5}, {"period": 30, "nbdev": 2.5}]
    vectorized = run_strategy("bollinger_breakout", {"NDX": ndx}, grid, execution=SAME_CLOSE)
    for params in grid:
        strategy = make_strategy("bollinger_breakout", **params)
        event = run_backtest(strategy, {"NDX": ndx}, execution=SAME_CLOSE)
        column = ("NDX", params["period"], params["nbdev"], 0.95)
        assert_matches_column(vectorized, column, event)


class SignalStrategy(Strategy):
    """Act on precomputed signals with the documented rules (the reference for run_signals)."""

    name = "signals"

    def __init__(
        self,
        signals: dict[str, np.ndarray],
        size: float,
        size_type: str,
        retarget: bool,
    ) -> None:
        self.signals = signals
        self.size = size
        self.size_type = size_type
        self.retarget = retarget

    def on_bar(self, ctx: Context) -> None:
        symbol = ctx.symbol
        t = ctx.bars_seen(symbol) - 1
        held = ctx.position(symbol) + ctx.pending_quantity(symbol)
        s, any_state = self.signals, self.retarget
        if s["entries"][t] and (any_state or held == 0):
            weight = self.size
        elif s["exits"][t] and (any_state or held > 0):
            weight = 0.0
        elif s["short_entries"][t] and (any_state or held == 0):
            weight = -self.size
        elif s["short_exits"][t] and (any_state or held < 0):
            weight = 0.0
        else:
            return
        if self.size_type == "target_percent":
            ctx.order_target_percent(symbol, weight)
            return
        close = float(ctx.bar.close)
        target = weight if self.size_type == "shares" else math.trunc(weight / close)
        delta = target - ctx.position(symbol) - ctx.pending_quantity(symbol)
        if abs(delta) >= 1e-9:
            ctx.order(symbol, "buy" if delta > 0 else "sell", abs(delta))


SIGNAL_CASES = {
    "levered_long_short": ("target_percent", 1.5, False, COSTS, 2.0),
    "retarget_same_close": ("target_percent", 0.8, True, SAME_CLOSE, 1.0),
    "shares": ("shares", 60.0, False, CAPPED, 1.0),
    "value": ("value", 40_000.0, True, COSTS, 1.0),
}


@pytest.mark.parametrize("case", list(SIGNAL_CASES))
def test_long_short_signals_match_the_event_engine(spx: pd.DataFrame, case: str) -> None:
    size_type, size, retarget, execution, leverage = SIGNAL_CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    n = len(spx)
    signals = {
        name: rng.random(n) < rate
        for name, rate in (
            ("entries", 0.02),
            ("exits", 0.02),
            ("short_entries", 0.02),
            ("short_exits", 0.02),
        )
    }
    account = AccountConfig(100_000.0, max_leverage=leverage, borrow_rate=0.03)
    strategy = SignalStrategy(signals, size, size_type, retarget)
    event = run_backtest(strategy, {"SPX": spx}, execution=execution, account=account)
    vectorized = run_signals(
        spx["Close"],
        signals["entries"],
        signals["exits"],
        open=spx["Open"],
        high=spx["High"],
        low=spx["Low"],
        volume=spx["Volume"],
        short_entries=signals["short_entries"],
        short_exits=signals["short_exits"],
        size=size,
        size_type=size_type,
        retarget=retarget,
        execution=execution,
        account=account,
        symbols=["SPX"],
    )
    assert (event.fills["side"] == "sell").sum() > 10
    assert (event.positions["SPX"] < 0).any()
    assert_same_run(vectorized.result(0), event)
    assert_matches_column(vectorized, 0, event)
