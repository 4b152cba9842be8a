"""Baselines: hand-worked fits, the RiskMetrics EWMA against quantdesk.risk, point in time."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from ml_fixtures import synthetic_returns

from quantdesk.core.errors import ValidationError
from quantdesk.ml.baselines import (
    AlwaysUp,
    EwmaVolatility,
    HistoricalMean,
    LastReturnSign,
    MajorityClass,
    RollingVolatility,
    ZeroReturn,
    default_baselines,
    ewma_variance,
)
from quantdesk.risk import ewma_covariance

INDEX = pd.bdate_range("2020-01-01", periods=6, tz="UTC")
FEATURES = pd.DataFrame({"ret_1": [0.01, -0.02, 0.0, 0.03, -0.01, 0.02]}, index=INDEX)
LABELS = pd.Series([1.0, 1.0, -1.0, 1.0, -1.0, 1.0], index=INDEX)


def test_direction_baselines_by_hand() -> None:
    up = AlwaysUp().fit(FEATURES, LABELS)
    assert up.predict(FEATURES).tolist() == [1.0] * 6
    np.testing.assert_allclose(up.predict_proba(FEATURES), 4 / 6)
    majority = MajorityClass().fit(FEATURES, -LABELS)
    assert majority.predict(FEATURES).tolist() == [-1.0] * 6
    np.testing.assert_allclose(majority.predict_proba(FEATURES), 2 / 6)
    last = LastReturnSign().fit(FEATURES, LABELS)
    # Up last return (0.01, 0.0, 0.03, 0.02): labels 1, -1, 1, 1 -> (3 + 1) / (4 + 2).
    # Down last return (-0.02, -0.01): labels 1, -1 -> (1 + 1) / (2 + 2).
    assert last.predict(FEATURES).tolist() == [1.0, -1.0, 1.0, 1.0, -1.0, 1.0]
    np.testing.assert_allclose(last.predict_proba(FEATURES), [4 / 6, 0.5, 4 / 6, 4 / 6, 0.5, 4 / 6])
    with pytest.raises(ValidationError) as error:
        LastReturnSign("ret_x").fit(FEATURES, LABELS)
    assert error.value.issues[0].field == "ret_x"


def test_return_baselines() -> None:
    labels = pd.Series([0.01, 0.03, -0.01, 0.02, 0.0, 0.01], index=INDEX)
    assert ZeroReturn().fit(FEATURES, labels).predict(FEATURES).tolist() == [0.0] * 6
    np.testing.assert_allclose(HistoricalMean().fit(FEATURES, labels).predict(FEATURES), 0.01)
    with pytest.raises(ValueError, match="fit"):
        HistoricalMean().predict(FEATURES)


def test_ewma_variance_equals_risk_ewma_covariance_on_every_prefix() -> None:
    returns = pd.Series(synthetic_returns(400, seed=2))
    series = ewma_variance(returns, 0.94)
    for end in (1, 2, 10, 150, 399):
        expected = float(np.asarray(ewma_covariance(returns.iloc[: end + 1].to_numpy()))[0, 0])
        assert series.iloc[end] == pytest.approx(expected, rel=1e-12)


def test_volatility_baselines_are_point_in_time_and_scale_with_horizon() -> None:
    index = pd.bdate_range("2020-01-01", periods=300, tz="UTC")
    returns = pd.Series(synthetic_returns(300, seed=4), index=index)
    rows = pd.DataFrame({"x": np.zeros(50)}, index=index[200:250])
    labels = pd.Series(np.ones(50), index=rows.index)
    ewma = EwmaVolatility(returns, horizon=5).fit(rows, labels).predict(rows)
    one_day = EwmaVolatility(returns, horizon=1).fit(rows, labels).predict(rows)
    np.testing.assert_allclose(ewma, 5 * one_day)
    rolling = RollingVolatility(returns, horizon=1, window=21).fit(rows, labels).predict(rows)
    squares = returns.to_numpy() ** 2
    np.testing.assert_allclose(rolling[0], squares[180:201].mean())
    corrupted = returns.copy()
    corrupted.iloc[250:] = 0.5
    for make in (EwmaVolatility, RollingVolatility):
        before = make(returns, 1).fit(rows, labels).predict(rows)
        after = make(corrupted, 1).fit(rows, labels).predict(rows)
        np.testing.assert_array_equal(before, after)
    assert RollingVolatility(returns, 1, 63).name == "rolling_63"


def test_default_baselines() -> None:
    assert [f().name for f in default_baselines("direction")] == [
        "always_up",
        "majority_class",
        "last_return_sign",
    ]
    assert [f().name for f in default_baselines("return")] == ["zero_return", "historical_mean"]
    returns = pd.Series(synthetic_returns(100))
    assert [f().name for f in default_baselines("volatility", returns=returns)] == [
        "ewma",
        "rolling_21",
        "rolling_63",
    ]
    with pytest.raises(ValidationError) as error:
        default_baselines("volatility")
    assert error.value.issues[0].location == "returns"
    with pytest.raises(ValidationError) as error:
        EwmaVolatility(returns, 1, decay=1.0)
    assert error.value.issues[0].location == "decay"
    assert math.isnan(ewma_variance(pd.Series([math.nan, 0.01])).iloc[0])
