"""Out-of-sample forecast metrics: direction, return and volatility.

Inputs are 1-D array-likes of equal length with finite values (a NaN is a bug upstream, so it
raises :class:`~quantdesk.core.errors.ValidationError` naming the argument and row).
Direction labels are read as "up" when ``y > 0`` (so both +1/-1 and 1/0 work); probabilities
are P(up).

Direction (n samples, ``y_i`` in {0, 1} after the mapping, ``p_i`` = P(up), ``ŷ_i`` the
predicted class)

- hit rate: ``mean(ŷ_i == y_i)``.
- balanced accuracy: mean over the classes present in y of each class's recall
  (``(TPR + TNR) / 2`` with both classes); scikit-learn's ``balanced_accuracy_score``.
- AUC: ``(R_1 - n_1 (n_1 + 1) / 2) / (n_1 n_0)`` with ``R_1`` the sum of the positives'
  average ranks of ``p`` (Mann-Whitney form; ties count one half); NaN with one class.
- Brier score: ``mean((p_i - y_i)^2)``.
- log loss: ``-mean(y_i ln p_i + (1 - y_i) ln(1 - p_i))`` with p clipped to
  ``[1e-15, 1 - 1e-15]``.
- calibration curve: ``n_bins`` equal-width bins on [0, 1] (the first closed, the others
  ``(lo, hi]``, as scikit-learn's ``calibration_curve``); per non-empty bin the mean p and the
  observed up-rate.

Return

- MAE ``mean|y - ŷ|``, MSE ``mean (y - ŷ)^2``, RMSE ``sqrt(MSE)``.
- IC: Pearson correlation of ``ŷ`` and ``y``; rank IC: Spearman's (Pearson of the average
  ranks). NaN when either side is constant (a constant forecast has no IC).

Volatility (``s_i`` the realised variance proxy, ``v_i`` the variance forecast, v > 0)

- QLIKE (Patton 2011, the loss with b = -2 of his robust family, normalised so a perfect
  forecast scores 0): ``mean(s_i / v_i - ln(s_i / v_i) - 1)`` >= 0. It needs s > 0: a zero
  proxy (a flat day's squared return) makes the term infinite, and :func:`qlike` returns
  ``inf`` then.
- :func:`qlike_unnormalized`: ``mean(s_i / v_i + ln v_i)``, defined for s >= 0. It differs
  from QLIKE by ``mean(1 + ln s_i)``, which does not depend on the forecast, so on the same
  rows both rank forecasts identically; use it when the proxy has zeros.
- MSE of the variance: ``mean (s_i - v_i)^2``.

Both QLIKE forms are robust to noise in the proxy (Patton 2011): ranking forecasts against
squared returns gives the same order as against the true variance. MSE is robust too, but
heavily weighted to high-volatility days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import Issue, ValidationError

__all__ = [
    "CalibrationCurve",
    "auc",
    "balanced_accuracy",
    "brier_score",
    "calibration_curve",
    "direction_metrics",
    "hit_rate",
    "information_coefficient",
    "log_loss",
    "mae",
    "mse",
    "qlike",
    "qlike_unnormalized",
    "rank_information_coefficient",
    "return_metrics",
    "rmse",
    "volatility_metrics",
]

FloatArray = npt.NDArray[np.float64]
_EPSILON = 1e-15


def _vector(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValidationError(
            f"{name} must be numeric", [Issue(name, f"cannot read as numbers: {error}")]
        ) from None
    if array.ndim != 1:
        raise ValidationError(f"{name} must be 1-D", [Issue(name, f"got shape {array.shape}")])
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValidationError(
            f"{name} contains missing or infinite values",
            [Issue(name, f"value {array[row]} at row {row}; drop unlabelled rows first", row=row)],
        )
    return array


def _pair(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, pred_name: str = "y_pred"
) -> tuple[FloatArray, FloatArray]:
    truth, pred = _vector(y_true, "y_true"), _vector(y_pred, pred_name)
    if truth.shape != pred.shape:
        raise ValidationError(
            "y_true and predictions differ in length",
            [Issue(pred_name, f"has {pred.size} values, y_true {truth.size}")],
        )
    if truth.size == 0:
        raise ValidationError("no samples", [Issue("y_true", "is empty")])
    return truth, pred


def _probabilities(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    truth, p = _pair(y_true, prob, "prob")
    outside = (p < 0) | (p > 1)
    if outside.any():
        row = int(np.argmax(outside))
        raise ValidationError(
            "probabilities must lie in [0, 1]",
            [Issue("prob", f"value {p[row]} at row {row}", row=row)],
        )
    return (truth > 0).astype(np.float64), p


def _average_ranks(values: FloatArray) -> FloatArray:
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    # Tie groups share the mean of the 1-based ranks they span.
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], ordered.size] - 1
    mean_rank = (first + last) / 2.0 + 1.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def _pearson(x: FloatArray, y: FloatArray) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denominator == 0.0:
        return math.nan
    return float(np.clip(float(dx @ dy) / denominator, -1.0, 1.0))


# --- direction -------------------------------------------------------------------------------


def hit_rate(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return the fraction of correct direction calls, ``mean((ŷ > 0) == (y > 0))``.

    Parameters
    ----------
    y_true, y_pred
        Realised and predicted directions (+1/-1 or 1/0; up means > 0).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, pred = _pair(y_true, y_pred)
    return float(np.mean((truth > 0) == (pred > 0)))


def balanced_accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return the mean per-class recall over the classes present in ``y_true``.

    With both classes: ``(TP / (TP + FN) + TN / (TN + FP)) / 2``; a constant forecast
    scores 0.5.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, pred = _pair(y_true, y_pred)
    up_true, up_pred = truth > 0, pred > 0
    recalls = [
        float(np.mean(up_pred[up_true == cls] == cls))
        for cls in (True, False)
        if (up_true == cls).any()
    ]
    return float(np.mean(recalls))


def auc(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> float:
    """Return the area under the ROC curve of scores ``prob`` (Mann-Whitney form).

    ``(R_1 - n_1 (n_1 + 1) / 2) / (n_1 n_0)``, ``R_1`` the sum of the up samples' average
    ranks. NaN when ``y_true`` has one class.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, score = _pair(y_true, prob, "prob")
    up = truth > 0
    n_up, n_down = int(up.sum()), int((~up).sum())
    if n_up == 0 or n_down == 0:
        return math.nan
    ranks = _average_ranks(score)
    return float((ranks[up].sum() - n_up * (n_up + 1) / 2.0) / (n_up * n_down))


