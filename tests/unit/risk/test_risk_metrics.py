"""Full-sample risk metrics against empyrical, quantstats, scipy, hand-worked numbers and
properties.

Real data: daily returns of 20 S&P 500 stocks (skfolio's bundled adjusted closes,
1990-2022); the benchmark is their equal-weighted mean (an index-like series built from the
same real data) or the S&P 500 index itself (arch's bundled data, 1999-2018).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
import scipy.stats
from arch.data import sp500
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skfolio.datasets import load_sp500_dataset

from quantdesk import risk
from quantdesk.core.errors import ValidationError

RTOL = 1e-9
DAILY_RF = 1.03 ** (1 / 252) - 1  # a 3% annual rate, compounded down to one trading day


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    prices = load_sp500_dataset()
    return prices.pct_change().iloc[1:]


@pytest.fixture(scope="module")
def benchmark(returns: pd.DataFrame) -> pd.Series:
    return returns.mean(axis=1).rename("equal_weight")


@pytest.fixture(scope="module")
def spx(returns: pd.DataFrame) -> pd.Series:
    """Daily S&P 500 returns 1999-2018 on the stocks' calendar: NaN before and after."""
    close = sp500.load()["Adj Close"]
    return close.pct_change().iloc[1:].reindex(returns.index).rename("spx")


def close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol
    )


@pytest.fixture(autouse=True)
def _quiet_references() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- against empyrical, one series and all 20 at once --------------------------------------


@pytest.mark.parametrize("ticker", ["AAPL", "JPM", "XOM"])
def test_single_series_match_empyrical(returns: pd.DataFrame, ticker: str) -> None:
    r = returns[ticker]
    close(risk.volatility(r), ep.annual_volatility(r))
    close(risk.sharpe(r), ep.sharpe_ratio(r))
    close(risk.sharpe(r, risk_free=0.03), ep.sharpe_ratio(r, risk_free=DAILY_RF))
    close(risk.sortino(r), ep.sortino_ratio(r))
    close(risk.sortino(r, required_return=0.03), ep.sortino_ratio(r, required_return=DAILY_RF))
    close(risk.downside_deviation(r), ep.downside_risk(r))
    close(
        risk.downside_deviation(r, required_return=0.03),
        ep.downside_risk(r, required_return=DAILY_RF),
    )
    close(risk.cagr(r), ep.cagr(r))
    close(risk.annual_return(r), ep.annual_return(r))
    close(risk.max_drawdown(r), -ep.max_drawdown(r))
    close(risk.calmar(r), ep.calmar_ratio(r))
    close(risk.omega(r), ep.omega_ratio(r))
    # empyrical converts an annual required return to daily exactly as quantdesk does.
    close(risk.omega(r, required_return=0.05), ep.omega_ratio(r, required_return=0.05))
    close(risk.tail_ratio(r), ep.tail_ratio(r))


def test_frame_of_twenty_matches_empyrical_2d(returns: pd.DataFrame, benchmark: pd.Series) -> None:
    frame = risk.metrics_frame(returns, benchmark, risk_free=0.03)
    array, bench = returns.to_numpy(), benchmark.to_numpy()[:, None]
    assert list(frame.index) == list(returns.columns)
    close(frame["volatility"], ep.annual_volatility(array))
    close(frame["sharpe"], ep.sharpe_ratio(array, risk_free=DAILY_RF))
    close(frame["sortino"], ep.sortino_ratio(array))
    close(frame["downside_deviation"], ep.downside_risk(array))
    close(frame["cagr"], ep.annual_return(array))
    close(frame["max_drawdown"], -ep.max_drawdown(array))
    alpha_beta = ep.alpha_beta_aligned(array, bench, risk_free=DAILY_RF)
    close(frame["alpha"], alpha_beta[:, 0])
    close(frame["beta"], alpha_beta[:, 1])
    # empyrical's excess Sharpe is the information ratio per day; quantdesk annualises it.
    close(frame["information_ratio"], ep.excess_sharpe(array, bench) * math.sqrt(252))
    close(frame["tracking_error"], ep.annual_volatility(array - bench))
    for ticker in ("BAC", "GE", "RRC"):
        r = returns[ticker]
        close(frame.loc[ticker, "calmar"], ep.calmar_ratio(r))
        close(frame.loc[ticker, "omega"], ep.omega_ratio(r))
        close(frame.loc[ticker, "tail_ratio"], ep.tail_ratio(r))


