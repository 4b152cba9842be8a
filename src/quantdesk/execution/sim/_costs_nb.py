"""Numba kernels for commissions and slippage: scalars in, scalars out.

Models are passed as a small integer ``kind`` and a float64 ``params`` array, so the same
functions serve the Python model classes (:mod:`.fees`, :mod:`.slippage`) and the numba
simulation loops. ``side`` is ``+1`` for a buy and ``-1`` for a sell. Missing inputs are NaN.

Fee ``params`` layout: ``[minimum, maximum_rate, ...]`` followed by

- ``FEE_PER_SHARE``: ``[rate_per_share]``
- ``FEE_PERCENT``: ``[rate]`` (fraction of notional, ``0.001`` = 0.1 %)
- ``FEE_TIERED``: ``[basis, n, breakpoint_0 .. breakpoint_n-1, rate_0 .. rate_n-1]`` with
  ``basis`` ``0`` (notional, rates are fractions) or ``1`` (shares, rates per share) and
  ``breakpoint_0 = 0``.

Slippage ``params`` layout:

- ``SLIPPAGE_FIXED_BPS``: ``[bps]``
- ``SLIPPAGE_SPREAD``: ``[spread_bps]`` (used when no quoted spread is given; NaN = none)
- ``SLIPPAGE_SQRT_IMPACT``: ``[coefficient, volatility, adv]`` (defaults for the per-bar
  ``volatility`` and ``adv`` inputs; NaN = none)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

FEE_NONE = 0
FEE_PER_SHARE = 1
FEE_PERCENT = 2
FEE_TIERED = 3

TIER_BASIS_NOTIONAL = 0
TIER_BASIS_SHARES = 1

SLIPPAGE_NONE = 0
SLIPPAGE_FIXED_BPS = 1
SLIPPAGE_SPREAD = 2
SLIPPAGE_SQRT_IMPACT = 3

_BPS = 1e-4


@njit(cache=True)
def tiered_charge_nb(params: FloatArray, size: float) -> float:
    """Return the progressive (marginal) tiered charge on ``size``.

    Each tier's rate applies only to the part of ``size`` inside the tier, like income-tax
    brackets: ``sum_i rate_i * max(0, min(size, breakpoint_{i+1}) - breakpoint_i)``. ``params``
    is a ``FEE_TIERED`` parameter array.
    """
    n = int(params[3])
    charge = 0.0
    for i in range(n):
        lower = params[4 + i]
        upper = params[4 + i + 1] if i + 1 < n else math.inf
        if size <= lower:
            break
        charge += params[4 + n + i] * (min(size, upper) - lower)
    return charge


@njit(cache=True)
def fee_nb(kind: int, params: FloatArray, quantity: float, notional: float) -> float:
    """Return the commission on an order of ``quantity`` units worth ``notional``.

    ``fee = min(max(raw, minimum), maximum_rate * notional)`` where ``raw`` is
    ``rate * quantity`` (per share), ``rate * notional`` (percent) or the progressive tiered
    charge; the cap applies only when ``maximum_rate`` is not NaN (Interactive Brokers' fixed
    US pricing: USD 0.005 a share, USD 1 minimum, at most 1 % of trade value). An empty order
    (``quantity <= 0``) costs nothing. The fee is non-decreasing in ``quantity`` and
    ``notional``, so charging ``fee(cumulative) - fee(previous cumulative)`` per partial fill
    charges the minimum once per order.
    """
    if kind == FEE_NONE or quantity <= 0.0:
        return 0.0
    third: float = params[2]
    raw = 0.0
    if kind == FEE_PER_SHARE:
        raw = third * quantity
    elif kind == FEE_PERCENT:
        raw = third * notional
    elif kind == FEE_TIERED:
        size = notional if third == TIER_BASIS_NOTIONAL else quantity
        raw = tiered_charge_nb(params, size)
    else:
        return math.nan
    minimum: float = params[0]
    maximum_rate: float = params[1]
    fee = max(raw, minimum)
    if not math.isnan(maximum_rate):
        fee = min(fee, maximum_rate * notional)
    return fee


@njit(cache=True)
def slipped_price_nb(
    kind: int,
    params: FloatArray,
    side: int,
    price: float,
    quantity: float,
    spread: float,
    volatility: float,
    adv: float,
) -> float:
    """Return ``price`` moved against the trader by the slippage model (NaN if inputs lack).

    - fixed: ``price * (1 + side * bps / 10_000)``.
    - spread: pay half the quoted spread, ``price + side * spread / 2``; without a quote,
      ``price * (1 + side * spread_bps / 2 / 10_000)``.
    - square-root impact: ``price * (1 + side * k * volatility * sqrt(quantity / adv))`` with
      ``volatility`` the daily return standard deviation and ``adv`` the average daily volume
      in units (Almgren, Thum, Hauptmann and Li, "Direct estimation of equity market impact",
      Risk 2005; Torre, BARRA Market Impact Model Handbook, 1997).
    """
    if kind == SLIPPAGE_NONE:
        return price
    first: float = params[0]
    if kind == SLIPPAGE_FIXED_BPS:
        return price * (1.0 + side * first * _BPS)
    if kind == SLIPPAGE_SPREAD:
        if not math.isnan(spread):
            return price + side * spread / 2.0
        return price * (1.0 + side * first * _BPS / 2.0)
    if kind == SLIPPAGE_SQRT_IMPACT:
        default_sigma: float = params[1]
        default_adv: float = params[2]
        sigma = volatility if not math.isnan(volatility) else default_sigma
        daily_volume = adv if not math.isnan(adv) else default_adv
        if not daily_volume > 0.0:
            return math.nan
        return price * (1.0 + side * first * sigma * math.sqrt(quantity / daily_volume))
    return math.nan
