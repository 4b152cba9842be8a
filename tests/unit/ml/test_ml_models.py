"""Models: determinism, learning a planted signal, parity with arch / statsmodels, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from arch import arch_model
from ml_fixtures import synthetic_returns
from sklearn.metrics import roc_auc_score

from quantdesk.core.errors import ValidationError
from quantdesk.ml.models import (
    GarchVolatility,
    HarRvVolatility,
    LightGBMDirection,
    LightGBMReturn,
    LightGBMSettings,
    LinearReturn,
    realized_variance,
)

FAST = LightGBMSettings(n_estimators=25, min_child_samples=20)
INDEX = pd.bdate_range("2010-01-01", periods=800, tz="UTC")


def _planted(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.normal(size=(800, 4)), index=INDEX, columns=list("abcd"))
    features.iloc[::17, 2] = np.nan  # LightGBM handles missing values
    target = 0.8 * features["a"] - 0.5 * features["b"] + rng.normal(0, 0.5, 800)
    return features, target


def test_lightgbm_direction_learns_a_signal_deterministically_and_pickles() -> None:
    features, target = _planted()
    labels = np.sign(target)
    train, test = slice(0, 600), slice(600, 800)
    model = LightGBMDirection(FAST).fit(features.iloc[train], labels.iloc[train])
    prob = model.predict_proba(features.iloc[test])
    assert roc_auc_score(labels.iloc[test] > 0, prob) > 0.8
    again = LightGBMDirection(FAST).fit(features.iloc[train], labels.iloc[train])
    np.testing.assert_array_equal(prob, again.predict_proba(features.iloc[test]))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(prob, restored.predict_proba(features.iloc[test]))
    assert set(model.predict(features.iloc[test])) <= {-1.0, 1.0}
    assert model.feature_importance().index.tolist() == list("abcd")
    assert model.params["n_estimators"] == 25


def test_lightgbm_direction_with_one_class_is_constant() -> None:
    features, _ = _planted()
    model = LightGBMDirection(FAST).fit(features.iloc[:50], pd.Series(np.ones(50)))
    np.testing.assert_array_equal(model.predict_proba(features.iloc[:3]), [1.0, 1.0, 1.0])


def test_lightgbm_return_and_ridge_learn_a_linear_signal() -> None:
    features, target = _planted(1)
    train, test = slice(0, 600), slice(600, 800)
    for model in (LightGBMReturn(FAST), LinearReturn(alpha=1.0), LinearReturn(0.01, 0.5)):
        model.fit(features.iloc[train], target.iloc[train])
        forecast = model.predict(features.iloc[test])
        assert np.corrcoef(forecast, target.iloc[test])[0, 1] > 0.6, model.name
        restored = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(forecast, restored.predict(features.iloc[test]))
    assert LinearReturn(0.01, 0.5).name == "elastic_net_return"


def test_ridge_matches_the_closed_form_on_standardised_features() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(120, 3)) * [1.0, 10.0, 0.1], columns=list("xyz"))
    y = pd.Series(x.to_numpy() @ [0.5, 0.05, -3.0] + rng.normal(0, 0.1, 120))
    model = LinearReturn(alpha=2.0).fit(x, y)
    z = (x - x.mean()) / x.std(ddof=0)
    expected = np.linalg.solve(z.T @ z + 2.0 * np.eye(3), z.T @ (y - y.mean()))
    np.testing.assert_allclose(model.coefficients().to_numpy(), expected, rtol=1e-8)


def _returns(n: int = 700, seed: int = 11) -> pd.Series:
    index = pd.bdate_range("2012-01-02", periods=n, tz="UTC")
    return pd.Series(synthetic_returns(n, seed), index=index)


@pytest.mark.parametrize(("kind", "o"), [("garch", 0), ("gjr", 1)])
def test_garch_matches_arch_fit_and_forecast(kind: str, o: int) -> None:
    returns = _returns()
    train, test = returns.index[100:500], returns.index[510:560]
    model = GarchVolatility(returns, horizon=5, kind=kind)  # type: ignore[arg-type]
    rows = pd.DataFrame(index=train).assign(x=0.0)
    model.fit(rows, pd.Series(np.ones(len(train)), index=train))
    forecast = model.predict(pd.DataFrame(index=test).assign(x=0.0))
    # Reference: arch itself, fitted on the same window and forecasting from the same origins.
    data = 100 * returns.iloc[100:560]
    reference_model = arch_model(data, vol="GARCH", p=1, o=o, q=1, dist="t", rescale=False)
    result = reference_model.fit(last_obs=400, disp="off")
    expected = result.forecast(horizon=5, start=410, reindex=False).variance.sum(axis=1) / 1e4
    np.testing.assert_allclose(forecast, expected.to_numpy(), rtol=1e-6)
    assert model.params["converged"] is True
    assert ("param_gamma[1]" in model.params) is (kind == "gjr")
    assert model.name == ("gjr_garch_t" if kind == "gjr" else "garch_t")


def test_garch_forecasts_ignore_returns_after_the_forecast_date_and_pickle() -> None:
    returns = _returns()
    train, test = returns.index[0:400], returns.index[400:450]
    labels = pd.Series(np.ones(len(train)), index=train)
    model = GarchVolatility(returns, 1).fit(pd.DataFrame({"x": 0.0}, index=train), labels)
    rows = pd.DataFrame({"x": 0.0}, index=test)
    before = model.predict(rows)
    corrupted = returns.copy()
    corrupted.iloc[450:] = 0.3  # wild future
    moved = GarchVolatility(corrupted, 1).fit(pd.DataFrame({"x": 0.0}, index=train), labels)
    np.testing.assert_array_equal(before, moved.predict(rows))
    np.testing.assert_array_equal(before, pickle.loads(pickle.dumps(model)).predict(rows))
    assert (before > 0).all()
    with pytest.raises(ValidationError) as error:
        GarchVolatility(returns, 1).fit(rows.iloc[:20], pd.Series(np.ones(20)))
    assert error.value.issues[0].location == "features"


def test_realized_variance_sums_intraday_squares_without_the_overnight_move() -> None:
    times = pd.DatetimeIndex(
        [
            "2024-01-02 14:30",
            "2024-01-02 15:30",
            "2024-01-02 16:30",
            "2024-01-03 14:30",
            "2024-01-03 15:30",
            "2024-01-04 14:30",
        ],
        tz="UTC",
    )
    close = pd.Series([100.0, 101.0, 100.0, 110.0, 99.0, 100.0], index=times)
    rv = realized_variance(close)
    # Jan 2: ln(1.01)^2 + ln(100/101)^2; Jan 3: ln(99/110)^2 (not 100 -> 110); Jan 4: one bar.
    assert rv.iloc[0] == pytest.approx(2 * np.log(1.01) ** 2, rel=1e-12)
    assert rv.iloc[1] == pytest.approx(np.log(99 / 110) ** 2, rel=1e-12)
    assert np.isnan(rv.iloc[2])
    assert rv.index[0] == pd.Timestamp("2024-01-02", tz="UTC")


def test_har_matches_statsmodels_ols_and_floors_forecasts() -> None:
    rng = np.random.default_rng(8)
    days = pd.bdate_range("2020-01-01", periods=300, tz="UTC")
    bars_per_day = 8
    times = days.repeat(bars_per_day) + pd.to_timedelta(
        np.tile(np.arange(bars_per_day) * 30 + 870, len(days)), unit="min"
    )
    volatility = np.repeat(np.exp(np.cumsum(rng.normal(0, 0.1, 300)) * 0.3) * 0.003, bars_per_day)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 1, times.size) * volatility)), times)
    model = HarRvVolatility.from_intraday(close, horizon=1)
    rv = model.daily_rv
    target = rv.shift(-1)
    rows = pd.DataFrame({"x": 0.0}, index=days[:250])
    labels = target.reindex(rows.index.normalize())
    labels.index = rows.index
    usable = labels.notna()
    model.fit(rows[usable], labels[usable])
    design = pd.DataFrame({"d": rv, "w": rv.rolling(5).mean(), "m": rv.rolling(22).mean()}).loc[
        rows.index[usable]
    ]
    keep = design.notna().all(axis=1)
    ols = sm.OLS(labels[usable][keep].to_numpy(), sm.add_constant(design[keep])).fit()
    coefficients = [
        model.params[k] for k in ("intercept", "beta_daily", "beta_weekly", "beta_monthly")
    ]
    np.testing.assert_allclose(coefficients, ols.params.to_numpy(), rtol=1e-8)
    forecast = model.predict(pd.DataFrame({"x": 0.0}, index=days[250:299]))
    assert (forecast >= model.params["floor"]).all()
    assert np.isnan(model.predict(pd.DataFrame({"x": 0.0}, index=days[:5]))).all()
    assert pickle.loads(pickle.dumps(model)).params == model.params