def test_single_metric_functions_answer_in_the_input_kind(returns: pd.DataFrame) -> None:
    sharpe_by_column = risk.sharpe(returns)
    assert isinstance(sharpe_by_column, pd.Series)
    assert list(sharpe_by_column.index) == list(returns.columns)
    as_array = risk.sharpe(returns.to_numpy())
    assert isinstance(as_array, np.ndarray)
    assert as_array.shape == (20,)
    one = risk.sharpe(returns["KO"].to_numpy())
    assert isinstance(one, float)
    close(as_array, ep.sharpe_ratio(returns.to_numpy()))
    durations = risk.max_drawdown_duration(returns.to_numpy())
    assert isinstance(durations, np.ndarray)
    assert durations.dtype == np.int64
    assert isinstance(risk.max_drawdown_duration(returns["KO"]), int)


# --- against quantstats and scipy ----------------------------------------------------------


@pytest.mark.parametrize("ticker", ["AAPL", "JPM"])
def test_match_quantstats(returns: pd.DataFrame, benchmark: pd.Series, ticker: str) -> None:
    r = returns[ticker]
    n = len(r)
    close(risk.volatility(r), qs.stats.volatility(r))
    close(risk.sharpe(r, risk_free=0.03), qs.stats.sharpe(r, rf=0.03, periods=252))
    # quantstats' Sortino subtracts rf and measures downside below it: required_return here.
    close(risk.sortino(r, required_return=0.03), qs.stats.sortino(r, rf=0.03, periods=252))
    close(risk.cagr(r), qs.stats.cagr(r))
    close(risk.max_drawdown(r), -qs.stats.max_drawdown(r))
    close(risk.calmar(r), qs.stats.calmar(r))
    close(risk.omega(r), qs.stats.omega(r))
    close(risk.tail_ratio(r), qs.stats.tail_ratio(r))
    close(risk.skew(r), qs.stats.skew(r))
    close(risk.kurtosis(r), qs.stats.kurtosis(r))
    # quantstats divides the squared drawdowns by n - 1; Martin's definition by n.
    close(risk.ulcer_index(r), qs.stats.ulcer_index(r) * math.sqrt((n - 1) / n))
    greeks = qs.stats.greeks(r, benchmark)
    close(risk.beta(r, benchmark), greeks["beta"])
    # quantstats annualises the daily intercept by * 252; quantdesk compounds it.
    daily_alpha = (1 + risk.alpha(r, benchmark)) ** (1 / 252) - 1  # type: ignore[operator]
    close(daily_alpha * 252, greeks["alpha"])
    close(
        risk.information_ratio(r, benchmark),
        qs.stats.information_ratio(r, benchmark) * math.sqrt(252),
    )


@pytest.mark.parametrize("ticker", ["AAPL", "MSFT"])
def test_skew_and_kurtosis_match_scipy_bias_adjusted(returns: pd.DataFrame, ticker: str) -> None:
    r = returns[ticker].to_numpy()
    close(risk.skew(r), scipy.stats.skew(r, bias=False))
    close(risk.kurtosis(r), scipy.stats.kurtosis(r, bias=False))


@pytest.mark.parametrize("ticker", ["JPM", "GE", "AAPL"])
def test_longest_drawdown_matches_quantstats_spells(returns: pd.DataFrame, ticker: str) -> None:
    r = returns[ticker]
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(r))
    dates = r.index
    starts = dates.get_indexer(pd.to_datetime(details["start"]))
    ends = dates.get_indexer(pd.to_datetime(details["end"]))
    # quantstats counts the days under water; the spell runs on to the recovery day,
    # one more period, unless the series ends under water.
    under_water = ends - starts + 1
    recovered = ends < len(dates) - 1
    periods = under_water + recovered
    longest = int(np.argmax(periods))
    spell = risk.longest_drawdown(r)
    assert spell is not None
    assert spell.duration == periods[longest] == risk.max_drawdown_duration(r)
    assert spell.start == dates[starts[longest]]
    expected_recovery = dates[ends[longest] + 1] if recovered[longest] else None
    assert spell.recovery == expected_recovery


def test_summary_of_one_series(returns: pd.DataFrame, benchmark: pd.Series) -> None:
    r = returns["AAPL"]
    metrics = risk.summary(r, benchmark)
    assert metrics.observations == len(r)
    close(metrics.sharpe, ep.sharpe_ratio(r))
    close(metrics.beta, ep.beta(r, benchmark))
    assert metrics.longest_drawdown_start == pd.Timestamp("1991-04-03")
    assert isinstance(metrics.max_drawdown_duration, int)
    as_dict = metrics.to_dict()
    assert list(as_dict) == [*risk.METRICS, *risk.BENCHMARK_METRICS]
    assert as_dict["max_drawdown"] == metrics.max_drawdown
    without = risk.summary(r)
    assert without.alpha is None
    assert without.tracking_error is None
    with pytest.raises(AttributeError):
        metrics.sharpe = 0.0  # type: ignore[misc]


