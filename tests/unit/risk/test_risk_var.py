"""VaR and CVaR: hand-worked samples, scipy formulas, quantstats/empyrical on real returns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from quantdesk.core.errors import ValidationError
from quantdesk.risk.var import (
    component_var,
    cornish_fisher_quantile,
    cornish_fisher_tail_mean,
    cornish_fisher_var,
    historical_var,
    parametric_var,
    value_at_risk,
)


@pytest.fixture(scope="module")
def stock_returns() -> pd.DataFrame:
    """Daily returns of 20 real S&P 500 stocks, 1990-2022 (skfolio's bundled prices)."""
    from skfolio.datasets import load_sp500_dataset

    return load_sp500_dataset().pct_change().iloc[1:]


@pytest.fixture(scope="module")
def index_returns() -> pd.Series:
    """Daily returns of the real S&P 500 index, 1999-2018 (arch's bundled data)."""
    import arch.data.sp500

    return arch.data.sp500.load()["Adj Close"].pct_change().dropna()


# --- historical -----------------------------------------------------------------------------

# Ten returns; sorted: -0.05, -0.03, -0.02, -0.01, 0.00, 0.01, 0.02, 0.03, 0.04, 0.05
SMALL = [0.03, -0.02, 0.01, -0.05, 0.04, -0.01, 0.02, -0.03, 0.00, 0.05]


def test_historical_var_small_sample_90() -> None:
    # alpha = 0.10: quantile position (n - 1) * alpha = 0.9 between sorted[0] = -0.05 and
    # sorted[1] = -0.03: -0.05 + 0.9 * 0.02 = -0.032 -> VaR 0.032.
    # CVaR averages the floor(0.9) + 1 = 1 smallest: -0.05 -> 0.05.
    result = historical_var(SMALL, 0.90)
    assert result.var == pytest.approx(0.032, abs=1e-15)
    assert result.cvar == pytest.approx(0.05, abs=1e-15)
    assert (result.method, result.horizon, result.scaling, result.observations) == (
        "historical",
        1,
        "none",
        10,
    )


def test_historical_var_small_sample_80_in_currency() -> None:
    # alpha = 0.20: position 1.8 between -0.03 and -0.02: -0.03 + 0.8 * 0.01 = -0.022.
    # CVaR: floor(1.8) + 1 = 2 smallest: (-0.05 - 0.03) / 2 = -0.04.
    result = historical_var(pd.Series(SMALL), 0.80, portfolio_value=250_000)
    assert result.var == pytest.approx(0.022, abs=1e-15)
    assert result.cvar == pytest.approx(0.04, abs=1e-15)
    assert result.var_amount == pytest.approx(5_500.0)
    assert result.cvar_amount == pytest.approx(10_000.0)


def test_historical_var_overlapping_windows_hand_worked() -> None:
    # 2-period compounded windows of 0.10, -0.10, 0.05, -0.05:
    # 1.10 * 0.90 - 1 = -0.01; 0.90 * 1.05 - 1 = -0.055; 1.05 * 0.95 - 1 = -0.0025.
    # Sorted: -0.055, -0.01, -0.0025; alpha = 0.25 -> position 0.5:
    # -0.055 + 0.5 * 0.045 = -0.0325; CVaR = floor(0.5) + 1 = 1 smallest: 0.055.
    result = historical_var([0.10, -0.10, 0.05, -0.05], 0.75, 2, horizon_rule="overlapping")
    assert result.scaling == "overlapping"
    assert result.var == pytest.approx(0.0325, abs=1e-15)
    assert result.cvar == pytest.approx(0.055, abs=1e-15)


def test_historical_var_falls_back_to_sqrt_time_on_short_history() -> None:
    # One-period: sorted -0.10, -0.05, 0.05, 0.10; alpha 0.25 -> position 0.75:
    # -0.10 + 0.75 * 0.05 = -0.0625 -> VaR 0.0625; CVaR 0.10. Four periods: x sqrt(4) = 2.
    result = historical_var([0.10, -0.10, 0.05, -0.05], 0.75, 4)
    assert result.scaling == "sqrt_time"
    assert result.var == pytest.approx(0.125, abs=1e-15)
    assert result.cvar == pytest.approx(0.20, abs=1e-15)


def test_historical_portfolio_is_buy_and_hold_over_the_horizon() -> None:
    # Asset A: 1.1 * 0.9 - 1 = -0.01; asset B: 1.0 * 1.2 - 1 = 0.20 over the one window.
    # Buy and hold 50/50: 0.5 * -0.01 + 0.5 * 0.20 = 0.095 (a gain, so VaR = -0.095).
    # Daily rebalancing would give 1.05 * 1.10 - 1 = 0.155 instead.
    frame = pd.DataFrame({"A": [0.1, -0.1], "B": [0.0, 0.2]})
    result = historical_var(
        frame, 0.95, 2, weights={"A": 0.5, "B": 0.5}, horizon_rule="overlapping"
    )
    assert result.var == pytest.approx(-0.095, abs=1e-15)


def test_historical_matches_empyrical_on_real_returns(stock_returns: pd.DataFrame) -> None:
    import empyrical

    for column in ("AAPL", "JPM", "XOM"):
        returns = stock_returns[column]
        for confidence in (0.95, 0.99):
            result = historical_var(returns, confidence)
            cutoff = 1 - confidence
            assert result.var == pytest.approx(-empyrical.value_at_risk(returns, cutoff), abs=1e-12)
            assert result.cvar == pytest.approx(
                -empyrical.conditional_value_at_risk(returns, cutoff), abs=1e-12
            )


def test_historical_cvar_matches_quantstats_without_ties(index_returns: pd.Series) -> None:
    import quantstats as qs

    ordered = np.sort(index_returns.to_numpy())
    k = int((ordered.size - 1) * 0.05)
    # quantstats averages every return <= the quantile; the definitions agree when the
    # cut-off is not tied (otherwise quantstats also averages the tied values).
    assert ordered[k] < ordered[k + 1]
    expected = qs.stats.conditional_value_at_risk(
        index_returns, confidence=0.95, method="historical"
    )
    assert historical_var(index_returns, 0.95).cvar == pytest.approx(-expected, abs=1e-12)


# --- parametric -----------------------------------------------------------------------------


def test_parametric_matches_scipy_hand_computation(index_returns: pd.Series) -> None:
    values = index_returns.to_numpy()
    mu, sd = values.mean(), values.std(ddof=1)
    z = stats.norm.ppf(0.01)
    result = parametric_var(index_returns, 0.99, portfolio_value=1e6)
    assert result.var == pytest.approx(-(mu + z * sd), abs=1e-14)
    assert result.cvar == pytest.approx(-(mu - sd * stats.norm.pdf(z) / 0.01), abs=1e-14)
    assert result.var_amount == pytest.approx(result.var * 1e6)
    ten = parametric_var(index_returns, 0.99, 10)
    assert ten.scaling == "iid_moments"
    assert ten.var == pytest.approx(-(10 * mu + math.sqrt(10) * sd * z), abs=1e-14)
    no_mean = parametric_var(index_returns, 0.99, include_mean=False)
    assert no_mean.var == pytest.approx(-z * sd, abs=1e-14)


def test_parametric_matches_quantstats_on_real_returns(stock_returns: pd.DataFrame) -> None:
    import quantstats as qs

    for column in ("AAPL", "KO"):
        returns = stock_returns[column]
        for confidence in (0.95, 0.99):
            result = parametric_var(returns, confidence)
            assert result.var == pytest.approx(
                -qs.stats.value_at_risk(returns, confidence=confidence), abs=1e-9
            )
            assert result.cvar == pytest.approx(
                -qs.stats.conditional_value_at_risk(returns, confidence=confidence), abs=1e-9
            )


def test_portfolio_parametric_uses_covariance(stock_returns: pd.DataFrame) -> None:
    import quantstats as qs

    weights = {"AAPL": 0.4, "MSFT": 0.3, "JNJ": 0.2}  # 10 % cash
    frame = stock_returns[list(weights)]
    w = np.array(list(weights.values()))
    sigma_p = math.sqrt(w @ np.cov(frame.to_numpy(), rowvar=False) @ w)
    mu_p = frame.to_numpy().mean(axis=0) @ w
    result = parametric_var(stock_returns, 0.95, weights=weights)
    assert result.var == pytest.approx(-(mu_p + stats.norm.ppf(0.05) * sigma_p), abs=1e-12)
    portfolio = pd.Series(frame.to_numpy() @ w, index=frame.index)
    assert result.var == pytest.approx(-qs.stats.value_at_risk(portfolio), abs=1e-9)
    empyrical_reference = historical_var(stock_returns, 0.95, weights=weights)
    import empyrical

    assert empyrical_reference.var == pytest.approx(
        -empyrical.value_at_risk(portfolio, 0.05), abs=1e-12
    )


# --- Cornish-Fisher -------------------------------------------------------------------------


@given(st.floats(min_value=-5.0, max_value=5.0))
def test_cornish_fisher_reduces_to_normal_quantile(z: float) -> None:
    assert cornish_fisher_quantile(z, 0.0, 0.0) == z


def test_cornish_fisher_textbook_example() -> None:
    # z = Phi^-1(0.05) = -1.6448536; S = -0.5; K = 3.
    # z² - 1 = 2.7055435 - 1 = 1.7055435                 -> * S / 6    = -0.1421286
    # z³ - 3z = -4.4502230 + 4.9345609 = 0.4843379        -> * K / 24   =  0.0605422
    # 2z³ - 5z = -8.9004459 + 8.2242681 = -0.6761778      -> * -S² / 36 =  0.0046957
    # z_cf = -1.6448536 - 0.1421286 + 0.0605422 + 0.0046957 = -1.7217443
    z = stats.norm.ppf(0.05)
    assert cornish_fisher_quantile(z, -0.5, 3.0) == pytest.approx(-1.7217443, abs=1e-7)


def test_cornish_fisher_var_uses_sample_moments(index_returns: pd.Series) -> None:
    mu, sd = index_returns.mean(), index_returns.std()
    skew, kurt = index_returns.skew(), index_returns.kurt()  # pandas: bias-corrected
    z = stats.norm.ppf(0.01)
    z_cf = (
        z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
    )
    result = cornish_fisher_var(index_returns, 0.99)
    assert result.var == pytest.approx(-(mu + z_cf * sd), abs=1e-12)
    assert result.details["skewness"] == pytest.approx(skew, abs=1e-12)
    assert result.details["excess_kurtosis"] == pytest.approx(kurt, abs=1e-12)
    # Ten days: skewness / sqrt(10), excess kurtosis / 10 (cumulants of an i.i.d. sum).
    s10, k10 = skew / math.sqrt(10), kurt / 10
    z10 = z + (z**2 - 1) * s10 / 6 + (z**3 - 3 * z) * k10 / 24 - (2 * z**3 - 5 * z) * s10**2 / 36
    ten = cornish_fisher_var(index_returns, 0.99, 10)
    assert ten.var == pytest.approx(-(10 * mu + math.sqrt(10) * sd * z10), abs=1e-12)


@pytest.mark.parametrize(("skew", "kurt"), [(0.0, 0.0), (-0.3, 2.0), (0.2, 1.0), (0.0, 6.0)])
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_cornish_fisher_tail_mean_integrates_the_quantile(
    skew: float, kurt: float, confidence: float
) -> None:
    alpha = 1 - confidence

    def quantile(p: float) -> float:
        z = stats.norm.ppf(p)
        return float(
            z
            + (z**2 - 1) * skew / 6
            + (z**3 - 3 * z) * kurt / 24
            - (2 * z**3 - 5 * z) * skew**2 / 36
        )

    expected = integrate.quad(quantile, 0, alpha, limit=200)[0] / alpha
    assert cornish_fisher_tail_mean(confidence, skew, kurt) == pytest.approx(expected, rel=1e-8)


def test_cornish_fisher_cvar_uses_the_tail_mean(index_returns: pd.Series) -> None:
    mu, sd = index_returns.mean(), index_returns.std()
    skew, kurt = index_returns.skew(), index_returns.kurt()
    tail = (
        integrate.quad(
            lambda p: cornish_fisher_quantile(stats.norm.ppf(p), skew, kurt), 0, 0.01, limit=200
        )[0]
        / 0.01
    )
    result = cornish_fisher_var(index_returns, 0.99)
    assert result.cvar == pytest.approx(-(mu + sd * tail), rel=1e-7)
    assert result.cvar > result.var


def test_cornish_fisher_equals_normal_for_zero_moments() -> None:
    for confidence in (0.9, 0.95, 0.99):
        z = stats.norm.ppf(1 - confidence)
        normal_tail = -stats.norm.pdf(z) / (1 - confidence)
        assert cornish_fisher_tail_mean(confidence, 0.0, 0.0) == pytest.approx(normal_tail)


# --- component VaR --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=-1.0, max_value=1.0), min_size=5, max_size=5).filter(
        lambda w: sum(abs(x) for x in w) > 0.1
    ),
    st.sampled_from([0.95, 0.99]),
    st.integers(min_value=1, max_value=20),
)
def test_euler_components_add_up(weights: list[float], confidence: float, horizon: int) -> None:
    rng = np.random.default_rng(11)
    # SYNTHETIC correlated returns: 500 days x 5 assets.
    returns = rng.multivariate_normal(
        np.full(5, 4e-4), np.diag([1, 2, 3, 4, 5]) * 1e-4 + 5e-5, size=500
    )
    parts = component_var(returns, np.array(weights), confidence, horizon)
    total = parametric_var(returns, confidence, horizon, weights=np.array(weights))
    assert parts.component_var.sum() == pytest.approx(total.var, abs=1e-12)
    assert parts.component_cvar.sum() == pytest.approx(total.cvar, abs=1e-12)


