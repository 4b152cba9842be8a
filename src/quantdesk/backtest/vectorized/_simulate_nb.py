"""Numba kernels of the vectorised backtest: many independent columns simulated over bars.

Every fill is priced, charged and booked by the execution core's kernels
(:func:`~quantdesk.execution.sim._fills_nb.fill_price_nb`,
:func:`~quantdesk.execution.sim._fills_nb.capped_quantity_nb`,
:func:`~quantdesk.execution.sim._fills_nb.execute_fill_nb`,
:func:`~quantdesk.execution.sim._accounting_nb.apply_fill_nb`,
:func:`~quantdesk.execution.sim._accounting_nb.exposure_after_nb`,
:func:`~quantdesk.execution.sim._accounting_nb.borrow_cost_nb`), and the sequence of events on
a bar is that of :class:`~quantdesk.execution.sim.SimulatedBroker` driven by the event-driven
engine with :meth:`~quantdesk.backtest.strategy.Context.order_target_percent`. The reference
implementation is therefore the event-driven engine; ``tests/parity`` checks the two give the
same fills and equity curve. A column is one symbol with its own cash; on each bar ``t``:

1. the short borrow fee accrues when ``t`` starts a new date (valued at the previous close);
2. armed stop-loss / take-profit exits are matched against the bar (OCO: a level the bar opens
   through first, else the stop before the take-profit); a filled exit cancels the column's
   working market orders;
3. working market orders fill at the open, in submission order, volume-capped when a
   participation rate is set (the rest keeps working); each fill is checked against the
   account's cash/leverage/shorting limits at its slipped price and rejected when it breaks
   them (``Account.check_order``);
4. the column is marked at the close;
5. the signals decide: the target position is ``trunc(size * equity / close)`` shares
   (target percent), ``size`` shares, or ``trunc(size / close)`` shares (value), and a market
   order for ``target - position - pending`` is checked at the close (estimated fee included)
   and then works from the next bar's open, or fills at once at the close with the optimistic
   same-close option;
6. the equity ``cash + position * close`` is recorded.

Prices are assets x bars and signals and outputs columns x bars, C-contiguous: each row is
one time series, read in order, and every input has one layout whatever the number of columns
(so one compiled signature serves all runs). Buffers of fills and orders are float64 matrices
whose columns are the ``F_*``/``O_*`` indices below; they grow by doubling.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from quantdesk.execution.sim._accounting_nb import (
    apply_fill_nb,
    borrow_cost_nb,
    exposure_after_nb,
)
from quantdesk.execution.sim._costs_nb import fee_nb
from quantdesk.execution.sim._fills_nb import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_STOP,
    capped_quantity_nb,
    execute_fill_nb,
    fill_price_nb,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SIZE_TARGET_PERCENT = 0
SIZE_SHARES = 1
SIZE_VALUE = 2

STATUS_ACCEPTED = 0
STATUS_PARTIALLY_FILLED = 1
STATUS_FILLED = 2
STATUS_REJECTED = 3
STATUS_CANCELLED = 4

REASON_NONE = 0
REASON_SHORT_NOT_ALLOWED = 1
REASON_BUYING_POWER = 2
REASON_EXIT_FILLED = 3

KIND_MARKET = 0
KIND_STOP_LOSS = 1
KIND_TAKE_PROFIT = 2

F_COLUMN = 0
F_BAR = 1
F_ORDER = 2
F_SIDE = 3
F_QUANTITY = 4
F_PRICE = 5
F_FEE = 6
F_SLIPPAGE = 7
FILL_FIELDS = 8

O_COLUMN = 0
O_SEQ = 1
O_KIND = 2
O_BAR = 3
O_SIDE = 4
O_QUANTITY = 5
O_LEVEL = 6
O_STATUS = 7
O_FILLED = 8
O_NOTIONAL = 9
O_FEES = 10
O_UPDATED = 11
O_REASON = 12
O_HELD = 13
O_NEEDED = 14
O_AVAILABLE = 15
O_EXPOSURE = 16
O_EQUITY_AFTER = 17
ORDER_FIELDS = 18

#: The broker's and the account's absolute tolerance on quantities.
TOLERANCE = 1e-9


@njit(cache=True)
def grow_nb(buffer: FloatArray, count: int) -> FloatArray:
    """Return ``buffer``, or a copy twice as long when row ``count`` does not fit."""
    if count < buffer.shape[0]:
        return buffer
    bigger = np.empty((2 * buffer.shape[0] + 16, buffer.shape[1]))
    bigger[:count] = buffer[:count]
    return bigger


@njit(cache=True)
def check_order_nb(
    cash: float,
    position: float,
    last: float,
    side: int,
    quantity: float,
    price: float,
    fee: float,
    max_leverage: float,
    allow_short: bool,
) -> tuple[int, float, float, float, float]:
    """Return ``(reason, needed, available, exposure, equity after)`` for a trade.

    Mirrors ``Account.check_order`` for a one-symbol account: shorting must be allowed when
    the trade leaves the position short, and a trade that increases the position's size must
    leave ``gross exposure <= max_leverage * equity`` (re-marked at ``price``, ``fee`` paid)
    with positive equity. ``reason`` is ``REASON_NONE`` when the trade passes.
    """
    trade = quantity * side
    after = position + trade
    if not allow_short and after < -TOLERANCE * max(1.0, abs(trade)):
        return REASON_SHORT_NOT_ALLOWED, 0.0, 0.0, 0.0, 0.0
    if abs(after) <= abs(position) + TOLERANCE:
        return REASON_NONE, 0.0, 0.0, 0.0, 0.0
    mark = price if math.isnan(last) else last
    value = 0.0 if position == 0.0 else position * last
    equity = cash + value
    gross = abs(value)
    exposure, equity_after = exposure_after_nb(equity, gross, position, mark, trade, price, fee)
    limit = max_leverage * equity_after
    if equity_after <= 0 or exposure > limit * (1 + 1e-12) + TOLERANCE:
        needed = abs(after) * price - abs(position) * mark + fee
        available = max_leverage * equity - gross
        return REASON_BUYING_POWER, needed, available, exposure, equity_after
    return REASON_NONE, 0.0, 0.0, 0.0, 0.0


@njit(cache=True)
def execute_order_nb(
    orders: FloatArray,
    row: int,
    bar: int,
    reference: float,
    limit: float,
    volume: float,
    used: float,
    cash: float,
    position: float,
    average: float,
    last: float,
    fee_kind: int,
    fee_params: FloatArray,
    slippage_kind: int,
    slippage_params: FloatArray,
    participation: float,
    lot_size: float,
    max_leverage: float,
    allow_short: bool,
) -> tuple[float, float, float, float, float, float, float, float]:
    """Fill what the bar allows of order ``row`` at ``reference``; mirror ``SimulatedBroker._fill``.

    Returns ``(quantity, price, fee, slippage, cash, position, average cost, last mark)``;
    ``quantity`` is 0 when nothing filled (volume cap used up, or the fill was rejected: the
    order row then says ``STATUS_REJECTED``). The order row's status, cumulative fill and
    fees are updated in place.
    """
    side = int(orders[row, O_SIDE])
    cap = orders[row, O_QUANTITY]
    filled = orders[row, O_FILLED]
    remaining = max(0.0, cap - filled - 0.0)
    if remaining <= TOLERANCE:
        return 0.0, 0.0, 0.0, 0.0, cash, position, average, last
    quantity = capped_quantity_nb(remaining, volume, participation, used, lot_size)
    if quantity <= TOLERANCE:
        return 0.0, 0.0, 0.0, 0.0, cash, position, average, last
    price, fee, slippage = execute_fill_nb(
        side,
        quantity,
        reference,
        limit,
        slippage_kind,
        slippage_params,
        math.nan,
        math.nan,
        math.nan,
        fee_kind,
        fee_params,
        filled,
        orders[row, O_NOTIONAL],
        orders[row, O_FEES],
    )
    reason, needed, available, exposure, equity_after = check_order_nb(
        cash, position, last, side, quantity, price, fee, max_leverage, allow_short
    )
    if reason != REASON_NONE:
        orders[row, O_STATUS] = STATUS_REJECTED
        orders[row, O_UPDATED] = bar
        _reject_details_nb(orders, row, reason, position, quantity, needed, available)
        orders[row, O_EXPOSURE] = exposure
        orders[row, O_EQUITY_AFTER] = equity_after
        return 0.0, 0.0, 0.0, 0.0, cash, position, average, last
    trade = quantity * side
    position, average, _ = apply_fill_nb(position, average, trade, price)
    if math.isnan(last):
        last = price
    cash -= trade * price + fee
    filled += quantity
    orders[row, O_FILLED] = filled
    orders[row, O_NOTIONAL] += quantity * price
    orders[row, O_FEES] += fee
    orders[row, O_UPDATED] = bar
    done = filled + 0.0 >= cap - TOLERANCE * max(1.0, cap)
    orders[row, O_STATUS] = STATUS_FILLED if done else STATUS_PARTIALLY_FILLED
    return quantity, price, fee, slippage, cash, position, average, last


@njit(cache=True)
def _reject_details_nb(
    orders: FloatArray,
    row: int,
    reason: int,
    position: float,
    quantity: float,
    needed: float,
    available: float,
) -> None:
    orders[row, O_REASON] = reason
    orders[row, O_HELD] = position
    # a short-sale refusal reports the refused quantity in place of the amount needed
    orders[row, O_NEEDED] = quantity if reason == REASON_SHORT_NOT_ALLOWED else needed
    orders[row, O_AVAILABLE] = available


@njit(cache=True)
def exit_reference_nb(
    side: int, stop_level: float, take_level: float, open_: float, high: float, low: float
) -> tuple[float, int]:
    """Return ``(reference price or NaN, kind)`` of the OCO stop-loss/take-profit pair on a bar.

    Each level is matched by :func:`fill_price_nb` (a stop order and a limit order, gap rule
    included). When both could fill, the one that fills at the open goes first, else the
    stop-loss: ``SimulatedBroker``'s OCO rule.
    """
    stop_price = math.nan
    take_price = math.nan
    if not math.isnan(stop_level):
        stop_price = fill_price_nb(ORDER_STOP, side, math.nan, stop_level, False, open_, high, low)[
            0
        ]
    if not math.isnan(take_level):
        take_price = fill_price_nb(
            ORDER_LIMIT, side, take_level, math.nan, False, open_, high, low
        )[0]
    if math.isnan(stop_price):
        if math.isnan(take_price):
            return math.nan, KIND_MARKET
        return take_price, KIND_TAKE_PROFIT
    if take_price == open_ and stop_price != open_:
        return take_price, KIND_TAKE_PROFIT
    return stop_price, KIND_STOP_LOSS


@njit(cache=True)
def _new_order_nb(
    orders: FloatArray,
    count: int,
    column: int,
    seq: int,
    kind: int,
    bar: int,
    side: int,
    quantity: float,
    level: float,
) -> None:
    orders[count, :] = 0.0
    orders[count, O_COLUMN] = column
    orders[count, O_SEQ] = seq
    orders[count, O_KIND] = kind
    orders[count, O_BAR] = bar
    orders[count, O_SIDE] = side
    orders[count, O_QUANTITY] = quantity
    orders[count, O_LEVEL] = level
    orders[count, O_STATUS] = STATUS_ACCEPTED
    orders[count, O_UPDATED] = bar


@njit(cache=True)
def _record_fill_nb(
    fills: FloatArray,
    count: int,
    column: int,
    bar: int,
    row: int,
    side: int,
    quantity: float,
    price: float,
    fee: float,
    slippage: float,
) -> None:
    fills[count, F_COLUMN] = column
    fills[count, F_BAR] = bar
    fills[count, F_ORDER] = row
    fills[count, F_SIDE] = side
    fills[count, F_QUANTITY] = quantity
    fills[count, F_PRICE] = price
    fills[count, F_FEE] = fee
    fills[count, F_SLIPPAGE] = slippage


@njit(cache=True)
def simulate_nb(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    price_column: IntArray,
    entries: BoolArray,
    exits: BoolArray,
    short_entries: BoolArray,
    short_exits: BoolArray,
    size: FloatArray,
    size_type: int,
    retarget: bool,
    initial_cash: FloatArray,
    sl_stop: FloatArray,
    tp_stop: FloatArray,
    days: FloatArray,
    borrow_rate: FloatArray,
    day_count: float,
    max_leverage: float,
    allow_short: bool,
    fee_kind: int,
    fee_params: FloatArray,
    slippage_kind: int,
    slippage_params: FloatArray,
    participation: float,
    lot_size: float,
    same_close: bool,
    record_state: bool,
    capacity: int,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, int, FloatArray, int]:
    """Simulate every column and return its equity curve, fills and orders.

    Parameters
    ----------
    open_, high, low, close, volume
        Assets x bars prices, one row per asset (volume NaN = no volume, never capped).
    price_column
        The asset (price column) each signal column trades.
    entries, exits, short_entries, short_exits
        Columns x bars signals decided at the bar's close; ``exits``, ``short_entries`` and
        ``short_exits`` may have zero rows (no such signal). On a bar the first signal that
        applies acts: long entry, long exit, short entry, short exit. Unless ``retarget``, an
        entry only acts when the column holds nothing (position plus working orders is 0), a
        long exit only while long and a short exit only while short; with ``retarget`` each
        signal re-targets the position (an entry tops it up to the target).
    size, size_type
        Per-column size and how to read it (``SIZE_*``); short entries target ``-size``.
    initial_cash
        Per-column starting cash.
    sl_stop, tp_stop
        Per-column stop-loss / take-profit distances as fractions of the fill price of the
        order that opened the position (NaN: none). Armed on that fill, they close the whole
        position; any fill that leaves the column flat disarms them.
    days
        Calendar days from the previous bar's date to each bar's date (0 on the same date).
    borrow_rate, day_count
        Per-column annual borrow rate on short market value, and the day-count basis.
    max_leverage, allow_short
        The account's gross leverage limit and whether it may sell short.
    fee_kind, fee_params, slippage_kind, slippage_params
        The fee and slippage models (``kind``/``params`` of the model classes).
    participation, lot_size
        Volume cap (NaN: none) and the lot its allowance is rounded down to.
    same_close
        Fill market orders at the deciding bar's close (optimistic) instead of the next open.
    record_state
        Also return cash and position per bar and column (else empty arrays).
    capacity
        Initial rows of the fill and order buffers (they grow as needed).

    Returns
    -------
    tuple
        ``(equity, cash, position, fills, fill count, orders, order count)``; the 2-D
        outputs are columns x bars, buffers as in the module docstring.
    """
    n = close.shape[1]
    m = price_column.shape[0]
    equity = np.empty((m, n))
    rows = m if record_state else 0
    bars = n if record_state else 0
    cash_out = np.empty((rows, bars))
    position_out = np.empty((rows, bars))
    fills = np.empty((max(capacity, 16), FILL_FIELDS))
    orders = np.empty((max(capacity, 16), ORDER_FIELDS))
    queue = np.empty(n + 1, np.int64)
    n_fills = 0
    n_orders = 0
    for c in range(m):
        while True:
            # A column that runs out of buffer is simulated again after the buffers grow, so
            # the hot loop never re-binds an array.
            done, column_fills, column_orders = simulate_column_nb(
                c, price_column[c], open_, high, low, close, volume, entries, exits,
                short_entries, short_exits, size[c], size_type, retarget, initial_cash[c],
                sl_stop[c], tp_stop[c], days, borrow_rate[c], day_count, max_leverage,
                allow_short, fee_kind, fee_params, slippage_kind, slippage_params,
                participation, lot_size, same_close, record_state, equity, cash_out,
                position_out, fills, n_fills, orders, n_orders, queue,
            )  # fmt: skip
            if done:
                n_fills = column_fills
                n_orders = column_orders
                break
            fills = grow_nb(fills, fills.shape[0])
            orders = grow_nb(orders, orders.shape[0])
    return equity, cash_out, position_out, fills, n_fills, orders, n_orders


@njit(cache=True)
def simulate_column_nb(
    c: int,
    a: int,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    entries: BoolArray,
    exits: BoolArray,
    short_entries: BoolArray,
    short_exits: BoolArray,
    size: float,
    size_type: int,
    retarget: bool,
    initial_cash: float,
    sl_stop: float,
    tp_stop: float,
    days: FloatArray,
    borrow_rate: float,
    day_count: float,
    max_leverage: float,
    allow_short: bool,
    fee_kind: int,
    fee_params: FloatArray,
    slippage_kind: int,
    slippage_params: FloatArray,
    participation: float,
    lot_size: float,
    same_close: bool,
    record_state: bool,
    equity: FloatArray,
    cash_out: FloatArray,
    position_out: FloatArray,
    fills: FloatArray,
    n_fills: int,
    orders: FloatArray,
    n_orders: int,
    queue: IntArray,
) -> tuple[bool, int, int]:
    """Simulate column ``c`` (trading asset ``a``) into the output arrays and buffers.

    Returns ``(done, fill count, order count)``; ``done`` is False when a buffer ran out of
    rows (nothing of the column is kept: grow the buffers and call again).
    """
    n = close.shape[1]
    fill_rows = fills.shape[0]
    order_rows = orders.shape[0]
    has_exits = exits.shape[0] > 0
    has_short_entries = short_entries.shape[0] > 0
    has_short_exits = short_exits.shape[0] > 0
    nan = math.nan
    cash = initial_cash
    position = 0.0
    average = 0.0
    last = nan
    queued = 0
    seq = 0
    stops = not (math.isnan(sl_stop) and math.isnan(tp_stop))
    armed = False
    stop_level = nan
    take_level = nan
    armed_seq = 0
    armed_bar = 0
    for t in range(n):
        cl = close[a, t]
        used = 0.0
        if position < 0.0 and t > 0 and days[t] > 0.0:
            cash -= borrow_cost_nb(position, last, borrow_rate, days[t], day_count)
        if armed or queued > 0:
            o = open_[a, t]
            h = high[a, t]
            lo = low[a, t]
            v = volume[a, t]
            check_exits = armed
            k = 0
            while True:
                if check_exits:
                    check_exits = False
                    exit_side = -1 if position > 0.0 else 1
                    reference, kind = exit_reference_nb(exit_side, stop_level, take_level, o, h, lo)
                    if not math.isnan(reference):
                        if n_orders >= order_rows or n_fills >= fill_rows:
                            return False, n_fills, n_orders
                        level = stop_level if kind == KIND_STOP_LOSS else take_level
                        limit = take_level if kind == KIND_TAKE_PROFIT else nan
                        row = n_orders
                        _new_order_nb(
                            orders, row, c, armed_seq, kind, armed_bar, exit_side,
                            abs(position), level,
                        )  # fmt: skip
                        n_orders += 1
                        quantity, price, fee, slip, cash, position, average, last = (
                            execute_order_nb(
                                orders, row, t, reference, limit, v, used, cash, position,
                                average, last, fee_kind, fee_params, slippage_kind,
                                slippage_params, participation, lot_size, max_leverage,
                                allow_short,
                            )
                        )  # fmt: skip
                        if quantity > 0.0:
                            _record_fill_nb(
                                fills, n_fills, c, t, row, exit_side, quantity, price, fee, slip
                            )
                            n_fills += 1
                            used += quantity
                        armed = position != 0.0
                        if not armed:
                            # the working market orders were sized for the closed position
                            for j in range(k, queued):
                                waiting = queue[j]
                                orders[waiting, O_STATUS] = STATUS_CANCELLED
                                orders[waiting, O_UPDATED] = t
                                orders[waiting, O_REASON] = REASON_EXIT_FILLED
                            queued = k
                if k >= queued:
                    break
                if n_fills >= fill_rows:
                    return False, n_fills, n_orders
                row = queue[k]
                side = int(orders[row, O_SIDE])
                reference = fill_price_nb(ORDER_MARKET, side, nan, nan, False, o, h, lo)[0]
                before = position
                quantity, price, fee, slip, cash, position, average, last = execute_order_nb(
                    orders, row, t, reference, nan, v, used, cash, position, average, last,
                    fee_kind, fee_params, slippage_kind, slippage_params, participation,
                    lot_size, max_leverage, allow_short,
                )  # fmt: skip
                if quantity > 0.0:
                    _record_fill_nb(fills, n_fills, c, t, row, side, quantity, price, fee, slip)
                    n_fills += 1
                    used += quantity
                    if stops:
                        if position == 0.0:
                            armed = False
                        elif before * position <= 0.0:
                            armed, stop_level, take_level = _arm_nb(
                                position, price, sl_stop, tp_stop
                            )
                            armed_seq = int(orders[row, O_SEQ])
                            armed_bar = t
                            check_exits = True  # filled at the open: the whole bar follows
                status = orders[row, O_STATUS]
                if status in (STATUS_FILLED, STATUS_REJECTED):
                    for j in range(k, queued - 1):
                        queue[j] = queue[j + 1]
                    queued -= 1
                else:
                    k += 1
        last = cl
        # -- the signals decide at the close ----------------------------------------------
        pending = 0.0
        for j in range(queued):
            row = queue[j]
            pending += orders[row, O_SIDE] * max(
                0.0, orders[row, O_QUANTITY] - orders[row, O_FILLED] - 0.0
            )
        held = position + pending
        weight = nan
        if entries[c, t] and (retarget or held == 0.0):
            weight = size
        if math.isnan(weight) and has_exits and exits[c, t] and (retarget or held > 0.0):
            weight = 0.0
        if (
            math.isnan(weight)
            and has_short_entries
            and short_entries[c, t]
            and (retarget or held == 0.0)
        ):
            weight = -size
        if (
            math.isnan(weight)
            and has_short_exits
            and short_exits[c, t]
            and (retarget or held < 0.0)
        ):
            weight = 0.0
        if not math.isnan(weight):
            if size_type == SIZE_TARGET_PERCENT:
                value = 0.0 if position == 0.0 else position * cl
                target = np.trunc(weight * (cash + value) / cl)
            elif size_type == SIZE_SHARES:
                target = weight
            else:
                target = np.trunc(weight / cl)
            delta = target - position - pending
            if abs(delta) >= 1e-9:
                if n_orders >= order_rows or n_fills >= fill_rows:
                    return False, n_fills, n_orders
                side = 1 if delta > 0 else -1
                quantity = abs(delta)
                seq += 1
                row = n_orders
                _new_order_nb(orders, row, c, seq, KIND_MARKET, t, side, quantity, nan)
                n_orders += 1
                estimate = fee_nb(fee_kind, fee_params, quantity, quantity * cl)
                reason, needed, available, exposure, equity_after = check_order_nb(
                    cash, position, last, side, quantity, cl, estimate, max_leverage,
                    allow_short,
                )  # fmt: skip
                if reason != REASON_NONE:
                    orders[row, O_STATUS] = STATUS_REJECTED
                    _reject_details_nb(orders, row, reason, position, quantity, needed, available)
                    orders[row, O_EXPOSURE] = exposure
                    orders[row, O_EQUITY_AFTER] = equity_after
                else:
                    if same_close:
                        before = position
                        quantity, price, fee, slip, cash, position, average, last = (
                            execute_order_nb(
                                orders, row, t, cl, nan, volume[a, t], used, cash, position,
                                average, last, fee_kind, fee_params, slippage_kind,
                                slippage_params, participation, lot_size, max_leverage,
                                allow_short,
                            )
                        )  # fmt: skip
                        if quantity > 0.0:
                            _record_fill_nb(
                                fills, n_fills, c, t, row, side, quantity, price, fee, slip
                            )
                            n_fills += 1
                            if stops:
                                if position == 0.0:
                                    armed = False
                                elif before * position <= 0.0:
                                    armed, stop_level, take_level = _arm_nb(
                                        position, price, sl_stop, tp_stop
                                    )
                                    armed_seq = seq
                                    armed_bar = t
                    status = orders[row, O_STATUS]
                    if status not in (STATUS_FILLED, STATUS_REJECTED):
                        queue[queued] = row
                        queued += 1
        value = 0.0 if position == 0.0 else position * cl
        equity[c, t] = cash + value
        if record_state:
            cash_out[c, t] = cash
            position_out[c, t] = position
    return True, n_fills, n_orders


@njit(cache=True)
def _arm_nb(
    position: float, price: float, sl_stop: float, tp_stop: float
) -> tuple[bool, float, float]:
    direction = 1.0 if position > 0.0 else -1.0
    stop_level = price * (1.0 - direction * sl_stop)
    take_level = price * (1.0 + direction * tp_stop)
    return True, stop_level, take_level