def test_metrics_frame_columns_without_benchmark(returns: pd.DataFrame) -> None:
    frame = risk.metrics_frame(returns.iloc[:, :3])
    assert list(frame.columns) == list(risk.METRICS)
    assert frame["observations"].tolist() == [len(returns)] * 3
    assert frame["max_drawdown_duration"].dtype == np.int64


# --- missing data: series that start later ----------------------------------------------


def test_leading_nans_are_handled_per_column(returns: pd.DataFrame, spx: pd.Series) -> None:
    panel = returns[["AAPL", "JPM"]].copy()
    panel.loc[:"1995-06-30", "JPM"] = np.nan  # JPM "lists" in July 1995
    frame = risk.metrics_frame(panel, risk_free=0.03)
    late = returns["JPM"].loc["1995-07-01":]
    assert frame.loc["JPM", "observations"] == len(late)
    close(frame.loc["JPM", "sharpe"], ep.sharpe_ratio(late, risk_free=DAILY_RF))
    close(frame.loc["JPM", "cagr"], ep.cagr(late))
    close(frame.loc["JPM", "max_drawdown"], -ep.max_drawdown(late))
    close(frame.loc["JPM", "tail_ratio"], ep.tail_ratio(late))
    close(frame.loc["AAPL", "sharpe"], ep.sharpe_ratio(returns["AAPL"], risk_free=DAILY_RF))
    # A benchmark that covers 1999-2018 only: benchmark metrics use the overlap.
    both = pd.concat([panel, spx], axis=1).dropna()
    close(risk.beta(panel, spx), ep.beta(both[["AAPL", "JPM"]].to_numpy(), both["spx"].to_numpy()))
    close(risk.tracking_error(panel["JPM"], spx), ep.annual_volatility(both["JPM"] - both["spx"]))


def test_nullable_dtype_with_missing_start(returns: pd.DataFrame) -> None:
    late = returns["KO"].iloc[-500:]
    nullable = pd.concat([pd.Series([pd.NA] * 3), late.reset_index(drop=True)]).astype("Float64")
    close(risk.sharpe(nullable), ep.sharpe_ratio(late))


# --- hand-worked ------------------------------------------------------------------------


def test_hand_worked_five_returns() -> None:
    r = np.array([0.10, -0.05, 0.02, -0.10, 0.15])
    # sum = 0.12, mean = 0.024; deviations 0.076, -0.074, -0.004, -0.124, 0.126;
    # squares 0.005776 + 0.005476 + 0.000016 + 0.015376 + 0.015876 = 0.04252;
    # sample variance 0.04252 / 4 = 0.01063. With 5 periods a year:
    close(risk.volatility(r, periods_per_year=5), math.sqrt(0.01063 * 5))
    close(risk.sharpe(r, periods_per_year=5), 0.024 / math.sqrt(0.01063) * math.sqrt(5))
    # Downside below 0: (-0.05)^2 + (-0.10)^2 = 0.0125, over 5 periods 0.0025, root 0.05.
    close(risk.downside_deviation(r, periods_per_year=1), 0.05)
    close(risk.sortino(r, periods_per_year=1), 0.024 / 0.05)  # 0.48
    # Omega: gains 0.10 + 0.02 + 0.15 = 0.27 over losses 0.05 + 0.10 = 0.15.
    close(risk.omega(r), 1.8)
    # Wealth 1.10, 1.045, 1.0659, 0.95931, 1.1032065: peak 1.10 after the first period,
    # trough 0.95931 = 0.8721 * 1.10, back above the peak in the last period.
    close(risk.max_drawdown(r), 1 - 0.8721)
    assert risk.max_drawdown_duration(r) == 4  # under water in periods 1-3, recovered in 4
    assert risk.longest_drawdown(r) == risk.DrawdownSpell(start=1, recovery=4, duration=4)
    # Drawdowns 0, 0.05, 0.031, 0.1279, 0: mean square (0.0025 + 0.000961 + 0.01635841) / 5.
    close(risk.ulcer_index(r), math.sqrt(0.01981941 / 5))
    # One year of 5 periods: CAGR is the total return 10.32065%; Calmar divides by 0.1279.
    close(risk.cagr(r, periods_per_year=5), 0.1032065)
    close(risk.calmar(r, periods_per_year=5), 0.1032065 / 0.1279)
    # Sorted -0.10, -0.05, 0.02, 0.10, 0.15: the 95th percentile sits at position 3.8,
    # 0.10 + 0.8 * 0.05 = 0.14; the 5th at 0.2, -0.10 + 0.2 * 0.05 = -0.09.
    close(risk.tail_ratio(r), 0.14 / 0.09)
    # Skew: n sqrt(n-1)/(n-2) * sum d^3 / (sum d^2)^1.5, sum d^3 = 0.000438... by hand:
    cubes = 0.076**3 - 0.074**3 - 0.004**3 - 0.124**3 + 0.126**3
    close(risk.skew(r), 5 * math.sqrt(4) / 3 * cubes / 0.04252**1.5)


