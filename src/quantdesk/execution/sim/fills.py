"""Fill rules: when an order fills on a bar, at what reference price, and with what costs.

Thin typed wrappers over the numba kernels in :mod:`._fills_nb` (the simulators in numba call
those kernels directly with the codes in :data:`ORDER_TYPE_CODES`). The rules:

- **Market** orders fill at the next bar's open (:attr:`MarketFill.NEXT_OPEN`, the default).
  :attr:`MarketFill.SAME_CLOSE_OPTIMISTIC` fills them at the close of the bar the decision was
  made on; it is optimistic (that close was already known when deciding) and only meant for
  comparison with studies that assume it.
- **Limit** orders fill at the open when the bar opens through the limit (a buy limit at 100
  with an open at 98 fills at 98), otherwise at the limit when ``low <= limit <= high``.
- **Stop** orders fill at the open when the bar gaps through the stop (a sell stop at 95 with
  an open at 93 fills at 93), otherwise at the stop when the range touches it.
- **Stop-limit** orders are triggered by the stop, then work as a limit (they may not fill).
- **Trailing stops** trail the favourable extreme of each bar (the high for a sell, the low
  for a buy). The level in force during a bar comes from the bars *before* it; the bar's own
  extreme ratchets the level for the next bar only, so no intrabar order of high and low is
  assumed. The extreme starts at the last close known when the order is submitted (or the
  first eligible bar's open; the entry price for a bracket exit).

Slippage then moves the reference price against the trader (never past a limit) and the fee
model charges the order's cumulative size; see :func:`execution_costs`.
"""

from __future__ import annotations

import math
from enum import StrEnum

from quantdesk.domain.orders import Order, OrderType
from quantdesk.execution.sim._fills_nb import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    ORDER_TRAILING_STOP,
    capped_quantity_nb,
    execute_fill_nb,
    fill_price_nb,
    ratchet_extreme_nb,
    trailing_stop_price_nb,
)
from quantdesk.execution.sim.fees import FeeModel
from quantdesk.execution.sim.slippage import SlippageModel

__all__ = [
    "ORDER_TYPE_CODES",
    "MarketFill",
    "capped_quantity",
    "execution_costs",
    "fill_price",
    "ratchet_extreme",
    "trailing_stop_price",
]

#: Order type -> integer code understood by the numba kernels.
ORDER_TYPE_CODES: dict[OrderType, int] = {
    OrderType.MARKET: ORDER_MARKET,
    OrderType.LIMIT: ORDER_LIMIT,
    OrderType.STOP: ORDER_STOP,
    OrderType.STOP_LIMIT: ORDER_STOP_LIMIT,
    OrderType.TRAILING_STOP: ORDER_TRAILING_STOP,
}


class MarketFill(StrEnum):
    """When market orders fill."""

    NEXT_OPEN = "next_open"
    SAME_CLOSE_OPTIMISTIC = "same_close_optimistic"


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def trailing_stop_price(order: Order, extreme: float) -> float:
    """Return the trailing stop level of ``order`` given the favourable ``extreme`` so far."""
    return float(
        trailing_stop_price_nb(
            order.side.sign, float(extreme), _nan(order.trail_amount), _nan(order.trail_percent)
        )
    )


def ratchet_extreme(order: Order, extreme: float, high: float, low: float) -> float:
    """Return the favourable extreme after a bar (highest high for a sell, lowest low for a buy)."""
    return float(ratchet_extreme_nb(order.side.sign, float(extreme), float(high), float(low)))


def fill_price(
    order: Order,
    open_: float,
    high: float,
    low: float,
    *,
    triggered: bool = False,
    stop_price: float | None = None,
) -> tuple[float | None, bool]:
    """Return ``(reference fill price or None, triggered)`` for ``order`` on one bar.

    Parameters
    ----------
    order
        The working order.
    open_, high, low
        The bar's prices.
    triggered
        Whether a stop-limit order was triggered on an earlier bar.
    stop_price
        The stop level in force (the trailing level for trailing stops); defaults to
        ``order.stop_price``.
    """
    stop = order.stop_price if stop_price is None else stop_price
    price, now_triggered = fill_price_nb(
        ORDER_TYPE_CODES[order.type],
        order.side.sign,
        _nan(order.limit_price),
        _nan(stop),
        bool(triggered),
        float(open_),
        float(high),
        float(low),
    )
    return (None if math.isnan(price) else float(price)), bool(now_triggered)


def capped_quantity(
    remaining: float,
    volume: float | None,
    participation: float | None,
    used: float = 0.0,
    lot_size: float = 1.0,
) -> float:
    """Return how much of ``remaining`` may fill when at most ``participation`` of ``volume``
    trades (``used`` already went to earlier orders on the bar), in whole ``lot_size`` lots.
    """
    return float(
        capped_quantity_nb(
            float(remaining), _nan(volume), _nan(participation), float(used), float(lot_size)
        )
    )


def execution_costs(
    order: Order,
    quantity: float,
    reference_price: float,
    fee_model: FeeModel,
    slippage_model: SlippageModel,
    *,
    spread: float | None = None,
    volatility: float | None = None,
    adv: float | None = None,
    order_filled: float = 0.0,
    order_notional: float = 0.0,
    order_fees: float = 0.0,
) -> tuple[float, float, float]:
    """Return ``(fill price, fee, slippage cost)`` for filling ``quantity`` of ``order``.

    ``order_filled``, ``order_notional`` and ``order_fees`` describe the order's earlier
    partial fills, so the fee is charged on the order's cumulative size. The price is NaN when
    the slippage model lacks an input (volatility, ADV, spread).
    """
    price, fee, slippage = execute_fill_nb(
        order.side.sign,
        float(quantity),
        float(reference_price),
        _nan(order.limit_price),
        slippage_model.kind,
        slippage_model.params,
        _nan(spread),
        _nan(volatility),
        _nan(adv),
        fee_model.kind,
        fee_model.params,
        float(order_filled),
        float(order_notional),
        float(order_fees),
    )
    return float(price), float(fee), float(slippage)
