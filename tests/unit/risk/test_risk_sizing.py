"""Position sizing: hand-worked sizes, TA-Lib ATR, Kelly, volatility targets, risk parity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.risk.sizing import (
    atr_stop_size,
    fixed_fractional_size,
    kelly_fraction,
    kelly_from_moments,
    kelly_from_returns,
    risk_contributions,
    risk_parity_weights,
    volatility_target,
)


@pytest.fixture(scope="module")
def stock_returns() -> pd.DataFrame:
    """Daily returns of 20 real S&P 500 stocks, 2015-2022 (skfolio's bundled prices)."""
    from skfolio.datasets import load_sp500_dataset

    return load_sp500_dataset().loc["2015":].pct_change().iloc[1:]


# --- fixed fractional and ATR ---------------------------------------------------------------


def test_fixed_fractional_long() -> None:
    # Risk 1 % of 100,000 = 1,000; 50 - 48 = 2 per share -> 500 shares, 25,000 notional.
    size = fixed_fractional_size(100_000, 50, 48, 0.01)
    assert (size.quantity, size.risk_per_unit, size.risk_amount) == (500.0, 2.0, 1_000.0)
    assert (size.notional, size.fraction_of_equity) == (25_000.0, 0.25)


def test_fixed_fractional_short_with_whole_shares() -> None:
    # Short at 47.30, stop 49.50: 2.20 per share; 1,000 / 2.20 = 454.54 -> 454 shares,
    # loss at the stop 454 * 2.20 = 998.80 <= 1,000.
    size = fixed_fractional_size(100_000, 47.30, 49.50, 0.01, side="short", whole_shares=True)
    assert size.quantity == 454.0
    assert size.risk_amount == pytest.approx(998.80)
    assert size.risk_amount <= size.risk_budget


def test_whole_shares_on_an_exact_division() -> None:
    # 0.3 / 0.1 is 2.9999999999999996 in floating point; the size is still 3 shares.
    size = fixed_fractional_size(30, 1.0, 0.9, 0.01, whole_shares=True)
    assert size.quantity == 3.0


def test_notional_cap() -> None:
    # A tight stop would buy 1,000 / 0.05 = 20,000 shares = 2,000,000 notional; the cap is
    # 1x equity = 100,000 / 100 = 1,000 shares.
    size = fixed_fractional_size(100_000, 100, 99.95, 0.01, max_notional_fraction=1.0)
    assert (size.quantity, size.capped) == (pytest.approx(1_000.0), True)


def test_atr_stop_from_talib_on_real_bars() -> None:
    import arch.data.sp500
    import talib

    bars = arch.data.sp500.load()
    atr = talib.ATR(bars["High"].to_numpy(), bars["Low"].to_numpy(), bars["Close"].to_numpy(), 14)[
        -1
    ]
    entry = float(bars["Close"].iloc[-1])
    size = atr_stop_size(250_000, entry, atr, multiple=2.0, risk_fraction=0.02)
    # Stop 2 ATR below the entry; 2 % of 250,000 = 5,000 at risk.
    assert size.stop_price == pytest.approx(entry - 2 * atr)
    assert size.quantity == pytest.approx(5_000 / (2 * atr))
    short = atr_stop_size(250_000, entry, atr, multiple=3.0, side="short", whole_shares=True)
    assert short.stop_price == pytest.approx(entry + 3 * atr)
    assert short.quantity == math.floor(2_500 / (3 * atr))


@pytest.mark.parametrize(
    ("call", "location"),
    [
        (lambda: fixed_fractional_size(100_000, 50, 52), "stop_price"),
        (lambda: fixed_fractional_size(100_000, 50, 48, side="short"), "stop_price"),
        (lambda: fixed_fractional_size(100_000, 50, 50), "stop_price"),
        (lambda: fixed_fractional_size(0, 50, 48), "equity"),
        (lambda: fixed_fractional_size(-5, 50, 48), "equity"),
        (lambda: fixed_fractional_size(100_000, 50, 48, 0.0), "risk_fraction"),
        (lambda: fixed_fractional_size(100_000, 50, 48, 1.5), "risk_fraction"),
        (lambda: fixed_fractional_size(100_000, float("nan"), 48), "entry_price"),
        (lambda: atr_stop_size(100_000, 50, 0.0), "atr"),
        (lambda: atr_stop_size(100_000, 10, 6, multiple=2), "atr"),
    ],
)
def test_bad_sizing_input(call: object, location: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.issues[0].location == location


# --- Kelly ----------------------------------------------------------------------------------


def test_kelly_hand_worked() -> None:
    # p = 0.6, b = 1: 0.6 - 0.4 / 1 = 0.2
    assert kelly_fraction(0.6, 1.0) == pytest.approx(0.2)
    # p = 0.55, b = 2: 0.55 - 0.45 / 2 = 0.325; half Kelly 0.1625
    assert kelly_fraction(0.55, 2.0) == pytest.approx(0.325)
    assert kelly_fraction(0.55, 2.0, fraction=0.5) == pytest.approx(0.1625)
    # No edge: p = 0.4, b = 1 -> -0.2 (do not take the bet)
    assert kelly_fraction(0.4, 1.0) == pytest.approx(-0.2)


def test_continuous_kelly() -> None:
    # (0.0006 - 0.0001) / 0.0001 = 5x leverage; quarter Kelly 1.25x
    assert kelly_from_moments(0.0006, 0.0001, risk_free=0.0001) == pytest.approx(5.0)
    assert kelly_from_moments(0.0006, 0.0001, risk_free=0.0001, fraction=0.25) == pytest.approx(
        1.25
    )


def test_continuous_kelly_from_real_returns(stock_returns: pd.DataFrame) -> None:
    returns = stock_returns["KO"]
    expected = returns.mean() / returns.var()  # pandas: sample variance, ddof=1
    assert kelly_from_returns(returns) == pytest.approx(expected, rel=1e-12)
    assert kelly_from_returns(returns.to_numpy(), fraction=0.5) == pytest.approx(expected / 2)


@pytest.mark.parametrize(
    ("call", "location"),
    [
        (lambda: kelly_fraction(1.2, 1.0), "win_probability"),
        (lambda: kelly_fraction(0.5, 0.0), "win_loss_ratio"),
        (lambda: kelly_fraction(0.5, 1.0, fraction=0.0), "fraction"),
        (lambda: kelly_from_moments(0.001, 0.0), "variance"),
        (lambda: kelly_from_returns([0.01]), "returns"),
        (lambda: kelly_from_returns([0.01, 0.01, 0.01]), "returns"),
    ],
)
def test_bad_kelly_input(call: object, location: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.issues[0].location == location


# --- volatility targeting -------------------------------------------------------------------


def test_volatility_target_hand_worked() -> None:
    # 64 returns alternating +1 % / -1 %: mean 0, sum of squares 64 * 0.0001 = 0.0064,
    # sample variance 0.0064 / 63 = 1.015873e-4, sd 0.01007905, annual x sqrt(252) = 0.16000.
    # Target 10 %: scale 0.10 / 0.16 = 0.625.
    returns = np.tile([0.01, -0.01], 32)
    result = volatility_target(returns, 0.10, lookback=64)
    assert result.realised_volatility == pytest.approx(0.01 * math.sqrt(64 / 63 * 252))
    assert result.scale == pytest.approx(0.10 / (0.01 * math.sqrt(64 / 63 * 252)))
    assert (result.observations, result.capped) == (64, False)


def test_volatility_target_uses_the_last_lookback_and_caps(stock_returns: pd.DataFrame) -> None:
    returns = stock_returns["AMD"]
    realised = returns.iloc[-21:].std() * math.sqrt(252)
    result = volatility_target(returns, 0.15, lookback=21, max_leverage=None)
    assert result.realised_volatility == pytest.approx(realised, rel=1e-12)
    assert result.scale == pytest.approx(0.15 / realised, rel=1e-12)
    capped = volatility_target(stock_returns["KO"], 5.0, lookback=21, max_leverage=2.0)
    assert (capped.scale, capped.capped) == (2.0, True)


# --- risk parity ----------------------------------------------------------------------------


def test_risk_parity_diagonal_is_inverse_volatility() -> None:
    # Vols 10 %, 20 %, 40 %: 1/sigma = 10, 5, 2.5 (sum 17.5) -> 0.5714, 0.2857, 0.1429.
    result = risk_parity_weights(np.diag([0.10, 0.20, 0.40]) ** 2)
    np.testing.assert_allclose(result.weights, [10 / 17.5, 5 / 17.5, 2.5 / 17.5], atol=1e-12)
    assert result.converged


def test_risk_parity_on_real_covariance(stock_returns: pd.DataFrame) -> None:
    covariance = stock_returns.cov()
    result = risk_parity_weights(covariance)
    assert result.converged
    np.testing.assert_allclose(result.risk_contributions, 1 / 20, atol=1e-6)
    assert result.weights.sum() == pytest.approx(1.0)
    assert (result.weights > 0).all()
    assert list(result.to_series().index) == list(stock_returns.columns)


def test_risk_parity_agrees_with_skfolio(stock_returns: pd.DataFrame) -> None:
    from skfolio.optimization import RiskBudgeting

    frame = stock_returns.iloc[:, :8]
    model = RiskBudgeting().fit(frame)
    # skfolio's empirical covariance (ddof=1); the solver tolerance limits the agreement.
    ours = risk_parity_weights(frame.cov())
    np.testing.assert_allclose(ours.weights, model.weights_, atol=2e-4)


def test_risk_budgets_are_met() -> None:
    covariance = np.array([[0.04, 0.006, 0.0], [0.006, 0.09, 0.012], [0.0, 0.012, 0.16]])
    result = risk_parity_weights(covariance, budgets=[0.5, 0.3, 0.2])
    np.testing.assert_allclose(result.risk_contributions, [0.5, 0.3, 0.2], atol=1e-9)
    np.testing.assert_allclose(
        risk_contributions(result.weights, covariance), result.risk_contributions
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=0, max_value=10_000))
def test_risk_contributions_are_equal_for_any_covariance(size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(size, size))
    covariance = factors @ factors.T + np.eye(size) * 1e-3  # SYNTHETIC positive definite
    result = risk_parity_weights(covariance)
    np.testing.assert_allclose(result.risk_contributions, 1 / size, atol=1e-6)


@pytest.mark.parametrize(
    ("matrix", "budgets", "location"),
    [
        (np.ones((2, 3)), None, "covariance"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), None, "covariance"),
        (np.array([[1.0, 0.1], [0.2, 1.0]]), None, "covariance"),
        (np.eye(2), [1.0, -1.0], "budgets"),
        (np.eye(2), [1.0], "budgets"),
    ],
)
def test_bad_risk_parity_input(
    matrix: np.ndarray, budgets: list[float] | None, location: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        risk_parity_weights(matrix, budgets=budgets)
    assert caught.value.issues[0].location == location