def test_hand_worked_benchmark() -> None:
    b = np.array([0.01, -0.02, 0.03, 0.00])
    r = 2 * b + 0.001  # beta 2, daily intercept 0.001
    close(risk.beta(r, b), 2.0)
    close(risk.alpha(r, b, periods_per_year=4), 1.001**4 - 1)
    # Active returns 0.011, -0.019, 0.031, 0.001: mean 0.006, deviations 0.005, -0.025,
    # 0.025, -0.005, sum of squares 0.0013, sample variance 0.0013 / 3.
    close(risk.tracking_error(r, b, periods_per_year=1), math.sqrt(0.0013 / 3))
    close(risk.information_ratio(r, b, periods_per_year=1), 0.006 / math.sqrt(0.0013 / 3))


def test_undefined_ratios_are_nan_not_infinite() -> None:
    flat = np.full(10, 0.001)
    assert risk.volatility(flat) == 0.0
    assert math.isnan(risk.sharpe(flat))  # type: ignore[arg-type]
    assert math.isnan(risk.sortino(flat))  # type: ignore[arg-type]
    assert math.isnan(risk.calmar(flat))  # type: ignore[arg-type]
    assert math.isnan(risk.skew(flat))  # type: ignore[arg-type]
    assert risk.max_drawdown_duration(flat) == 0
    assert risk.longest_drawdown(flat) is None
    assert math.isnan(risk.beta(np.linspace(-0.01, 0.01, 10), flat))  # type: ignore[arg-type]
    assert math.isnan(risk.kurtosis(np.array([0.01, -0.01, 0.02])))  # type: ignore[arg-type]


def test_unrecovered_drawdown_runs_to_the_end() -> None:
    series = pd.Series(
        [0.05, -0.10, 0.02, 0.01], index=pd.date_range("2024-01-01", periods=4, freq="B")
    )
    spell = risk.longest_drawdown(series)
    # Wealth 1.05, 0.945, 0.9639, 0.973539: under water from 2 Jan to the end.
    assert spell == risk.DrawdownSpell(pd.Timestamp("2024-01-02"), None, 3)
    frame = risk.metrics_frame(series.to_frame("x"))
    assert frame.loc["x", "longest_drawdown_recovery"] is pd.NaT


# --- properties ---------------------------------------------------------------------------