def brier_score(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> float:
    """Return ``mean((p - y)^2)`` with y = 1 for up.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input, or p outside [0, 1].
    """
    truth, p = _probabilities(y_true, prob)
    return float(np.mean((p - truth) ** 2))


def log_loss(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> float:
    """Return ``-mean(y ln p + (1 - y) ln(1 - p))``, p clipped to ``[1e-15, 1 - 1e-15]``.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input, or p outside [0, 1].
    """
    truth, p = _probabilities(y_true, prob)
    p = np.clip(p, _EPSILON, 1.0 - _EPSILON)
    return float(-np.mean(truth * np.log(p) + (1.0 - truth) * np.log1p(-p)))


@dataclass(frozen=True, slots=True)
class CalibrationCurve:
    """Reliability of probabilities: one entry per non-empty bin, in bin order.

    Attributes
    ----------
    bin_lower, bin_upper
        Bin bounds.
    mean_predicted
        Mean predicted P(up) in the bin.
    observed
        Fraction of up outcomes in the bin.
    count
        Samples in the bin.
    """

    bin_lower: FloatArray
    bin_upper: FloatArray
    mean_predicted: FloatArray
    observed: FloatArray
    count: npt.NDArray[np.int64]

    def as_dict(self) -> dict[str, list[Any]]:
        """Return the curve as lists (JSON-compatible)."""
        return {
            "bin_lower": self.bin_lower.tolist(),
            "bin_upper": self.bin_upper.tolist(),
            "mean_predicted": self.mean_predicted.tolist(),
            "observed": self.observed.tolist(),
            "count": self.count.tolist(),
        }


def calibration_curve(
    y_true: npt.ArrayLike, prob: npt.ArrayLike, n_bins: int = 10
) -> CalibrationCurve:
    """Return the calibration curve over ``n_bins`` equal-width probability bins.

    Parameters
    ----------
    y_true
        Realised directions (up means > 0).
    prob
        Predicted P(up) in [0, 1].
    n_bins
        Number of bins, >= 1.

    Returns
    -------
    CalibrationCurve
        Non-empty bins only.

    Raises
    ------
    ValidationError
        On bad input or ``n_bins < 1``.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValidationError("invalid n_bins", [Issue("n_bins", f"got {n_bins!r}; use >= 1")])
    truth, p = _probabilities(y_true, prob)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], p, side="left")
    count = np.bincount(bins, minlength=n_bins)
    predicted = np.bincount(bins, weights=p, minlength=n_bins)
    observed = np.bincount(bins, weights=truth, minlength=n_bins)
    used = count > 0
    return CalibrationCurve(
        bin_lower=edges[:-1][used],
        bin_upper=edges[1:][used],
        mean_predicted=predicted[used] / count[used],
        observed=observed[used] / count[used],
        count=count[used].astype(np.int64),
    )


def direction_metrics(
    y_true: npt.ArrayLike, prob: npt.ArrayLike, y_pred: npt.ArrayLike | None = None
) -> dict[str, float]:
    """Return hit rate, balanced accuracy, AUC, Brier score, log loss and the up-rates.

    Parameters
    ----------
    y_true
        Realised directions.
    prob
        Predicted P(up).
    y_pred
        Predicted classes; ``prob > 0.5`` when omitted.

    Returns
    -------
    dict[str, float]
        ``hit_rate, balanced_accuracy, auc, brier, log_loss, up_rate`` (observed) and
        ``predicted_up_rate``.
    """
    classes = (np.asarray(prob, np.float64) > 0.5) if y_pred is None else y_pred
    truth = _vector(y_true, "y_true")
    predicted = _vector(np.asarray(classes, np.float64), "y_pred")
    return {
        "hit_rate": hit_rate(truth, predicted),
        "balanced_accuracy": balanced_accuracy(truth, predicted),
        "auc": auc(truth, prob),
        "brier": brier_score(truth, prob),
        "log_loss": log_loss(truth, prob),
        "up_rate": float(np.mean(truth > 0)),
        "predicted_up_rate": float(np.mean(predicted > 0)),
    }


# --- return ----------------------------------------------------------------------------------


def mae(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return the mean absolute error ``mean|y - ŷ|``.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(truth - pred)))


def mse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return the mean squared error ``mean (y - ŷ)^2``.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, pred = _pair(y_true, y_pred)
    return float(np.mean((truth - pred) ** 2))


def rmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return the root mean squared error ``sqrt(mean (y - ŷ)^2)``.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    return math.sqrt(mse(y_true, y_pred))


def information_coefficient(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return the Pearson correlation of forecasts and outcomes; NaN if either is constant.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, pred = _pair(y_true, y_pred)
    return _pearson(pred, truth)


def rank_information_coefficient(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return Spearman's rank correlation (Pearson of average ranks); NaN if constant.

    Raises
    ------
    ValidationError
        On empty, mismatched or non-finite input.
    """
    truth, pred = _pair(y_true, y_pred)
    return _pearson(_average_ranks(pred), _average_ranks(truth))


def return_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Return ``mae, mse, rmse, ic, rank_ic`` of return forecasts."""
    return {
        "mae": mae(y_true, y_pred),
        "mse": mse(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "ic": information_coefficient(y_true, y_pred),
        "rank_ic": rank_information_coefficient(y_true, y_pred),
    }


# --- volatility ------------------------------------------------------------------------------


def _variances(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    truth, pred = _pair(y_true, y_pred)
    if (truth < 0).any():
        row = int(np.argmax(truth < 0))
        raise ValidationError(
            "realised variance must not be negative",
            [Issue("y_true", f"value {truth[row]} at row {row}", row=row)],
        )
    if (pred <= 0).any():
        row = int(np.argmax(pred <= 0))
        raise ValidationError(
            "variance forecasts must be positive",
            [Issue("y_pred", f"value {pred[row]} at row {row}; floor the forecast", row=row)],
        )
    return truth, pred


def qlike(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return QLIKE ``mean(s / v - ln(s / v) - 1)`` (0 for a perfect forecast).

    Parameters
    ----------
    y_true
        Realised variance proxy s >= 0 (e.g. squared returns).
    y_pred
        Variance forecasts v > 0, same units.

    Returns
    -------
    float
        >= 0; ``inf`` when some s is 0 (use :func:`qlike_unnormalized`).

    Raises
    ------
    ValidationError
        On mismatched or non-finite input, s < 0 or v <= 0.
    """
    truth, pred = _variances(y_true, y_pred)
    if (truth == 0).any():
        return math.inf
    ratio = truth / pred
    return float(np.mean(ratio - np.log(ratio) - 1.0))


def qlike_unnormalized(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Return ``mean(s / v + ln v)``: QLIKE up to a forecast-free constant, defined at s = 0.

    Raises
    ------
    ValidationError
        On mismatched or non-finite input, s < 0 or v <= 0.
    """
    truth, pred = _variances(y_true, y_pred)
    return float(np.mean(truth / pred + np.log(pred)))


def volatility_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Return ``qlike, qlike_unnormalized, mse`` (variance) and ``mse_volatility``.

    ``mse_volatility`` is ``mean (sqrt(s) - sqrt(v))^2``, the error in volatility units.
    """
    truth, pred = _variances(y_true, y_pred)
    return {
        "qlike": qlike(truth, pred),
        "qlike_unnormalized": qlike_unnormalized(truth, pred),
        "mse": mse(truth, pred),
        "mse_volatility": mse(np.sqrt(truth), np.sqrt(pred)),
    }
