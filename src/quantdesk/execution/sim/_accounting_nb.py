"""Numba kernels for position accounting: average cost, realised P&L, borrow, corporate actions.

Float64 scalars in and out (analytics precision; the exact ledger lives in
:mod:`quantdesk.portfolio`). Positions are signed quantities (negative = short) with an average
cost per unit; fees are accounted separately and never enter the average cost.
"""

from __future__ import annotations

from numba import njit

#: Relative size below which a position that should be flat is treated as exactly zero.
FLAT_TOLERANCE = 1e-9


@njit(cache=True)
def apply_fill_nb(
    position: float, average_cost: float, trade_quantity: float, price: float
) -> tuple[float, float, float]:
    """Return ``(position, average cost, realised P&L)`` after a signed trade at ``price``.

    Average-cost method. A trade in the position's direction re-averages the cost; a trade
    against it realises ``closed * (price - average cost) * sign(position)`` on the closed
    units and keeps the cost of what is left; a trade through zero (long to short or back)
    closes everything and opens the remainder at ``price``. A flat position has cost 0.
    """
    new_position = position + trade_quantity
    scale = max(abs(position), abs(trade_quantity))
    if abs(new_position) <= FLAT_TOLERANCE * scale:
        new_position = 0.0
    if position == 0.0 or (position > 0.0) == (trade_quantity > 0.0):
        total = abs(position) + abs(trade_quantity)
        cost = (abs(position) * average_cost + abs(trade_quantity) * price) / total
        return new_position, cost, 0.0
    closed = min(abs(trade_quantity), abs(position))
    direction = 1.0 if position > 0.0 else -1.0
    realised = closed * (price - average_cost) * direction
    if new_position == 0.0:
        return 0.0, 0.0, realised
    if (new_position > 0.0) == (position > 0.0):
        return new_position, average_cost, realised
    return new_position, price, realised


@njit(cache=True)
def borrow_cost_nb(
    position: float, price: float, annual_rate: float, days: float, day_count: float
) -> float:
    """Return the borrow fee on a short over ``days`` calendar days (0 for a long or flat).

    ``|position| * price * annual_rate * days / day_count``: simple daily accrual on the short
    market value, the way brokers charge stock-loan fees (``day_count`` 360 for USD).
    """
    if position >= 0.0:
        return 0.0
    return -position * price * annual_rate * days / day_count


@njit(cache=True)
def split_nb(position: float, average_cost: float, ratio: float) -> tuple[float, float]:
    """Return ``(position * ratio, average_cost / ratio)``; ``ratio`` = shares after / before.

    The position's total cost (and so its P&L) is unchanged.
    """
    return position * ratio, average_cost / ratio


@njit(cache=True)
def dividend_cash_nb(position: float, amount_per_share: float) -> float:
    """Return the cash a cash dividend moves: received on a long, paid on a short."""
    return position * amount_per_share


@njit(cache=True)
def exposure_after_nb(
    equity: float,
    gross_exposure: float,
    position: float,
    mark: float,
    trade_quantity: float,
    price: float,
    fee: float,
) -> tuple[float, float]:
    """Return ``(gross exposure, equity)`` after a trade, re-marking the symbol at ``price``.

    ``exposure = gross - |position| * mark + |position + trade| * price`` and
    ``equity = equity + position * (price - mark) - fee``.
    """
    exposure = gross_exposure - abs(position) * mark + abs(position + trade_quantity) * price
    return exposure, equity + position * (price - mark) - fee
