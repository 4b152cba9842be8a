"""Numba kernel of per-column trade statistics over the vectorised engine's fill records."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@njit(cache=True)
def trade_stats_nb(
    column: IntArray,
    side: IntArray,
    quantity: FloatArray,
    price: FloatArray,
    fee: FloatArray,
    n_columns: int,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Return per-column ``(closed trades, winners, sum of wins, sum of losses)``.

    Fills must be grouped by column and in time order within a column. A trade is a round
    trip exactly as :func:`quantdesk.backtest.results.round_trips` defines it: it opens when
    the position leaves zero and closes when it returns to zero, its P&L is the cash it made
    with each fill's fee split pro rata over the units that close and open; a winner has
    P&L > 0 and the rest are losses.
    """
    trades = np.zeros(n_columns, np.int64)
    winners = np.zeros(n_columns, np.int64)
    win_sum = np.zeros(n_columns)
    loss_sum = np.zeros(n_columns)
    i = 0
    total = column.shape[0]
    while i < total:
        c = column[i]
        position = 0.0
        is_open = False
        pnl = 0.0
        while i < total and column[i] == c:
            qty = quantity[i] * side[i]
            before = position
            remaining = qty
            per_unit = fee[i] / quantity[i]
            if is_open and before * qty < 0:
                closing = min(abs(qty), abs(before)) * (1.0 if qty > 0 else -1.0)
                pnl += -closing * price[i] - abs(closing) * per_unit
                remaining = qty - closing
                if abs(before + closing) < 1e-9:
                    trades[c] += 1
                    if pnl > 0:
                        winners[c] += 1
                        win_sum[c] += pnl
                    else:
                        loss_sum[c] += pnl
                    is_open = False
            if abs(remaining) > 1e-12:
                if not is_open:
                    is_open = True
                    pnl = 0.0
                pnl += -remaining * price[i] - abs(remaining) * per_unit
            position = before + qty
            i += 1
    return trades, winners, win_sum, loss_sum