# Daily-like returns quoted to 6 decimals (basis points of a basis point).
small_returns = arrays(
    np.float64, st.integers(8, 60), elements=st.integers(-200_000, 200_000).map(lambda v: v / 1e6)
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(r=small_returns, k=st.floats(0.1, 3.0))
def test_scaling_returns_scales_volatility_and_keeps_ratios(r: np.ndarray, k: float) -> None:
    assume(np.std(r) > 1e-4 and (r < -1e-3).any())
    close(risk.volatility(k * r), k * risk.volatility(r), rtol=1e-9)  # type: ignore[operator]
    # Ratios can sit at zero (a symmetric sample), where only an absolute bound means much.
    close(risk.sharpe(k * r), risk.sharpe(r), rtol=1e-7, atol=1e-9)
    close(risk.sortino(k * r), risk.sortino(r), rtol=1e-7, atol=1e-9)
    close(risk.omega(k * r), risk.omega(r), rtol=1e-7)
    close(risk.skew(k * r), risk.skew(r), rtol=1e-6, atol=1e-9)
    close(risk.tail_ratio(k * r), risk.tail_ratio(r), rtol=1e-7)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(r=small_returns)
def test_drawdown_bounds(r: np.ndarray) -> None:
    mdd = risk.max_drawdown(r)
    ulcer = risk.ulcer_index(r)
    duration = risk.max_drawdown_duration(r)
    assert 0.0 <= mdd <= 1.0  # type: ignore[operator]
    assert 0.0 <= ulcer <= mdd + 1e-12  # type: ignore[operator]
    assert 0 <= duration <= len(r)  # type: ignore[operator]
    assert (duration == 0) == (mdd == 0.0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(r=small_returns, shift=st.integers(1, 5))
def test_leading_nans_change_nothing(r: np.ndarray, shift: int) -> None:
    padded = np.concatenate([np.full(shift, np.nan), r])
    late = risk.metrics_frame(np.column_stack([padded, np.concatenate([r, r[:shift]])]))
    alone = risk.metrics_frame(r)
    numeric = [name for name in risk.METRICS if not name.startswith("longest")]
    close(late.loc[0, numeric].astype(float), alone.loc[0, numeric].astype(float), rtol=1e-12)
    start = alone.loc[0, "longest_drawdown_start"]
    if start is not None:
        assert late.loc[0, "longest_drawdown_start"] == start + shift


# --- validation ---------------------------------------------------------------------------


def test_gap_inside_a_column_names_column_and_date(returns: pd.DataFrame) -> None:
    panel = returns[["AAPL", "KO"]].iloc[:50].copy()
    panel.iloc[20, 1] = np.nan
    with pytest.raises(ValidationError) as caught:
        risk.metrics_frame(panel)
    (issue,) = caught.value.issues
    assert issue.field == "KO"
    assert issue.row == 20
    assert str(panel.index[20].date()) in issue.reason
    assert "gap" in issue.reason


@pytest.mark.parametrize(
    ("bad", "words"),
    [(np.inf, "infinite"), (-1.5, "below -1"), (np.nan, "gap")],
)
def test_bad_values_are_refused(bad: float, words: str) -> None:
    r = np.array([0.01, 0.02, bad, 0.01, 0.0])
    with pytest.raises(ValidationError, match=words):
        risk.sharpe(r)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -2.0])
@pytest.mark.parametrize("row", [3000, 3008])  # 3008 is among the values sampled for tails
def test_bad_values_in_long_series_are_refused(returns: pd.DataFrame, bad: float, row: int) -> None:
    panel = returns[["AAPL", "JPM"]].copy()
    panel.iloc[row, 0] = bad
    with pytest.raises(ValidationError) as caught:
        risk.metrics_frame(panel)
    assert [(issue.field, issue.row) for issue in caught.value.issues] == [("AAPL", row)]


def test_short_columns_and_bad_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="1 observation"):
        risk.metrics_frame(np.array([[0.01, 0.02], [np.nan, 0.01]]))
    with pytest.raises(ValidationError, match="periods_per_year"):
        risk.volatility(np.array([0.01, 0.02]), periods_per_year=0)
    with pytest.raises(ValidationError, match="risk_free"):
        risk.sharpe(np.array([0.01, 0.02]), risk_free=-2.0)
    with pytest.raises(ValidationError, match="non-empty"):
        risk.volatility(np.array([]))
    with pytest.raises(ValidationError, match="one series"):
        risk.summary(np.zeros((5, 2)))
    with pytest.raises(ValidationError, match="benchmark"):
        risk.beta(np.array([0.01, 0.02, 0.03]), np.array([0.01, 0.02]))
    with pytest.raises(ValidationError, match="overlap"):
        risk.beta(np.array([np.nan, np.nan, 0.03, 0.0]), np.array([0.01, 0.02, np.nan, np.nan]))


def test_public_surface_includes_the_metrics_api() -> None:
    exported = set(risk.__all__)
    ours = {
        "BENCHMARK_METRICS",
        "METRICS",
        "ROLLING_METRICS",
        "DrawdownSpell",
        "RiskMetrics",
        "alpha",
        "annual_return",
        "beta",
        "cagr",
        "calmar",
        "correlation_from_covariance",
        "downside_deviation",
        "ewma_covariance",
        "information_ratio",
        "kurtosis",
        "ledoit_wolf",
        "ledoit_wolf_shrinkage",
        "longest_drawdown",
        "max_drawdown",
        "max_drawdown_duration",
        "metrics_frame",
        "omega",
        "rolling",
        "sample_covariance",
        "sharpe",
        "skew",
        "sortino",
        "summary",
        "tail_ratio",
        "tracking_error",
        "ulcer_index",
        "volatility",
    }
    assert ours <= exported
    assert all(hasattr(risk, name) for name in ours)
