"""The event-driven backtest engine (bar by bar through the simulated broker)."""

from __future__ import annotations

from quantdesk.backtest.event.engine import (
    BarsInput,
    ProgressCallback,
    bars_from_frame,
    run_backtest,
)

__all__ = ["BarsInput", "ProgressCallback", "bars_from_frame", "run_backtest"]
