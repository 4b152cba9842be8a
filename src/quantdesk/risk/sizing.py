"""Position sizing: how much to buy given equity, a risk budget and a view of the odds.

- **Fixed fractional** (:func:`fixed_fractional_size`): risk ``risk_fraction`` of equity on a
  trade, ``quantity = equity * risk_fraction / |entry - stop|``.
- **ATR stop** (:func:`atr_stop_size`): stop at ``entry - k * ATR`` (long) or
  ``entry + k * ATR`` (short), then fixed fractional. ATR is an input (e.g. the last value of
  ``talib.ATR(high, low, close, 14)`` or ``quantdesk.indicators.compute("atr", bars)``).
- **Kelly** (:func:`kelly_fraction`): ``f* = p - (1 - p) / b`` for a bet won with probability
  ``p`` paying ``b`` per unit lost. **Continuous Kelly** (:func:`kelly_from_moments`,
  :func:`kelly_from_returns`): ``f* = (mu - r) / sigma²`` for per-period mean ``mu``, variance
  ``sigma²`` and risk-free rate ``r``. Every Kelly function takes ``fraction`` for
  fractional Kelly (0.5 = half Kelly). A negative result means the edge is negative: the
  bettor should not take (or should take the other side of) the bet.
- **Volatility targeting** (:func:`volatility_target`): scale exposure by
  ``target / realised``, realised volatility the sample standard deviation (``ddof=1``) of the
  last ``lookback`` returns annualised by ``sqrt(periods_per_year)``, capped at
  ``max_leverage``.
- **Risk parity** (:func:`risk_parity_weights`): long-only weights whose risk contributions
  ``w_i (Sigma w)_i / w' Sigma w`` equal the budgets (equal by default). Solved as the
  strictly convex problem ``min_y ½ y' Sigma y - sum_i b_i ln y_i`` (Spinu 2013) with
  ``scipy.optimize.minimize`` (trust-region, exact gradient and Hessian), then ``w = y / sum y``.

Quantities are fractional unless ``whole_shares=True``, which rounds down so the loss at the
stop never exceeds the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize  # type: ignore[import-untyped, unused-ignore]

from quantdesk.core.errors import Issue, ValidationError

FloatArray = npt.NDArray[np.float64]
Side = Literal["long", "short"]


def _invalid(location: str, reason: str) -> ValidationError:
    return ValidationError(f"invalid {location}", [Issue(location, reason)])


def _positive(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise _invalid(name, f"got {value!r}; give a finite number > 0")
    return number


def _fraction(name: str, value: float, *, upper: float = 1.0) -> float:
    number = float(value)
    if not math.isfinite(number) or not 0 < number <= upper:
        raise _invalid(name, f"got {value!r}; give a fraction in (0, {upper:g}]")
    return number


@dataclass(frozen=True, slots=True)
class PositionSize:
    """A sized position.

    ``quantity`` is in units (shares, contracts); ``notional = quantity * entry_price``;
    ``risk_amount`` is the loss if the stop is hit (``quantity * risk_per_unit``), never more
    than ``risk_budget = equity * risk_fraction``. ``capped`` says the notional cap bound.
    """

    side: Side
    quantity: float
    entry_price: float
    stop_price: float
    risk_per_unit: float
    risk_budget: float
    risk_amount: float
    notional: float
    fraction_of_equity: float
    capped: bool


def fixed_fractional_size(
    equity: float,
    entry_price: float,
    stop_price: float,
    risk_fraction: float = 0.01,
    *,
    side: Side = "long",
    whole_shares: bool = False,
    max_notional_fraction: float | None = None,
) -> PositionSize:
    """Size a trade so that hitting the stop loses ``risk_fraction`` of ``equity``.

    Parameters
    ----------
    equity
        Account equity (> 0).
    entry_price, stop_price
        Prices (> 0); the stop must be below the entry for a long, above it for a short.
    risk_fraction
        Fraction of equity to risk, in (0, 1].
    side
        ``"long"`` or ``"short"``.
    whole_shares
        Round the quantity down to a whole number.
    max_notional_fraction
        Optional cap on ``notional / equity`` (1.0 = no leverage).

    Returns
    -------
    PositionSize

    Raises
    ------
    ValidationError
        On non-positive equity or prices, a fraction outside (0, 1], or a stop on the wrong
        side of the entry.
    """
    equity = _positive("equity", equity)
    entry = _positive("entry_price", entry_price)
    stop = _positive("stop_price", stop_price)
    risk_fraction = _fraction("risk_fraction", risk_fraction)
    if side not in ("long", "short"):
        raise _invalid("side", f"got {side!r}; use 'long' or 'short'")
    per_unit = entry - stop if side == "long" else stop - entry
    if per_unit <= 0:
        where = "below" if side == "long" else "above"
        raise _invalid(
            "stop_price",
            f"a {side} stop must be {where} the entry (entry {entry:g}, stop {stop:g})",
        )
    budget = equity * risk_fraction
    quantity = budget / per_unit
    capped = False
    if max_notional_fraction is not None:
        cap = _positive("max_notional_fraction", max_notional_fraction) * equity / entry
        if quantity > cap:
            quantity, capped = cap, True
    if whole_shares:
        # A tiny tolerance keeps 99.99999999 from flooring to 99 after float division.
        quantity = float(math.floor(quantity * (1.0 + 1e-12)))
        if quantity * per_unit > budget:
            quantity -= 1.0
    notional = quantity * entry
    return PositionSize(
        side=side,
        quantity=quantity,
        entry_price=entry,
        stop_price=stop,
        risk_per_unit=per_unit,
        risk_budget=budget,
        risk_amount=quantity * per_unit,
        notional=notional,
        fraction_of_equity=notional / equity,
        capped=capped,
    )


def atr_stop_size(
    equity: float,
    entry_price: float,
    atr: float,
    *,
    multiple: float = 2.0,
    risk_fraction: float = 0.01,
    side: Side = "long",
    whole_shares: bool = False,
    max_notional_fraction: float | None = None,
) -> PositionSize:
    """Size a trade with its stop ``multiple`` ATRs from the entry.

    The stop is ``entry - multiple * atr`` for a long and ``entry + multiple * atr`` for a
    short; the rest is :func:`fixed_fractional_size`.

    Raises
    ------
    ValidationError
        On a non-positive ATR or multiple, or a long stop at or below zero, besides the
        errors of :func:`fixed_fractional_size`.
    """
    distance = _positive("multiple", multiple) * _positive("atr", atr)
    entry = _positive("entry_price", entry_price)
    stop = entry - distance if side == "long" else entry + distance
    if stop <= 0:
        raise _invalid(
            "atr",
            f"the stop {entry:g} - {multiple:g} x {atr:g} is not a positive price; "
            "use a smaller multiple",
        )
    return fixed_fractional_size(
        equity,
        entry,
        stop,
        risk_fraction,
        side=side,
        whole_shares=whole_shares,
        max_notional_fraction=max_notional_fraction,
    )


def kelly_fraction(
    win_probability: float, win_loss_ratio: float, *, fraction: float = 1.0
) -> float:
    """Return the Kelly fraction ``fraction * (p - (1 - p) / b)`` of a repeated bet.

    Parameters
    ----------
    win_probability
        Probability ``p`` of winning, in [0, 1].
    win_loss_ratio
        Average win divided by average loss, ``b`` (> 0).
    fraction
        Multiplier for fractional Kelly, in (0, 1] (0.5 = half Kelly).

    Raises
    ------
    ValidationError
        On ``p`` outside [0, 1], ``b <= 0`` or ``fraction`` outside (0, 1].
    """
    p = float(win_probability)
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise _invalid("win_probability", f"got {win_probability!r}; give a probability in [0, 1]")
    b = _positive("win_loss_ratio", win_loss_ratio)
    return _fraction("fraction", fraction) * (p - (1.0 - p) / b)


def kelly_from_moments(
    mean: float, variance: float, *, risk_free: float = 0.0, fraction: float = 1.0
) -> float:
    """Return the continuous Kelly leverage ``fraction * (mean - risk_free) / variance``.

    ``mean``, ``variance`` and ``risk_free`` are per period (all the same period).

    Raises
    ------
    ValidationError
        On a non-positive variance, non-finite inputs or ``fraction`` outside (0, 1].
    """
    variance = _positive("variance", variance)
    if not (math.isfinite(mean) and math.isfinite(risk_free)):
        raise _invalid("mean", "mean and risk_free must be finite")
    return _fraction("fraction", fraction) * (float(mean) - float(risk_free)) / variance


def kelly_from_returns(
    returns: npt.ArrayLike | pd.Series[float], *, risk_free: float = 0.0, fraction: float = 1.0
) -> float:
    """Return continuous Kelly from a return sample: sample mean over variance (``ddof=1``).

    ``risk_free`` is per period, like the returns. NaNs are dropped.

    Raises
    ------
    ValidationError
        With fewer than two returns or a constant sample.
    """
    values = np.asarray(returns, dtype=np.float64).reshape(-1)
    values = values[~np.isnan(values)]
    if values.size < 2 or not np.all(np.isfinite(values)):
        raise _invalid("returns", "give at least two finite returns")
    variance = float(values.var(ddof=1))
    if variance == 0.0:
        raise _invalid("returns", "the returns are constant; Kelly is unbounded")
    return kelly_from_moments(
        float(values.mean()), variance, risk_free=risk_free, fraction=fraction
    )


@dataclass(frozen=True, slots=True)
class VolatilityTarget:
    """Exposure scale for a volatility target: ``scale = min(target / realised, max_leverage)``."""

    scale: float
    realised_volatility: float
    target_volatility: float
    observations: int
    capped: bool


def volatility_target(
    returns: npt.ArrayLike | pd.Series[float],
    target_volatility: float,
    *,
    lookback: int = 63,
    periods_per_year: float = 252,
    max_leverage: float | None = 1.0,
) -> VolatilityTarget:
    """Return the exposure scale that brings recent realised volatility to an annual target.

    Parameters
    ----------
    returns
        Simple periodic returns, oldest first; the last ``lookback`` (NaNs dropped) are used.
    target_volatility
        Annual volatility target, e.g. 0.10.
    lookback
        Number of most recent returns for the realised volatility (>= 2).
    periods_per_year
        Annualisation factor (252 for daily returns).
    max_leverage
        Cap on the scale (``None`` = uncapped).

    Raises
    ------
    ValidationError
        On bad parameters, too few returns or zero realised volatility.
    """
    target = _positive("target_volatility", target_volatility)
    annual = _positive("periods_per_year", periods_per_year)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 2:
        raise _invalid("lookback", f"got {lookback!r}; give a whole number >= 2")
    values = np.asarray(returns, dtype=np.float64).reshape(-1)
    values = values[~np.isnan(values)][-lookback:]
    if values.size < 2 or not np.all(np.isfinite(values)):
        raise _invalid("returns", "give at least two finite returns")
    realised = float(values.std(ddof=1)) * math.sqrt(annual)
    if realised == 0.0:
        raise _invalid("returns", "realised volatility is zero; the scale is unbounded")
    scale = target / realised
    capped = False
    if max_leverage is not None and scale > _positive("max_leverage", max_leverage):
        scale, capped = float(max_leverage), True
    return VolatilityTarget(scale, realised, target, int(values.size), capped)


@dataclass(frozen=True, slots=True)
class RiskParityResult:
    """Risk-budgeting weights and their risk contributions (fractions summing to 1)."""

    weights: FloatArray
    risk_contributions: FloatArray
    budgets: FloatArray
    volatility: float
    converged: bool
    labels: tuple[str, ...] | None = None

    def to_series(self) -> pd.Series[float]:
        """Return the weights as a Series labelled by asset."""
        labels = self.labels or tuple(str(i) for i in range(self.weights.size))
        return pd.Series(self.weights, index=pd.Index(list(labels), name="asset"), name="weight")


def risk_contributions(weights: npt.ArrayLike, covariance: npt.ArrayLike) -> FloatArray:
    """Return each asset's share ``w_i (Sigma w)_i / (w' Sigma w)`` of portfolio variance."""
    w = np.asarray(weights, dtype=np.float64)
    sigma = np.asarray(covariance, dtype=np.float64)
    marginal = sigma @ w
    return np.asarray(w * marginal / float(w @ marginal), dtype=np.float64)


def risk_parity_weights(
    covariance: npt.ArrayLike | pd.DataFrame,
    *,
    budgets: npt.ArrayLike | None = None,
    tolerance: float = 1e-10,
) -> RiskParityResult:
    """Return long-only weights whose risk contributions match ``budgets`` (equal by default).

    Parameters
    ----------
    covariance
        Symmetric positive-definite covariance matrix (a DataFrame keeps its labels).
    budgets
        Positive risk budgets, normalised to sum to 1; equal when ``None``.
    tolerance
        Gradient tolerance of the solver.

    Returns
    -------
    RiskParityResult
        ``converged`` says every risk contribution is within 1e-9 of its budget (otherwise
        the weights are the best found; check ``risk_contributions``).

    Raises
    ------
    ValidationError
        If the matrix is not square, symmetric and positive definite, or a budget is not
        positive.
    """
    labels = (
        tuple(str(c) for c in covariance.columns) if isinstance(covariance, pd.DataFrame) else None
    )
    sigma = np.asarray(covariance, dtype=np.float64)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or sigma.shape[0] == 0:
        raise _invalid("covariance", f"give a square matrix, got shape {sigma.shape}")
    if not np.all(np.isfinite(sigma)) or not np.allclose(sigma, sigma.T, rtol=1e-10, atol=0):
        raise _invalid("covariance", "the matrix must be finite and symmetric")
    try:
        np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        raise _invalid("covariance", "the matrix is not positive definite") from None
    count = sigma.shape[0]
    if budgets is None:
        b = np.full(count, 1.0 / count)
    else:
        b = np.asarray(budgets, dtype=np.float64).reshape(-1)
        if b.shape[0] != count or not np.all(np.isfinite(b)) or not np.all(b > 0):
            raise _invalid("budgets", f"give {count} positive budgets")
        b = b / b.sum()
    # Scale so the objective is O(1) whatever the units of the covariance.
    scale = float(np.mean(np.diag(sigma)))
    scaled = sigma / scale
    start = b / np.sqrt(np.diag(scaled))

    def objective(y: FloatArray) -> float:
        # Steps that leave the positive orthant are rejected by an infinite objective.
        if np.any(y <= 0):
            return math.inf
        return float(0.5 * y @ scaled @ y - b @ np.log(y))

    fit = optimize.minimize(
        objective,
        start,
        jac=lambda y: scaled @ y - b / y,
        hess=lambda y: scaled + np.diag(b / y**2),
        method="trust-exact",
        options={"gtol": tolerance, "maxiter": 1000},
    )
    y = np.asarray(fit.x, dtype=np.float64)
    # The trust region stops once the objective no longer resolves progress; a few plain
    # Newton steps on the gradient take the residual down to rounding level.
    for _ in range(3):
        step = np.linalg.solve(scaled + np.diag(b / y**2), scaled @ y - b / y)
        if not np.all(y - step > 0):
            break
        y = y - step
    weights = y / y.sum()
    contributions = risk_contributions(weights, sigma)
    return RiskParityResult(
        weights=weights,
        risk_contributions=contributions,
        budgets=b,
        volatility=math.sqrt(float(weights @ sigma @ weights)),
        converged=bool(np.all(y > 0) and np.abs(contributions - b).max() <= 1e-9),
        labels=labels,
    )
