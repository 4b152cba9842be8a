"""Backtesting: engines, the strategy interface, built-ins, specs, results and artifacts.

from quantdesk.backtest import make_strategy, run_backtest
result = run_backtest(make_strategy("sma_cross", fast=20, slow=50), {"SPX": frame})
result.metrics.sharpe, result.trades, result.daily_equity

grid = run_strategy("sma_cross", {"SPX": frame}, {"fast": [10, 20], "slow": [50, 100]})
grid.metrics                                 # vectorised: one row per symbol x parameter set

The HTML tear sheet is :mod:`quantdesk.backtest.report` (it imports matplotlib, so it is not
loaded with the package); the service over stored data is :mod:`quantdesk.backtest.service`.
"""

from __future__ import annotations

from quantdesk.backtest.artifacts import load_result, load_spec, save_result
from quantdesk.backtest.event import BarsInput, ProgressCallback, bars_from_frame, run_backtest
from quantdesk.backtest.results import BacktestMetrics, BacktestResult, round_trips
from quantdesk.backtest.spec import BacktestSpec, FeeSpec, SlippageSpec
from quantdesk.backtest.strategies import (
    BollingerBreakout,
    BollingerBreakoutParams,
    CrossParams,
    DonchianTrend,
    DonchianTrendParams,
    EmaCross,
    ExpressionParams,
    ExpressionStrategy,
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
from quantdesk.backtest.vectorized import (
    METRIC_COLUMNS,
    VECTORIZED_STRATEGIES,
    SizeType,
    StrategySignals,
    VectorizedResult,
    run_signals,
    run_strategy,
    strategy_signals,
)

__all__ = [
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
    "ProgressCallback",
    "RsiReversion",
    "RsiReversionParams",
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
