"""SYNTHETIC market data for the ML tests (not market data): seeded, OHLC-consistent bars."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_returns(n: int, seed: int = 0) -> np.ndarray:
    """Return SYNTHETIC daily log returns with GARCH(1,1)-like volatility clustering."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-6, 0.08, 0.9
    variance = omega / (1 - alpha - beta)
    out = np.empty(n)
    for t in range(n):
        shock = rng.standard_t(6) / np.sqrt(6 / 4)
        out[t] = np.sqrt(variance) * shock
        variance = omega + alpha * out[t] ** 2 + beta * variance
    return out


def synthetic_bars(n: int = 300, seed: int = 0, start: str = "2015-01-01") -> pd.DataFrame:
    """Return SYNTHETIC daily OHLCV bars on business days, indexed by UTC time."""
    rng = np.random.default_rng(seed + 1000)
    returns = synthetic_returns(n, seed)
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = close * np.exp(rng.normal(0.0, 0.003, n))
    high = np.maximum(open_, close) * np.exp(rng.uniform(0.0, 0.01, n))
    low = np.minimum(open_, close) * np.exp(-rng.uniform(0.0, 0.01, n))
    volume = rng.lognormal(13.0, 0.3, n)
    index = pd.bdate_range(start, periods=n, tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def garbage_bars(index: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """Return wild but valid SYNTHETIC bars for ``index`` (used to corrupt the future)."""
    rng = np.random.default_rng(seed)
    n = len(index)
    close = rng.uniform(0.01, 1e6, n)
    open_ = rng.uniform(0.01, 1e6, n)
    high = np.maximum(open_, close) * rng.uniform(1.0, 3.0, n)
    low = np.minimum(open_, close) / rng.uniform(1.0, 3.0, n)
    volume = rng.uniform(0.0, 1e12, n)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