def test_marginal_var_is_the_derivative(stock_returns: pd.DataFrame) -> None:
    symbols = ["AAPL", "BAC", "KO", "XOM"]
    frame = stock_returns[symbols]
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    parts = component_var(frame, weights, 0.99, 5)
    step = 1e-6
    for index in range(4):
        bump = np.zeros(4)
        bump[index] = step
        up = parametric_var(frame, 0.99, 5, weights=weights + bump).var
        down = parametric_var(frame, 0.99, 5, weights=weights - bump).var
        assert parts.marginal_var[index] == pytest.approx((up - down) / (2 * step), rel=1e-6)
    table = parts.to_frame()
    assert list(table.index) == symbols
    assert table["var_share"].sum() == pytest.approx(1.0)


def test_component_var_in_currency(stock_returns: pd.DataFrame) -> None:
    parts = component_var(stock_returns, {"AAPL": 0.5, "PG": 0.5}, portfolio_value=2e6)
    table = parts.to_frame()
    assert table["component_var_amount"].sum() == pytest.approx(parts.var * 2e6)


# --- dispatch and validation ----------------------------------------------------------------


def test_value_at_risk_dispatches(index_returns: pd.Series) -> None:
    assert value_at_risk(index_returns, 0.99, method="parametric") == parametric_var(
        index_returns, 0.99
    )
    result = value_at_risk(index_returns, 0.99, method="mc_bootstrap", n_paths=1_000, seed=1)
    assert result.method == "mc_bootstrap"
    with pytest.raises(ValidationError, match="method"):
        value_at_risk(index_returns, method="garch")  # type: ignore[arg-type]


