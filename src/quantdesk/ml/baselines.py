"""Naive baselines every forecast is scored against, with the same interface as the models.

Each baseline is fitted on the training rows only and forecasts at t from data up to t.

Direction (P(up) estimated on the training labels, so probability scores are fair)

- :class:`AlwaysUp`: calls up; P(up) = the training up-rate ``n_up / n``.
- :class:`MajorityClass`: calls the training majority (up on a tie); P(up) = the training
  up-rate.
- :class:`LastReturnSign`: calls the sign of the last return (feature ``ret_1``; 0 counts as
  up); P(up | sign) = the training up-rate among rows with that sign, Laplace-smoothed
  ``(n_up + 1) / (n + 2)``.

Return

- :class:`ZeroReturn`: forecasts 0 (the random walk).
- :class:`HistoricalMean`: forecasts the mean training label.

Volatility (h-step variance of summed log returns; ``r`` daily log returns)

- :class:`EwmaVolatility`: RiskMetrics ``h * s_t`` with ``s_t`` the exponentially weighted
  mean of ``r^2`` up to t, weights ``(1 - decay) decay^k / (1 - decay^n)`` over the n returns
  so far (k = 0 for r_t): the convention of :func:`quantdesk.risk.ewma_covariance` (zero
  mean, normalised weights, no seed window), so ``s_t`` equals ``ewma_covariance`` of the
  returns up to t; it is the recursion ``s_t = decay s_(t-1) + (1 - decay) r_t^2`` once the
  weight mass ``1 - decay^n`` is ~1.
- :class:`RollingVolatility`: ``h * mean(r_(t-w+1)^2 .. r_t^2)`` (zero-mean historical
  variance over w days).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.ml.labels import check_horizon
from quantdesk.ml.models.base import (
    FloatArray,
    ForecastModel,
    Task,
    check_training,
    prediction_dates,
    up_labels,
)

__all__ = [
    "AlwaysUp",
    "EwmaVolatility",
    "HistoricalMean",
    "LastReturnSign",
    "MajorityClass",
    "RollingVolatility",
    "ZeroReturn",
    "default_baselines",
    "ewma_variance",
]


class _Direction:
    task: Task = "direction"
    name = "direction_baseline"

    def __init__(self) -> None:
        self.up_rate: float | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {"up_rate": self.up_rate}

    def _fit_rate(self, features: pd.DataFrame, labels: pd.Series[float]) -> FloatArray:
        _, values = check_training(features, labels, self.name)
        self.up_rate = float(up_labels(values).mean())
        return values

    def _rate(self) -> float:
        if self.up_rate is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        return self.up_rate

    def predict_proba(self, features: pd.DataFrame) -> FloatArray:
        return np.full(len(features), self._rate())


class AlwaysUp(_Direction):
    """Always call up; P(up) is the training up-rate."""

    name = "always_up"

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> AlwaysUp:
        """Estimate the training up-rate."""
        self._fit_rate(features, labels)
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return +1.0 for every row."""
        self._rate()
        return np.ones(len(features))


class MajorityClass(_Direction):
    """Call the training majority class; P(up) is the training up-rate."""

    name = "majority_class"

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> MajorityClass:
        """Estimate the training up-rate."""
        self._fit_rate(features, labels)
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return +1.0 if up was at least as common as down in training, else -1.0."""
        return np.full(len(features), 1.0 if self._rate() >= 0.5 else -1.0)


class LastReturnSign(_Direction):
    """Call the sign of the last return; P(up | sign) from training (Laplace-smoothed).

    Parameters
    ----------
    feature
        The last-return feature column (``ret_1`` from :func:`build_features`).
    """

    name = "last_return_sign"

    def __init__(self, feature: str = "ret_1") -> None:
        super().__init__()
        self.feature = feature
        self.up_after_up: float | None = None
        self.up_after_down: float | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The feature and the two conditional up-rates."""
        return {
            "feature": self.feature,
            "up_after_up": self.up_after_up,
            "up_after_down": self.up_after_down,
        }

    def _signs(self, features: pd.DataFrame) -> FloatArray:
        if self.feature not in features:
            raise ValidationError(
                f"{self.name} needs the last return",
                [Issue("features", f"no column {self.feature!r}", field=self.feature)],
            )
        values = features[self.feature].to_numpy(np.float64)
        # NaN (no last return) counts as up, like 0: the baseline must always answer.
        return np.where(values < 0, -1.0, 1.0)

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> LastReturnSign:
        """Estimate P(up) after an up and after a down last return."""
        values = self._fit_rate(features, labels)
        up = up_labels(values)
        signs = self._signs(features)
        for sign, attribute in ((1.0, "up_after_up"), (-1.0, "up_after_down")):
            chosen = up[signs == sign]
            setattr(self, attribute, (chosen.sum() + 1.0) / (chosen.size + 2.0))
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return the sign of the last return (+1.0 for 0 or missing)."""
        self._rate()
        return self._signs(features)

    def predict_proba(self, features: pd.DataFrame) -> FloatArray:
        """Return the training P(up) given the last return's sign."""
        if self.up_after_up is None or self.up_after_down is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        signs = self._signs(features)
        return np.where(signs > 0, self.up_after_up, self.up_after_down)


