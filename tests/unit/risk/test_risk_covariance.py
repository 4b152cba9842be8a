"""Covariance estimators against pandas, numpy, PyPortfolioOpt, a hand-worked EWMA and the
RiskMetrics recursion written out here.

Real data: daily returns of the 20 S&P 500 stocks bundled with skfolio (1990-2022).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pypfopt import risk_models
from skfolio.datasets import load_sp500_dataset

from quantdesk.core.errors import ValidationError
from quantdesk.risk import (
    correlation_from_covariance,
    ewma_covariance,
    ledoit_wolf,
    ledoit_wolf_shrinkage,
    sample_covariance,
)


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return load_sp500_dataset().pct_change().iloc[1:]


@pytest.fixture(autouse=True)
def _quiet_references() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def close(actual: Any, expected: Any, rtol: float = 1e-9) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol)


def test_sample_covariance_matches_pandas_numpy_and_pyportfolioopt(returns: pd.DataFrame) -> None:
    ours = sample_covariance(returns)
    assert isinstance(ours, pd.DataFrame)
    assert list(ours.columns) == list(returns.columns) == list(ours.index)
    close(ours, returns.cov())
    close(sample_covariance(returns.to_numpy()), np.cov(returns.to_numpy(), rowvar=False))
    annual = sample_covariance(returns, annualize=True)
    close(annual, risk_models.sample_cov(returns, returns_data=True, frequency=252))
    close(sample_covariance(returns, annualize=True, periods_per_year=12), returns.cov() * 12)


def test_ledoit_wolf_matches_pyportfolioopt(returns: pd.DataFrame) -> None:
    shrinkage = risk_models.CovarianceShrinkage(returns, returns_data=True, frequency=252)
    expected = shrinkage.ledoit_wolf()
    close(ledoit_wolf(returns, annualize=True), expected)
    close(ledoit_wolf_shrinkage(returns), shrinkage.delta)
    assert 0.0 <= ledoit_wolf_shrinkage(returns) <= 1.0
    close(ledoit_wolf(returns.to_numpy()), expected.to_numpy() / 252)


def test_ewma_with_demeaning_matches_pyportfolioopt_exp_cov(returns: pd.DataFrame) -> None:
    recent = returns.iloc[-1500:, :6]
    span = 60
    expected = risk_models.exp_cov(recent, returns_data=True, span=span, frequency=252)
    ours = ewma_covariance(recent, decay=1 - 2 / (span + 1), demean=True, annualize=True)
    close(ours, expected)


def test_ewma_zero_mean_matches_pandas_weighted_mean_of_products(returns: pd.DataFrame) -> None:
    recent = returns.iloc[-400:, :4]
    ours = ewma_covariance(recent)  # RiskMetrics: decay 0.94, zero mean
    assert isinstance(ours, pd.DataFrame)
    for a in recent.columns:
        for b in recent.columns:
            product = recent[a] * recent[b]
            expected = product.ewm(alpha=1 - 0.94, adjust=True).mean().iloc[-1]
            close(ours.loc[a, b], expected, rtol=1e-12)


def test_ewma_equals_the_riskmetrics_recursion_from_any_start(returns: pd.DataFrame) -> None:
    values = returns.iloc[-2000:, :5].to_numpy()
    # The recursion S_t = 0.94 S_(t-1) + 0.06 r_t r_t', seeded with the equally weighted
    # second moment of the first 20 days; by day 2000 the seed weighs 0.94**1980 ~ 1e-53.
    state = values[:20].T @ values[:20] / 20
    for row in values[20:]:
        state = 0.94 * state + 0.06 * np.outer(row, row)
    close(ewma_covariance(values), state, rtol=1e-12)


def test_ewma_hand_worked() -> None:
    r = np.array([[0.01], [0.02], [0.03]])
    # decay 0.5: weights 0.5 * (0.25, 0.5, 1) = (0.125, 0.25, 0.5), divided by their sum
    # 1 - 0.5**3 = 0.875 -> (1/7, 2/7, 4/7); second moment (1e-4 + 2 * 4e-4 + 4 * 9e-4) / 7.
    close(ewma_covariance(r, decay=0.5), [[45e-4 / 7]], rtol=1e-14)


def test_correlation_from_covariance(returns: pd.DataFrame) -> None:
    covariance = sample_covariance(returns)
    ours = correlation_from_covariance(covariance)
    close(ours, returns.corr())
    close(ours, risk_models.cov_to_corr(covariance))
    assert (np.diag(ours) == 1.0).all()
    # Hand-worked: variances 4 and 9, covariance 3 -> 3 / (2 * 3) = 0.5.
    close(correlation_from_covariance(np.array([[4.0, 3.0], [3.0, 9.0]])), [[1, 0.5], [0.5, 1]])


def test_nan_names_the_column_and_row(returns: pd.DataFrame) -> None:
    panel = returns.iloc[:30, :3].copy()
    panel.iloc[7, 2] = np.nan
    for estimator in (sample_covariance, ewma_covariance, ledoit_wolf):
        with pytest.raises(ValidationError) as caught:
            estimator(panel)
        (issue,) = caught.value.issues
        assert issue.field == "BAC"
        assert issue.row == 7
        assert str(panel.index[7].date()) in issue.reason


def test_other_bad_input_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 2"):
        sample_covariance(np.array([[0.01, 0.02]]))
    with pytest.raises(ValidationError, match="infinite"):
        ledoit_wolf(np.array([[0.01, np.inf], [0.02, 0.01]]))
    with pytest.raises(ValidationError, match="decay"):
        ewma_covariance(np.zeros((5, 2)), decay=1.0)
    with pytest.raises(ValidationError, match="periods_per_year"):
        sample_covariance(np.zeros((5, 2)), annualize=True, periods_per_year=-1)
    with pytest.raises(ValidationError, match="square"):
        correlation_from_covariance(np.zeros((2, 3)))
    with pytest.raises(ValidationError, match="non-positive variance"):
        correlation_from_covariance(np.array([[0.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValidationError, match="symmetric"):
        correlation_from_covariance(np.array([[1.0, 0.5], [0.2, 1.0]]))
