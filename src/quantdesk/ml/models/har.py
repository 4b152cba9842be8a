"""HAR-RV (Corsi 2009): realised variance regressed on its daily, weekly and monthly averages.

With ``RV_d`` the realised variance of day d (:func:`realized_variance`, from intraday bars):

    y_t = b0 + b_d RV_t + b_w mean(RV_(t-4) .. RV_t) + b_m mean(RV_(t-21) .. RV_t) + e_t

where ``y_t`` is the label at day t (e.g. ``forward_sum(rv, h)``, the realised variance of
the next h days, or the forward sum of squared daily returns). The coefficients are ordinary
least squares on the training rows whose regressors and label are finite. Every regressor
at t uses RV up to t only. Forecasts are floored at the smallest positive training label so
a variance forecast is always positive (OLS in levels can go negative after a calm spell).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.ml.features import BarsInput, read_bars
from quantdesk.ml.labels import check_horizon
from quantdesk.ml.models.base import FloatArray, Task, check_training

__all__ = ["HarRvVolatility", "realized_variance"]


def realized_variance(intraday: BarsInput, *, timezone: str = "UTC") -> pd.Series[float]:
    """Return each day's realised variance: the sum of squared intraday log returns.

    ``RV_d = sum_i (ln C_(d,i) - ln C_(d,i-1))^2`` over consecutive bars of the same day, so
    the overnight return (previous day's last bar to the day's first) is left out. A day with
    a single bar has no intraday return and gets NaN.

    Parameters
    ----------
    intraday
        Intraday bars of one instrument (see :func:`quantdesk.ml.features.read_bars`).
    timezone
        Time zone whose calendar days group the bars (e.g. ``"America/New_York"``).

    Returns
    -------
    pandas.Series
        Indexed by day (midnight, UTC), named ``rv``.

    Raises
    ------
    ValidationError
        On invalid bars.
    """
    bars = read_bars(intraday, "intraday")
    local = pd.DatetimeIndex(bars.index).tz_convert(timezone)
    days = pd.DatetimeIndex(local.normalize().tz_localize(None)).tz_localize("UTC")
    log_close = np.log(bars["close"].to_numpy())
    returns = np.r_[np.nan, np.diff(log_close)]
    same_day = np.r_[False, days.asi8[1:] == days.asi8[:-1]]
    squared = pd.Series(np.where(same_day, returns**2, np.nan), index=days)
    grouped = squared.groupby(level=0)
    rv = grouped.sum(min_count=1)
    rv.index.name = "date"
    return rv.rename("rv").astype(np.float64)


class HarRvVolatility:
    """HAR-RV forecaster of a forward realised-variance label.

    Parameters
    ----------
    daily_rv
        Daily realised variance indexed by day (see :func:`realized_variance`).
    horizon
        h in days (recorded with the model; the label defines what is forecast).
    weekly, monthly
        Averaging windows of the weekly and monthly regressors (5 and 22 days).

    Notes
    -----
    Feature rows are matched to RV days by the UTC calendar date of their time.
    """

    task: Task = "volatility"

    def __init__(
        self, daily_rv: pd.Series[float], horizon: int = 1, *, weekly: int = 5, monthly: int = 22
    ) -> None:
        if not 1 < weekly < monthly:
            raise ValidationError(
                "invalid HAR windows",
                [Issue("weekly", f"need 1 < weekly < monthly, got {weekly}, {monthly}")],
            )
        rv = pd.Series(daily_rv, dtype=np.float64)
        if not isinstance(rv.index, pd.DatetimeIndex):
            raise ValidationError(
                "daily_rv needs a DatetimeIndex", [Issue("daily_rv", "index it by day")]
            )
        if (rv < 0).any():
            raise ValidationError(
                "realised variance must not be negative", [Issue("daily_rv", "negative value")]
            )
        index = rv.index.tz_localize("UTC") if rv.index.tz is None else rv.index
        rv.index = pd.DatetimeIndex(index.tz_convert("UTC").normalize())
        self.daily_rv = rv
        self.horizon = check_horizon(horizon, len(rv))
        self.weekly = weekly
        self.monthly = monthly
        self._coefficients: FloatArray | None = None
        self._floor = 0.0
        self._regressors = pd.DataFrame(
            {
                "rv_daily": rv,
                "rv_weekly": rv.rolling(weekly, min_periods=weekly).mean(),
                "rv_monthly": rv.rolling(monthly, min_periods=monthly).mean(),
            }
        )

    @classmethod
    def from_intraday(
        cls, intraday: BarsInput, horizon: int = 1, *, timezone: str = "UTC"
    ) -> HarRvVolatility:
        """Build the model on the daily RV of intraday bars (see :func:`realized_variance`)."""
        return cls(realized_variance(intraday, timezone=timezone), horizon)

    @property
    def name(self) -> str:
        """``har_rv``."""
        return "har_rv"

    @property
    def params(self) -> dict[str, Any]:
        """Windows, horizon and, once fitted, the coefficients and floor."""
        out: dict[str, Any] = {
            "horizon": self.horizon,
            "weekly": self.weekly,
            "monthly": self.monthly,
        }
        if self._coefficients is not None:
            names = ("intercept", "beta_daily", "beta_weekly", "beta_monthly")
            out.update(dict(zip(names, self._coefficients.tolist(), strict=True)))
            out["floor"] = self._floor
        return out

    def _design(self, features: pd.DataFrame) -> FloatArray:
        days = pd.DatetimeIndex(features.index)
        days = days.tz_localize("UTC") if days.tz is None else days.tz_convert("UTC")
        rows = self._regressors.reindex(days.normalize())
        return np.column_stack([np.ones(len(rows)), rows.to_numpy(np.float64)])

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> HarRvVolatility:
        """Estimate the HAR coefficients by OLS on the usable training rows.

        Raises
        ------
        ValidationError
            If fewer than 10 training rows have all regressors.
        """
        _, values = check_training(features, labels, self.name)
        design = self._design(features)
        usable = np.isfinite(design).all(axis=1)
        if usable.sum() < 10:
            raise ValidationError(
                f"{self.name}: too little history to fit",
                [
                    Issue(
                        "features",
                        f"{int(usable.sum())} rows have daily, weekly and monthly "
                        "RV; HAR needs at least 10",
                    )
                ],
            )
        solution = np.linalg.lstsq(design[usable], values[usable], rcond=None)[0]
        self._coefficients = np.asarray(solution, dtype=np.float64)
        positive = values[usable][values[usable] > 0]
        self._floor = float(positive.min()) if positive.size else 1e-12
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return the forecast per row (NaN where a regressor is missing)."""
        if self._coefficients is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        forecast = self._design(features) @ self._coefficients
        return np.where(np.isnan(forecast), np.nan, np.maximum(forecast, self._floor))
