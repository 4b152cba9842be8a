"""Metrics against scikit-learn and SciPy, and QLIKE worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import calibration, metrics

from quantdesk.core.errors import ValidationError
from quantdesk.ml import metrics as ml_metrics

SEEDS = (0, 1, 2, 3)


def _classification(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prob = np.round(rng.uniform(0.01, 0.99, 300), 2)  # rounding creates ties
    truth = np.where(rng.uniform(size=300) < prob, 1.0, -1.0)
    return truth, prob


@pytest.mark.parametrize("seed", SEEDS)
def test_direction_metrics_match_scikit_learn(seed: int) -> None:
    truth, prob = _classification(seed)
    binary = (truth > 0).astype(int)
    predicted = np.where(prob > 0.5, 1.0, -1.0)
    assert ml_metrics.hit_rate(truth, predicted) == pytest.approx(
        metrics.accuracy_score(binary, predicted > 0)
    )
    assert ml_metrics.balanced_accuracy(truth, predicted) == pytest.approx(
        metrics.balanced_accuracy_score(binary, predicted > 0)
    )
    assert ml_metrics.auc(truth, prob) == pytest.approx(metrics.roc_auc_score(binary, prob))
    assert ml_metrics.brier_score(truth, prob) == pytest.approx(
        metrics.brier_score_loss(binary, prob)
    )
    assert ml_metrics.log_loss(truth, prob) == pytest.approx(metrics.log_loss(binary, prob))
    curve = ml_metrics.calibration_curve(truth, prob, n_bins=7)
    observed, predicted_mean = calibration.calibration_curve(binary, prob, n_bins=7)
    np.testing.assert_allclose(curve.observed, observed)
    np.testing.assert_allclose(curve.mean_predicted, predicted_mean)
    assert curve.count.sum() == truth.size


def test_one_class_and_constant_forecasts() -> None:
    truth = np.ones(5)
    assert math.isnan(ml_metrics.auc(truth, np.linspace(0.1, 0.9, 5)))
    assert ml_metrics.balanced_accuracy(truth, -truth) == 0.0
    mixed = np.array([1.0, -1.0, 1.0, -1.0])
    assert ml_metrics.balanced_accuracy(mixed, np.ones(4)) == 0.5  # a constant call
    assert math.isnan(ml_metrics.information_coefficient(mixed, np.zeros(4)))
    scores = ml_metrics.direction_metrics(mixed, np.full(4, 0.5))
    assert scores["log_loss"] == pytest.approx(math.log(2))
    assert scores["predicted_up_rate"] == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_return_metrics_match_scikit_learn_and_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=200)
    pred = np.round(0.3 * truth + rng.normal(size=200), 1)  # ties for the rank IC
    assert ml_metrics.mae(truth, pred) == pytest.approx(metrics.mean_absolute_error(truth, pred))
    assert ml_metrics.mse(truth, pred) == pytest.approx(metrics.mean_squared_error(truth, pred))
    assert ml_metrics.rmse(truth, pred) == pytest.approx(
        math.sqrt(metrics.mean_squared_error(truth, pred))
    )
    assert ml_metrics.information_coefficient(truth, pred) == pytest.approx(
        stats.pearsonr(pred, truth).statistic
    )
    assert ml_metrics.rank_information_coefficient(truth, pred) == pytest.approx(
        stats.spearmanr(pred, truth).statistic
    )


def test_qlike_by_hand() -> None:
    # s = (1, 4), v = (2, 2): ratios 0.5 and 2; 0.5 + ln 2 - 1 and 2 - ln 2 - 1 sum to 0.5.
    assert ml_metrics.qlike([1.0, 4.0], [2.0, 2.0]) == pytest.approx(0.25, rel=1e-12)
    # Unnormalised: mean(s / v + ln v) = (0.5 + 2) / 2 + ln 2.
    assert ml_metrics.qlike_unnormalized([1.0, 4.0], [2.0, 2.0]) == pytest.approx(
        1.25 + math.log(2.0), rel=1e-12
    )
    assert ml_metrics.qlike([3.0, 5.0], [3.0, 5.0]) == 0.0
    assert ml_metrics.qlike([0.0, 1.0], [1.0, 1.0]) == math.inf
    assert ml_metrics.qlike_unnormalized([0.0, 1.0], [1.0, 1.0]) == pytest.approx(0.5)


def test_qlike_forms_rank_forecasts_identically() -> None:
    rng = np.random.default_rng(5)
    truth = rng.chisquare(1, 100) * 1e-4
    first, second = rng.uniform(0.5e-4, 2e-4, 100), rng.uniform(0.5e-4, 2e-4, 100)
    offset = np.mean(1.0 + np.log(truth))
    for forecast in (first, second):
        assert ml_metrics.qlike(truth, forecast) == pytest.approx(
            ml_metrics.qlike_unnormalized(truth, forecast) - offset, rel=1e-10
        )
    scores = ml_metrics.volatility_metrics(truth, first)
    assert scores["mse"] == pytest.approx(np.mean((truth - first) ** 2))


def test_bad_metric_input_names_the_argument() -> None:
    with pytest.raises(ValidationError) as error:
        ml_metrics.mse([1.0, math.nan], [1.0, 2.0])
    assert error.value.issues[0].location == "y_true"
    assert error.value.issues[0].row == 1
    with pytest.raises(ValidationError) as error:
        ml_metrics.mae([1.0, 2.0], [1.0])
    assert error.value.issues[0].location == "y_pred"
    with pytest.raises(ValidationError) as error:
        ml_metrics.log_loss([1.0], [1.5])
    assert error.value.issues[0].location == "prob"
    with pytest.raises(ValidationError) as error:
        ml_metrics.qlike([1.0], [0.0])
    assert error.value.issues[0].location == "y_pred"
    with pytest.raises(ValidationError):
        ml_metrics.calibration_curve([1.0], [0.5], n_bins=0)
