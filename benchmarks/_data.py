"""Benchmark data: SYNTHETIC random-walk OHLCV bars (not market data), generated fast."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl


def random_walk_bars(rows: int, symbols: int, seed: int = 1) -> pl.DataFrame:
    """Return ``rows`` SYNTHETIC daily bars spread over ``symbols`` symbols, OHLC-consistent."""
    rng = np.random.default_rng(seed)
    per_symbol = rows // symbols
    total = per_symbol * symbols
    returns = rng.normal(0.0, 0.01, size=(symbols, per_symbol))
    close = 100.0 * np.exp(np.cumsum(returns, axis=1)).ravel()
    open_ = close * np.exp(rng.normal(0.0, 0.003, size=total))
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, size=total))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, size=total))
    volume = rng.integers(1_000, 1_000_000, size=total).astype(np.float64)
    start = np.datetime64(datetime(1990, 1, 1, tzinfo=UTC).replace(tzinfo=None), "us")
    days = np.tile(np.arange(per_symbol, dtype="timedelta64[D]").astype("timedelta64[us]"), symbols)
    names = np.repeat(np.array([f"S{i:05d}" for i in range(symbols)]), per_symbol)
    return pl.DataFrame(
        {
            "symbol": names,
            "interval": np.full(total, "1d"),
            "ts": start + days,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
