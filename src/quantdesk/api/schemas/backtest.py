"""Backtest wire models: the run request, run status with results, and the strategy catalogue."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from quantdesk.backtest.results import BacktestResult
from quantdesk.backtest.spec import BacktestSpec
from quantdesk.backtest.strategies import StrategySpec
from quantdesk.domain.backtests import BacktestRun, RunStatus

BacktestRequest = BacktestSpec
"""The request body is the spec itself (strategy, params, symbols, range, costs, capital)."""

MAX_TRADES = 1_000


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _time(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return pd.Timestamp(value).isoformat()


class EquityPoint(BaseModel):
    """Equity at the end of one UTC day."""

    date: date
    equity: float


class TradePublic(BaseModel):
    """One round trip (``exit_ts`` empty while the trade is still open)."""

    symbol: str
    direction: str
    quantity: float
    entry_ts: str
    entry_price: float
    exit_ts: str | None
    exit_price: float | None
    pnl: float | None
    return_: float | None = Field(alias="return", serialization_alias="return")
    fees: float


class BacktestResultPublic(BaseModel):
    """A finished run's results: daily equity, trades, order status counts and metrics."""

    final_equity: float
    daily_equity: list[EquityPoint]
    trades: list[TradePublic]
    trades_total: int
    trades_truncated: bool
    orders: dict[str, int]
    log: list[str]

    @classmethod
    def of(cls, result: BacktestResult) -> BacktestResultPublic:
        """Return the wire form of ``result`` (at most :data:`MAX_TRADES` trades)."""
        equity = [
            EquityPoint(date=ts.date(), equity=float(value))
            for ts, value in zip(
                pd.DatetimeIndex(result.daily_equity.index), result.daily_equity, strict=True
            )
        ]
        trades = [
            TradePublic.model_validate(
                {
                    "symbol": row["symbol"],
                    "direction": row["direction"],
                    "quantity": float(row["quantity"]),
                    "entry_ts": _time(row["entry_ts"]),
                    "entry_price": float(row["entry_price"]),
                    "exit_ts": _time(row["exit_ts"]),
                    "exit_price": _number(float(row["exit_price"])),
                    "pnl": _number(float(row["pnl"])),
                    "return": _number(float(row["return"])),
                    "fees": float(row["fees"]),
                }
            )
            for row in result.trades.head(MAX_TRADES).to_dict("records")
        ]
        orders: dict[str, int] = {}
        if "status" in result.orders.columns:
            counts = result.orders["status"].astype(str).value_counts()
            orders = {str(status): int(count) for status, count in counts.items()}
        return cls(
            final_equity=result.final_equity,
            daily_equity=equity,
            trades=trades,
            trades_total=len(result.trades),
            trades_truncated=len(result.trades) > MAX_TRADES,
            orders=orders,
            log=list(result.log[-200:]),
        )


class BacktestRunPublic(BaseModel):
    """A backtest run: status, progress, the resolved spec and, once succeeded, the results."""

    id: str
    status: RunStatus
    progress: float = Field(ge=0.0, le=1.0)
    strategy: str
    symbols: list[str]
    spec: dict[str, Any]
    spec_hash: str = Field(description="SHA-256 of the resolved spec; names the artifacts")
    synthetic: bool = Field(description="Some symbol's bars come from the synthetic market")
    reused: bool = Field(description="The result was reused from an identical earlier run")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    metrics: dict[str, Any]
    report_url: str | None
    result: BacktestResultPublic | None = None

    @classmethod
    def of(
        cls, run: BacktestRun, prefix: str, result: BacktestResult | None = None
    ) -> BacktestRunPublic:
        """Return the wire form of ``run``; ``prefix`` is the API prefix for links."""
        done = run.status is RunStatus.SUCCEEDED
        return cls(
            id=run.id,
            status=run.status,
            progress=run.progress,
            strategy=run.strategy,
            symbols=list(run.symbols),
            spec=run.spec,
            spec_hash=run.spec_hash,
            synthetic=run.synthetic,
            reused=run.reused,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=run.error,
            metrics={k: _number(v) for k, v in run.metrics.items()},
            report_url=f"{prefix}/analysis/backtest/{run.id}/report" if done else None,
            result=None if result is None else BacktestResultPublic.of(result),
        )


class BacktestRunsPublic(BaseModel):
    """The caller's newest runs, without results."""

    runs: list[BacktestRunPublic]


class StrategyPublic(BaseModel):
    """A registered strategy and the JSON schema of its typed parameters (bounds included)."""

    name: str
    description: str
    params: dict[str, Any]

    @classmethod
    def of(cls, spec: StrategySpec) -> StrategyPublic:
        """Return the wire form of ``spec``."""
        return cls(name=spec.name, description=spec.description.strip(), params=spec.schema())


class StrategiesPublic(BaseModel):
    """Every registered strategy."""

    strategies: list[StrategyPublic]