class ZeroReturn:
    """Forecast a zero forward return (random walk)."""

    task: Task = "return"
    name = "zero_return"

    @property
    def params(self) -> dict[str, Any]:
        """No parameters."""
        return {}

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> ZeroReturn:
        """Check the inputs; nothing to estimate."""
        check_training(features, labels, self.name)
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return 0.0 for every row."""
        return np.zeros(len(features))


class HistoricalMean:
    """Forecast the mean training label."""

    task: Task = "return"
    name = "historical_mean"

    def __init__(self) -> None:
        self.mean: float | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The fitted mean."""
        return {"mean": self.mean}

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> HistoricalMean:
        """Store the mean of the training labels."""
        _, values = check_training(features, labels, self.name)
        self.mean = float(values.mean())
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return the training mean for every row."""
        if self.mean is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        return np.full(len(features), self.mean)


def ewma_variance(returns: pd.Series[float], decay: float = 0.94) -> pd.Series[float]:
    """Return the RiskMetrics EWMA variance of ``returns`` at every date (zero mean).

    ``s_t = sum_k w_k r_(t-k)^2`` with ``w_k = (1 - decay) decay^k / (1 - decay^n_t)`` over
    the ``n_t`` non-missing returns up to t (missing returns are skipped). Equals
    :func:`quantdesk.risk.ewma_covariance` of the returns up to t.

    Parameters
    ----------
    returns
        Periodic returns, oldest first.
    decay
        Lambda in (0, 1); 0.94 for daily data.

    Returns
    -------
    pandas.Series
        Same index; NaN before the first return.

    Raises
    ------
    ValidationError
        If ``decay`` is not in (0, 1).
    """
    if not (math.isfinite(decay) and 0.0 < decay < 1.0):
        raise ValidationError(
            "decay must lie strictly between 0 and 1",
            [Issue("decay", f"got {decay}; RiskMetrics uses 0.94 for daily data")],
        )
    squared = pd.Series(returns, dtype=np.float64) ** 2
    # pandas' adjusted EWM divides by the weight mass: exactly the normalised weights above.
    return squared.ewm(alpha=1.0 - decay, adjust=True, ignore_na=True).mean()


class _SeriesVolatility:
    task: Task = "volatility"
    name = "series_volatility"

    def __init__(
        self, returns: pd.Series[float], horizon: int, daily_variance: pd.Series[float]
    ) -> None:
        self.returns = pd.Series(returns, dtype=np.float64)
        self.horizon = check_horizon(horizon, len(self.returns))
        self._variance = daily_variance.to_numpy(np.float64)
        self._fitted = False

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> _SeriesVolatility:
        check_training(features, labels, self.name)
        prediction_dates(features, self.returns, self.name)
        self._fitted = True
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        if not self._fitted:
            raise ValueError(f"{self.name}: call fit before predicting")
        positions = prediction_dates(features, self.returns, self.name)
        return np.asarray(self.horizon * self._variance[positions], dtype=np.float64)


class EwmaVolatility(_SeriesVolatility):
    """RiskMetrics EWMA variance forecast ``h * s_t`` (see :func:`ewma_variance`).

    Parameters
    ----------
    returns
        Daily log returns indexed like the feature rows.
    horizon
        h in bars.
    decay
        Lambda (0.94).
    """

    name = "ewma"

    def __init__(self, returns: pd.Series[float], horizon: int = 1, decay: float = 0.94) -> None:
        self.decay = decay
        super().__init__(returns, horizon, ewma_variance(pd.Series(returns), decay))

    @property
    def params(self) -> dict[str, Any]:
        """Decay and horizon."""
        return {"decay": self.decay, "horizon": self.horizon}

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> EwmaVolatility:
        """Check the inputs; the decay is fixed, nothing to estimate."""
        super().fit(features, labels)
        return self


class RollingVolatility(_SeriesVolatility):
    """Historical variance forecast ``h * mean(r^2)`` over the last ``window`` returns.

    Parameters
    ----------
    returns
        Daily log returns indexed like the feature rows.
    horizon
        h in bars.
    window
        Look-back in returns (21).
    """

    name = "rolling"

    def __init__(self, returns: pd.Series[float], horizon: int = 1, window: int = 21) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValidationError("invalid window", [Issue("window", f"got {window!r}; >= 1")])
        self.window = window
        self.name = f"rolling_{window}"
        squared = pd.Series(returns, dtype=np.float64) ** 2
        variance = squared.rolling(window, min_periods=window).mean()
        super().__init__(returns, horizon, variance)

    @property
    def params(self) -> dict[str, Any]:
        """Window and horizon."""
        return {"window": self.window, "horizon": self.horizon}

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> RollingVolatility:
        """Check the inputs; nothing to estimate."""
        super().fit(features, labels)
        return self


def default_baselines(
    task: Task, *, returns: pd.Series[float] | None = None, horizon: int = 1
) -> list[Callable[[], ForecastModel]]:
    """Return factories of the standard baselines of ``task``.

    Direction: always-up, majority class, last-return sign. Return: zero, historical mean.
    Volatility (needs ``returns``): EWMA(0.94) and rolling 21- and 63-day variance.

    Raises
    ------
    ValidationError
        On an unknown task, or volatility without returns.
    """
    if task == "direction":
        return [AlwaysUp, MajorityClass, LastReturnSign]
    if task == "return":
        return [ZeroReturn, HistoricalMean]
    if task == "volatility":
        if returns is None:
            raise ValidationError(
                "volatility baselines need returns",
                [Issue("returns", "pass the daily log returns the labels come from")],
            )
        return [
            partial(EwmaVolatility, returns, horizon),
            partial(RollingVolatility, returns, horizon, 21),
            partial(RollingVolatility, returns, horizon, 63),
        ]
    raise ValidationError(
        "unknown task", [Issue("task", f"got {task!r}; use direction, return or volatility")]
    )
