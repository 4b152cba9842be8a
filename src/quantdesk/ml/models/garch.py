"""GARCH(1,1) and GJR-GARCH(1,1,1) variance forecasts (``arch``), refitted per training window.

Model of the daily log return ``r_t = mu + e_t``, ``e_t = sigma_t z_t``, z standardised
Student-t (``dist="t"``, the default) or normal:

- GARCH(1,1): ``sigma_t^2 = omega + alpha e_(t-1)^2 + beta sigma_(t-1)^2``;
- GJR-GARCH(1,1,1): ``sigma_t^2 = omega + (alpha + gamma 1[e_(t-1) < 0]) e_(t-1)^2 +
  beta sigma_(t-1)^2`` (bad news raises variance more).

``fit`` estimates the parameters by maximum likelihood on the returns inside the training
window (the first to the last date of the training rows; the labels are not used: GARCH is
fitted on the returns themselves), in per cent (returns x 100, where ``arch``'s optimiser is
best conditioned). ``predict`` then filters the variance forward with those fixed parameters
through each forecast date t, using returns up to t only (the model is rebuilt on the returns
from the window's start to the last date asked for), and returns the h-step forecast of the
variance of the summed returns, ``sum_(k=1..h) E_t[sigma_(t+k)^2]`` (``arch``'s analytic
forecasts), converted back to squared log-return units. That matches the label
:func:`quantdesk.ml.labels.forward_realized_variance` over the same h.

``arch`` clips the variance recursion to bounds derived from the data it holds (1e-8 x the
sample variance up to 1e7 x (1 + the largest squared residual)): far from any realistic value,
so they never bind in practice.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.ml.labels import check_horizon
from quantdesk.ml.models.base import FloatArray, Task, prediction_dates

__all__ = ["GarchKind", "GarchVolatility"]

GarchKind = Literal["garch", "gjr"]
_SCALE = 100.0


def _returns(returns: pd.Series[float]) -> pd.Series[float]:
    series = pd.Series(returns, dtype=np.float64).dropna()
    if not series.index.is_monotonic_increasing or series.index.has_duplicates:
        raise ValidationError(
            "returns must be in strictly increasing time order",
            [Issue("returns", "sort the returns and drop repeated dates")],
        )
    bad = ~np.isfinite(series.to_numpy())
    if bad.any():
        row = int(np.argmax(bad))
        raise ValidationError(
            "returns must be finite", [Issue("returns", f"infinite value at row {row}", row=row)]
        )
    return series


class GarchVolatility:
    """GARCH(1,1) or GJR-GARCH(1,1,1) h-step variance forecaster.

    Parameters
    ----------
    returns
        Daily log returns (fractions, not per cent) indexed like the feature rows; a leading
        NaN (the first bar) is dropped.
    horizon
        h in bars: forecasts are the variance of the next h returns' sum.
    kind
        ``"garch"`` or ``"gjr"``.
    dist
        Innovation distribution: ``"t"`` (Student-t), ``"normal"`` or ``"skewt"``.
    mean
        ``"constant"`` (mu estimated) or ``"zero"``.
    """

    task: Task = "volatility"

    def __init__(
        self,
        returns: pd.Series[float],
        horizon: int = 1,
        *,
        kind: GarchKind = "garch",
        dist: Literal["t", "normal", "skewt"] = "t",
        mean: Literal["constant", "zero"] = "constant",
    ) -> None:
        issues = []
        if kind not in ("garch", "gjr"):
            issues.append(Issue("kind", f"got {kind!r}; use 'garch' or 'gjr'"))
        if dist not in ("t", "normal", "skewt"):
            issues.append(Issue("dist", f"got {dist!r}; use 't', 'normal' or 'skewt'"))
        if mean not in ("constant", "zero"):
            issues.append(Issue("mean", f"got {mean!r}; use 'constant' or 'zero'"))
        if issues:
            raise ValidationError("invalid GARCH settings", issues)
        self.returns = _returns(returns)
        self.horizon = check_horizon(horizon, len(self.returns) + 1)
        self.kind: GarchKind = kind
        self.dist = dist
        self.mean = mean
        self._params: dict[str, float] | None = None
        self._window: tuple[pd.Timestamp, pd.Timestamp] | None = None
        self._converged = False
        self._log_likelihood = float("nan")

    @property
    def name(self) -> str:
        """``garch_t``, ``gjr_garch_t`` (or ``_normal`` / ``_skewt``)."""
        return f"{'gjr_garch' if self.kind == 'gjr' else 'garch'}_{self.dist}"

    @property
    def params(self) -> dict[str, Any]:
        """Settings and, once fitted, the estimates (per-cent units) and fit window."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "dist": self.dist,
            "mean": self.mean,
            "horizon": self.horizon,
        }
        if self._params is not None and self._window is not None:
            out.update({f"param_{k}": v for k, v in self._params.items()})
            out.update(
                {
                    "fit_start": self._window[0].isoformat(),
                    "fit_end": self._window[1].isoformat(),
                    "converged": self._converged,
                    "log_likelihood": self._log_likelihood,
                }
            )
        return out

    def _model(self, data: pd.Series[float]) -> Any:
        from arch import arch_model

        return arch_model(
            _SCALE * data,
            mean="Constant" if self.mean == "constant" else "Zero",
            vol="GARCH",
            p=1,
            o=1 if self.kind == "gjr" else 0,
            q=1,
            dist="studentst" if self.dist == "t" else self.dist,
            rescale=False,
        )

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> GarchVolatility:
        """Estimate the parameters on the returns from the first to the last training date.

        ``labels`` are not used (the model is fitted on the returns); they are accepted so
        every model fits the same way.

        Raises
        ------
        ValidationError
            If a training date has no return or the window holds fewer than 100 returns.
        """
        positions = prediction_dates(features, self.returns, self.name)
        first, last = int(positions.min()), int(positions.max())
        window = self.returns.iloc[first : last + 1]
        if len(window) < 100:
            raise ValidationError(
                f"{self.name}: too little history to fit",
                [
                    Issue(
                        "features",
                        f"the training window holds {len(window)} returns; "
                        "GARCH needs at least 100",
                    )
                ],
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self._model(window).fit(disp="off", show_warning=False)
        self._params = {str(k): float(v) for k, v in result.params.items()}
        self._window = (window.index[0], window.index[-1])
        self._converged = int(result.convergence_flag) == 0
        self._log_likelihood = float(result.loglikelihood)
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return the h-step variance forecast made at each row's date.

        Raises
        ------
        ValidationError
            If a date has no return or comes before the fit window's start.
        """
        if self._params is None or self._window is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        if len(features) == 0:
            return np.empty(0)
        positions = prediction_dates(features, self.returns, self.name)
        start = int(self.returns.index.searchsorted(self._window[0]))
        if positions.min() < start:
            raise ValidationError(
                f"{self.name}: cannot forecast before the fit window",
                [Issue("features", f"dates start before {self._window[0]}")],
            )
        data = self.returns.iloc[start : int(positions.max()) + 1]
        origin = int(positions.min()) - start
        params = np.array(list(self._params.values()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forecast = self._model(data).forecast(
                params, horizon=self.horizon, start=origin, reindex=False
            )
        variance = np.asarray(forecast.variance, dtype=np.float64).sum(axis=1)
        result: FloatArray = variance[positions - start - origin] / _SCALE**2
        return result