def test_missing_rows_are_dropped_and_counted() -> None:
    frame = pd.DataFrame({"A": [0.01, np.nan, -0.02, 0.03], "B": [0.0, 0.01, np.nan, -0.01]})
    result = historical_var(frame, 0.9, weights={"A": 1.0})
    assert (result.observations, result.details["dropped_rows"]) == (3, 1)
    both = historical_var(frame, 0.9, weights={"A": 0.5, "B": 0.5})
    assert (both.observations, both.details["dropped_rows"]) == (2, 2)


@pytest.mark.parametrize(
    ("call", "location"),
    [
        (lambda: historical_var(SMALL, 0.05), "confidence"),
        (lambda: historical_var(SMALL, 1.0), "confidence"),
        (lambda: historical_var(SMALL, 0.95, 0), "horizon"),
        (lambda: parametric_var(np.ones((5, 2)) * 0.01, 0.95), "weights"),
        (lambda: parametric_var(pd.DataFrame({"A": SMALL}), weights={"B": 1.0}), "weights"),
        (lambda: parametric_var(np.ones((5, 2)), weights=[1.0]), "weights"),
        (lambda: historical_var([0.01, np.inf, 0.02]), "row 1"),
        (lambda: historical_var([0.01, -1.0, 0.02]), "row 1"),
        (lambda: historical_var([0.01]), "returns"),
        (lambda: historical_var(SMALL, portfolio_value=-5.0), "portfolio_value"),
        (lambda: cornish_fisher_var([0.01] * 6), "returns"),
    ],
)
def test_bad_input_is_a_validation_error(call: object, location: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call()  # type: ignore[operator]
    assert any(issue.location == location for issue in caught.value.issues)
