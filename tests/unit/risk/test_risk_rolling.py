"""Rolling risk metrics against the full-sample functions on each window, empyrical's
``roll_*`` functions, quantstats' ``rolling_*`` functions and pandas' rolling moments.

The rolling path is separate code from the full-sample one (compensated running sums, a
log-wealth drawdown scan and a sorted window, against two-pass moments, a wealth product and
selection), so agreement between them is evidence. Real data: skfolio's bundled daily
closes of 20 S&P 500 stocks; benchmark = their equal-weighted mean.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import empyrical as ep
import empyrical.stats as ep_stats
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from skfolio.datasets import load_sp500_dataset

from quantdesk import risk
from quantdesk.core.errors import ValidationError

WINDOW = 126


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    prices = load_sp500_dataset()[["AAPL", "JPM", "XOM"]]
    return prices.pct_change().iloc[1:]


@pytest.fixture(scope="module")
def benchmark() -> pd.Series:
    prices = load_sp500_dataset()
    return prices.pct_change().iloc[1:].mean(axis=1).rename("equal_weight")


@pytest.fixture(scope="module")
def rolled(returns: pd.DataFrame, benchmark: pd.Series) -> pd.DataFrame:
    return risk.rolling(
        returns, WINDOW, risk.ROLLING_METRICS, benchmark, risk_free=0.02, required_return=0.01
    )


@pytest.fixture(autouse=True)
def _quiet_references() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def close(actual: Any, expected: Any, rtol: float = 1e-9, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol
    )


def test_shape_and_labels(returns: pd.DataFrame, rolled: pd.DataFrame) -> None:
    assert rolled.index.equals(returns.index)
    assert rolled.columns.names == ["metric", "series"]
    assert set(rolled.columns.get_level_values("metric")) == set(risk.ROLLING_METRICS)
    assert rolled.iloc[: WINDOW - 1].isna().all().all()
    assert rolled.iloc[WINDOW - 1 :].notna().all().all()
    one = risk.rolling(returns["AAPL"], 20, ("volatility", "sharpe"))
    assert list(one.columns) == ["volatility", "sharpe"]
    assert one.index.equals(returns.index)


# Tolerances: moments from running sums carry ~1e-13 absolute error, so values near zero get
# an absolute floor; drawdown and tail metrics are exact up to the last bits.
TOLERANCE = {
    "cagr": (1e-9, 1e-12),
    "sharpe": (1e-9, 1e-10),
    "sortino": (1e-9, 1e-10),
    "calmar": (1e-9, 1e-10),
    "alpha": (1e-9, 1e-11),
    "information_ratio": (1e-9, 1e-10),
    "skew": (1e-8, 1e-9),
    "kurtosis": (1e-8, 1e-8),
}


@pytest.mark.parametrize("ticker", ["AAPL", "JPM", "XOM"])
def test_every_metric_matches_full_sample_on_its_window(
    returns: pd.DataFrame, benchmark: pd.Series, rolled: pd.DataFrame, ticker: str
) -> None:
    ends = [WINDOW - 1, 777, 2000, 4123, 6001, len(returns) - 1]
    for end in ends:
        window = returns[ticker].iloc[end - WINDOW + 1 : end + 1]
        bench = benchmark.iloc[end - WINDOW + 1 : end + 1]
        full = risk.summary(window, bench, risk_free=0.02, required_return=0.01).to_dict()
        for metric in risk.ROLLING_METRICS:
            rtol, atol = TOLERANCE.get(metric, (1e-9, 0.0))
            close(rolled[(metric, ticker)].iloc[end], full[metric], rtol=rtol, atol=atol)


def test_matches_empyrical_roll_functions(returns: pd.DataFrame, benchmark: pd.Series) -> None:
    r, b = returns["JPM"], benchmark
    names = ("volatility", "sharpe", "sortino", "downside_deviation", "max_drawdown", "cagr")
    ours = risk.rolling(r, 63, names).iloc[62:]
    values = r.to_numpy()
    close(ours["volatility"], ep.roll_annual_volatility(values, 63))
    close(ours["sharpe"], ep.roll_sharpe_ratio(values, 63), atol=1e-10)
    close(ours["sortino"], ep.roll_sortino_ratio(values, 63), atol=1e-10)
    close(ours["downside_deviation"], ep_stats.roll_downside_risk(values, 63))
    close(ours["max_drawdown"], -ep.roll_max_drawdown(values, 63))
    # empyrical's roll_cagr is broken (it passes ``out=`` to cagr); give annual_return the
    # windows as the columns of a 2-D array instead.
    windows = np.lib.stride_tricks.sliding_window_view(values, 63).T
    close(ours["cagr"], ep.annual_return(windows), atol=1e-12)
    greeks = risk.rolling(r, 63, ("alpha", "beta", "information_ratio"), b).iloc[62:]
    alpha_beta = ep.roll_alpha_beta(values, b.to_numpy(), 63)
    close(greeks["alpha"], alpha_beta[:, 0], atol=1e-11)
    close(greeks["beta"], alpha_beta[:, 1])
    excess = ep_stats.roll_excess_sharpe(values, b.to_numpy(), 63) * math.sqrt(252)
    close(greeks["information_ratio"], excess, atol=1e-10)


def test_matches_quantstats_and_pandas_rolling(returns: pd.DataFrame) -> None:
    r = returns["AAPL"]
    ours = risk.rolling(r, WINDOW, ("volatility", "sharpe", "sortino", "skew", "kurtosis"))
    valid = slice(WINDOW - 1, None)
    close(ours["volatility"][valid], qs.stats.rolling_volatility(r, WINDOW)[valid])
    close(
        ours["sharpe"][valid], qs.stats.rolling_sharpe(r, rolling_period=WINDOW)[valid], 1e-9, 1e-10
    )
    sortino = qs.stats.rolling_sortino(r, rolling_period=WINDOW)[valid]
    close(ours["sortino"][valid], sortino, 1e-9, 1e-10)
    close(ours["skew"][valid], r.rolling(WINDOW).skew()[valid], 1e-8, 1e-9)
    close(ours["kurtosis"][valid], r.rolling(WINDOW).kurt()[valid], 1e-8, 1e-8)


def test_leading_nans_start_each_column_late(returns: pd.DataFrame) -> None:
    panel = returns[["AAPL", "JPM"]].iloc[:600].copy()
    panel.iloc[:100, 1] = np.nan  # JPM starts at row 100
    rolled = risk.rolling(panel, 50, ("volatility", "max_drawdown", "tail_ratio"))
    jpm = rolled.xs("JPM", axis=1, level="series")
    assert jpm.iloc[:149].isna().all().all()
    late = panel["JPM"].iloc[100:].to_numpy()
    close(jpm["volatility"].iloc[149:], ep.roll_annual_volatility(late, 50))
    close(jpm["max_drawdown"].iloc[149:], -ep.roll_max_drawdown(late, 50))
    aapl = rolled.xs("AAPL", axis=1, level="series")
    assert aapl["volatility"].iloc[49:].notna().all()


def test_window_of_whole_sample_is_the_full_sample_value(returns: pd.DataFrame) -> None:
    r = returns["XOM"].iloc[-300:]
    last = risk.rolling(r, 300, ("omega", "ulcer_index", "max_drawdown_duration")).iloc[-1]
    close(last["omega"], ep.omega_ratio(r))
    # quantstats' ulcer index divides by n - 1 where quantdesk divides by n.
    close(last["ulcer_index"], qs.stats.ulcer_index(r) * math.sqrt(299 / 300))
    assert last["max_drawdown_duration"] == risk.max_drawdown_duration(r)


def test_hand_worked_window() -> None:
    r = np.array([0.10, -0.05, 0.02, -0.10, 0.15, 0.0])
    rolled = risk.rolling(r, 3, ("max_drawdown", "omega", "max_drawdown_duration"))
    # Windows [0.10, -0.05, 0.02]: wealth 1.1, 1.045, 1.0659 -> drawdown 0.05, never back;
    # [-0.05, 0.02, -0.10]: wealth 0.95, 0.969, 0.8721 -> 1 - 0.8721 = 0.1279 from the start.
    close(rolled["max_drawdown"].iloc[2:4], [0.05, 0.1279])
    # Omega of [0.02, -0.10, 0.15] = 0.17 / 0.10; of [-0.10, 0.15, 0.0] = 0.15 / 0.10.
    close(rolled["omega"].iloc[4:], [1.7, 1.5])
    # Longest spells: 2 (under water to the end), 3 (all of it), then [0.02, -0.10, 0.15]:
    # wealth 1.02, 0.918, 1.0557 -> one period under, recovered in the next: 2; and
    # [-0.10, 0.15, 0.0]: 0.9, 1.035, 1.035 -> under from the start, recovered: 2.
    assert rolled["max_drawdown_duration"].iloc[2:].tolist() == [2, 3, 2, 2]


def test_validation() -> None:
    r = np.linspace(-0.01, 0.01, 30)
    with pytest.raises(ValidationError, match="unknown metric 'sharp'"):
        risk.rolling(r, 10, ("sharp",))
    with pytest.raises(ValidationError, match="window"):
        risk.rolling(r, 31)
    with pytest.raises(ValidationError, match="window"):
        risk.rolling(r, 3, ("kurtosis",))
    with pytest.raises(ValidationError, match="benchmark"):
        risk.rolling(r, 10, ("beta",))
    with pytest.raises(ValidationError, match="whole number"):
        risk.rolling(r, 10.5, ("sharpe",))  # type: ignore[arg-type]
