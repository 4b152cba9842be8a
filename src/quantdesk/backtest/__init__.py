"""Backtesting: the event-driven engine, the strategy interface, built-ins and results.

from quantdesk.backtest import make_strategy, run_backtest
result = run_backtest(make_strategy("sma_cross", fast=20, slow=50), {"SPX": frame})
result.metrics.sharpe, result.trades, result.daily_equity
"""

from __future__ import annotations

from quantdesk.backtest.event import BarsInput, bars_from_frame, run_backtest
from quantdesk.backtest.results import BacktestMetrics, BacktestResult, round_trips
from quantdesk.backtest.strategies import (
    BollingerBreakout,
    BollingerBreakoutParams,
    CrossParams,
    DonchianTrend,
    DonchianTrendParams,
    EmaCross,
    FixedWeightRebalance,
    FixedWeightRebalanceParams,
    RsiReversion,
    RsiReversionParams,
    SmaCross,
    StrategySpec,
    make_strategy,
    strategy_names,
    strategy_spec,
)
from quantdesk.backtest.strategy import FIELDS, Context, Strategy

__all__ = [
    "FIELDS",
    "BacktestMetrics",
    "BacktestResult",
    "BarsInput",
    "BollingerBreakout",
    "BollingerBreakoutParams",
    "Context",
    "CrossParams",
    "DonchianTrend",
    "DonchianTrendParams",
    "EmaCross",
    "FixedWeightRebalance",
    "FixedWeightRebalanceParams",
    "RsiReversion",
    "RsiReversionParams",
    "SmaCross",
    "Strategy",
    "StrategySpec",
    "bars_from_frame",
    "make_strategy",
    "round_trips",
    "run_backtest",
    "strategy_names",
    "strategy_spec",
]
