"""Public surface, multi-asset close-only data, late indicators, rejections, benchmark errors.

Real data: ``skfolio.datasets.load_sp500_dataset`` (adjusted closes, close-only bars) and
``arch.data.sp500``; indicator values from ``talib``. The small OHLC frame is synthetic.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest
import talib
from skfolio.datasets import load_sp500_dataset

import quantdesk.backtest as backtest
from quantdesk.backtest import Context, Strategy, make_strategy, run_backtest
from quantdesk.core.errors import ValidationError


def test_public_surface_is_pinned() -> None:
    assert sorted(backtest.__all__) == sorted(
        [
            "FIELDS",
            "METRIC_COLUMNS",
            "VECTORIZED_STRATEGIES",
            "BacktestMetrics",
            "BacktestResult",
            "BacktestSpec",
            "BarsInput",
            "BollingerBreakout",
            "BollingerBreakoutParams",
            "Context",
            "CrossParams",
            "DonchianTrend",
            "DonchianTrendParams",
            "EmaCross",
            "ExpressionParams",
            "ExpressionStrategy",
            "FeeSpec",
            "FixedWeightRebalance",
            "FixedWeightRebalanceParams",
            "RsiReversion",
            "RsiReversionParams",
            "ProgressCallback",
            "SizeType",
            "SlippageSpec",
            "SmaCross",
            "Strategy",
            "StrategySignals",
            "StrategySpec",
            "VectorizedResult",
            "bars_from_frame",
            "load_result",
            "load_spec",
            "make_strategy",
            "round_trips",
            "run_backtest",
            "run_signals",
            "run_strategy",
            "save_result",
            "strategy_names",
            "strategy_signals",
            "strategy_spec",
        ]
    )


def test_fixed_weights_on_two_real_stocks_with_close_only_bars() -> None:
    prices = load_sp500_dataset()[["AAPL", "JPM"]].loc["2015":"2016"]
    bars = {symbol: prices[[symbol]].rename(columns={symbol: "close"}) for symbol in prices}
    weights = {"AAPL": 0.3, "JPM": 0.6}
    strategy = make_strategy("fixed_weight_rebalance", weights=weights, every=21)
    result = run_backtest(strategy, bars, cash=1_000_000.0)
    fills = result.fills
    first = fills[fills["ts"] == fills["ts"].iloc[0]].set_index("symbol")
    # on day 1 equity is all cash: trunc(w * 1e6 / close on day 1) shares, filled at the next
    # bar's "open", which for close-only bars is its close
    for symbol, weight in weights.items():
        assert first.loc[symbol, "quantity"] == math.trunc(weight * 1e6 / prices[symbol].iloc[0])
        assert first.loc[symbol, "price"] == pytest.approx(prices[symbol].iloc[1])
    assert first.index.tolist() == ["AAPL", "JPM"]  # same time: symbol order
    # rebalances on bars 1, 22, 43, ... of each symbol: orders submitted on those dates
    submitted = sorted(set(result.orders["submitted"].dt.tz_convert(None)))
    assert submitted == list(prices.index[::21][: len(submitted)])
    held = result.positions.iloc[-1] * prices.iloc[-1]
    shares = (held / result.equity.iloc[-1]).to_numpy()
    np.testing.assert_allclose(shares, [0.3, 0.6], atol=0.05)


def test_indicator_requested_late_is_warmed_up_from_history() -> None:
    spx = arch.data.sp500.load().loc["2010"]
    seen: list[float] = []

    class Late(Strategy):
        def on_bar(self, ctx: Context) -> None:
            if ctx.bars_seen("SPX") >= 100:
                value = ctx.indicator("ema", timeperiod=30)
                assert isinstance(value, float)
                seen.append(value)

    run_backtest(Late(), {"SPX": spx})
    expected = talib.EMA(spx["Close"].to_numpy(), 30)[99:]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


def synthetic_frame(days: int = 6) -> pd.DataFrame:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    index = pd.DatetimeIndex([start + timedelta(days=i) for i in range(days)])
    closes = np.linspace(10.0, 12.0, days)
    return pd.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes}, index)


def test_an_order_beyond_buying_power_is_rejected_not_raised() -> None:
    class Greedy(Strategy):
        def on_bar(self, ctx: Context) -> None:
            if ctx.bars_seen("X") == 1:
                ctx.buy("X", 1_000)  # 1000 * 10 > cash 1000

    result = run_backtest(Greedy(), {"X": synthetic_frame()}, cash=1_000.0)
    assert result.orders["status"].tolist() == ["rejected"]
    assert result.orders["reason"].iloc[0]
    assert result.fills.empty
    assert (result.equity == 1_000.0).all()
    assert math.isnan(result.metrics.win_rate)


def test_bad_benchmark_and_too_short_runs_are_rejected() -> None:
    frame = synthetic_frame()
    late = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2030-01-01", "2030-01-02"]))
    with pytest.raises(ValidationError, match="benchmark"):
        run_backtest(Strategy(), {"X": frame}, benchmark=late)
    with pytest.raises(ValidationError, match="two dates"):
        run_backtest(Strategy(), {"X": frame.iloc[:1]})
