"""The vectorised backtest engine: many symbols x parameter sets simulated in one numba pass.

    from quantdesk.backtest.vectorized import run_strategy, run_signals
    grid = {"fast": [10, 20], "slow": [50, 100]}
    result = run_strategy("sma_cross", {"SPX": frame}, grid)
    result.metrics                      # one row per (symbol, fast, slow, weight)
    result.result(("SPX", 10, 50, 0.95))   # one column as an event-engine BacktestResult

Every fill goes through the execution core's kernels, so a column reproduces the event-driven
engine's fills and equity exactly (see :mod:`.engine` for the timing rules).
"""

from __future__ import annotations

from quantdesk.backtest.vectorized.engine import SizeType, run_signals
from quantdesk.backtest.vectorized.result import METRIC_COLUMNS, VectorizedResult
from quantdesk.backtest.vectorized.signals import (
    VECTORIZED_STRATEGIES,
    StrategySignals,
    run_strategy,
    strategy_signals,
)

__all__ = [
    "METRIC_COLUMNS",
    "VECTORIZED_STRATEGIES",
    "SizeType",
    "StrategySignals",
    "VectorizedResult",
    "run_signals",
    "run_strategy",
    "strategy_signals",
]
