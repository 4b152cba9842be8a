"""Numba kernels that decide whether and at what price an order fills on a bar.

Scalars in, scalars out, so the Python matching engine and numba simulation loops run the
same code. ``side`` is ``+1`` (buy) or ``-1`` (sell); order types are the ``ORDER_*`` codes;
missing prices are NaN. A *reference price* is the price before slippage.

Gap rule: a level that the bar opens through fills at the open (a buy limit at 100 when the
bar opens at 98 fills at 98; a sell stop at 95 when the bar opens at 93 fills at 93); a level
inside the bar's range fills at the level; the bar's range "touches" a level when
``low <= level <= high`` (touch, not penetration).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from quantdesk.execution.sim._costs_nb import fee_nb, slipped_price_nb

FloatArray = npt.NDArray[np.float64]

ORDER_MARKET = 0
ORDER_LIMIT = 1
ORDER_STOP = 2
ORDER_STOP_LIMIT = 3
ORDER_TRAILING_STOP = 4


@njit(cache=True)
def limit_fill_price_nb(
    side: int, limit_price: float, open_: float, high: float, low: float
) -> float:
    """Return where a limit order fills on the bar, or NaN.

    Buy: the open when ``open <= limit`` (gap through), else the limit when ``low <= limit``.
    Sell: the open when ``open >= limit``, else the limit when ``high >= limit``.
    """
    if side > 0:
        if open_ <= limit_price:
            return open_
        if low <= limit_price:
            return limit_price
    else:
        if open_ >= limit_price:
            return open_
        if high >= limit_price:
            return limit_price
    return math.nan


@njit(cache=True)
def stop_fill_price_nb(
    side: int, stop_price: float, open_: float, high: float, low: float
) -> float:
    """Return where a stop order triggers on the bar, or NaN.

    Buy: the open when ``open >= stop`` (gap through), else the stop when ``high >= stop``.
    Sell: the open when ``open <= stop``, else the stop when ``low <= stop``.
    """
    if side > 0:
        if open_ >= stop_price:
            return open_
        if high >= stop_price:
            return stop_price
    else:
        if open_ <= stop_price:
            return open_
        if low <= stop_price:
            return stop_price
    return math.nan


@njit(cache=True)
def fill_price_nb(
    order_type: int,
    side: int,
    limit_price: float,
    stop_price: float,
    triggered: bool,
    open_: float,
    high: float,
    low: float,
) -> tuple[float, bool]:
    """Return ``(reference fill price or NaN, triggered)`` for an order on one bar.

    Market orders fill at the open. Stop and trailing-stop orders (``stop_price`` is the
    trailing level in force at the open) follow :func:`stop_fill_price_nb`. A stop-limit order
    is triggered by its stop (``triggered`` carries that over from earlier bars) and then
    behaves as a limit order: triggered at the open it fills as a limit from the open;
    triggered inside the bar at the stop it fills at the stop only when the stop is within the
    limit (buy: ``stop <= limit``), otherwise it waits for later bars because the bar's path
    after the trigger is unknown.
    """
    if order_type == ORDER_MARKET:
        return open_, True
    if order_type == ORDER_LIMIT:
        return limit_fill_price_nb(side, limit_price, open_, high, low), True
    if order_type in (ORDER_STOP, ORDER_TRAILING_STOP):
        return stop_fill_price_nb(side, stop_price, open_, high, low), True
    if order_type == ORDER_STOP_LIMIT:
        if triggered:
            return limit_fill_price_nb(side, limit_price, open_, high, low), True
        trigger = stop_fill_price_nb(side, stop_price, open_, high, low)
        if math.isnan(trigger):
            return math.nan, False
        if trigger == open_:
            return limit_fill_price_nb(side, limit_price, open_, high, low), True
        if (limit_price - trigger) * side >= 0.0:
            return trigger, True
        return math.nan, True
    return math.nan, False


@njit(cache=True)
def trailing_stop_price_nb(
    side: int, extreme: float, trail_amount: float, trail_percent: float
) -> float:
    """Return the trailing stop level for the favourable ``extreme`` seen so far.

    A sell trailing stop (protecting a long) trails below the highest high:
    ``extreme - amount`` or ``extreme * (1 - percent / 100)``; a buy trailing stop (protecting
    a short) trails above the lowest low: ``extreme + amount`` or
    ``extreme * (1 + percent / 100)``. Exactly one of ``trail_amount``/``trail_percent`` is not
    NaN.
    """
    offset = extreme * trail_percent / 100.0 if math.isnan(trail_amount) else trail_amount
    return extreme - offset if side < 0 else extreme + offset


@njit(cache=True)
def ratchet_extreme_nb(side: int, extreme: float, high: float, low: float) -> float:
    """Return the favourable extreme after a bar: the highest high (sell) or lowest low (buy).

    NaN ``extreme`` starts from this bar. The level only ever moves in the order's favour.
    """
    if side < 0:
        return high if math.isnan(extreme) else max(extreme, high)
    return low if math.isnan(extreme) else min(extreme, low)


@njit(cache=True)
def capped_quantity_nb(
    remaining: float, volume: float, participation: float, used: float, lot_size: float
) -> float:
    """Return how much of ``remaining`` may fill under a volume participation cap.

    The bar offers ``participation * volume`` units, of which ``used`` went to earlier orders
    on the same bar; the allowance is rounded down to whole ``lot_size`` lots. NaN
    ``participation`` or ``volume`` means no cap.
    """
    if math.isnan(participation) or math.isnan(volume):
        return remaining
    available = participation * volume - used
    if available <= 0.0:
        return 0.0
    lots = math.floor(available / lot_size + 1e-9)
    return min(remaining, lots * lot_size)


@njit(cache=True)
def execute_fill_nb(
    side: int,
    quantity: float,
    reference_price: float,
    limit_price: float,
    slippage_kind: int,
    slippage_params: FloatArray,
    spread: float,
    volatility: float,
    adv: float,
    fee_kind: int,
    fee_params: FloatArray,
    order_filled: float,
    order_notional: float,
    order_fees: float,
) -> tuple[float, float, float]:
    """Return ``(fill price, fee, slippage cost)`` for a fill of ``quantity`` at a reference.

    The slippage model moves the price against the trader; for orders with a limit
    (``limit_price`` not NaN) the slipped price is capped at the limit, never worse. The fee is
    charged on the order's cumulative size: ``fee(filled + quantity, notional + this notional)
    - fees already charged``, so minimums and tiers apply once per order across partial fills.
    The slippage cost is ``|price - reference| * quantity``. NaN price when slippage inputs are
    missing.
    """
    price = slipped_price_nb(
        slippage_kind, slippage_params, side, reference_price, quantity, spread, volatility, adv
    )
    if not math.isnan(limit_price):
        if side > 0:
            price = max(reference_price, min(price, limit_price))
        else:
            price = min(reference_price, max(price, limit_price))
    notional = quantity * price
    total_fee = fee_nb(fee_kind, fee_params, order_filled + quantity, order_notional + notional)
    return price, total_fee - order_fees, abs(price - reference_price) * quantity
