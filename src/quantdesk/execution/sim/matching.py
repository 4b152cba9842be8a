"""The simulated broker: order book, bar-by-bar matching and the account it books into.

:class:`SimulatedBroker` is what the event-driven backtest engine and the paper broker drive:
``submit``/``cancel`` orders, then ``process_bar`` once per symbol and bar, in time order. Each
call returns an :class:`ExecutionReport` (fills and order updates). Everything is deterministic:
orders are matched in submission order and the clock is the bars' timestamps.

Matching rules (prices and costs in :mod:`.fills`, :mod:`.fees`, :mod:`.slippage`):

- An order is eligible on bars strictly after its submission time (``bar.ts > ts``); with
  bars stamped at their start, an order sent after seeing bar ``t`` first trades on ``t + 1``.
- **Time in force.** ``day``: expires once a bar of a later date arrives (or at
  :meth:`SimulatedBroker.end_session`); its session is the date of its first eligible bar.
  ``gtc``: works until filled or cancelled. ``ioc``: what fills on the first eligible bar
  fills, the rest is cancelled. ``fok``: fills completely on the first eligible bar or is
  cancelled without any fill.
- **Volume cap.** With ``participation`` set, all orders on a symbol share at most
  ``participation * bar volume`` units per bar (whole ``lot_size`` lots), in submission order;
  what does not fill stays working (GTC/DAY), is cancelled (IOC) or refuses the whole order
  (FOK). Bars without volume are not capped.
- **Brackets and OCO.** Exits (orders with a ``parent_id``) are held until the parent fills and
  then work for the quantity filled so far. Orders in one ``oco_group`` share their quantity:
  a fill of one reduces the others by as much; the member whose fill uses up the shared
  quantity is ``filled`` and the others are ``cancelled``. At most one member of a group fills
  per bar. When several members could fill on the same bar, one
  that fills at the open (a gap) goes first, else the *adverse* one: stop-type orders (the
  stop-loss) before limits (the take-profit) - the conservative assumption when both levels
  are inside one bar's range. On the bar the parent fills: if it filled at the open, the
  whole bar comes after the entry and the exits are matched normally; if it filled inside the
  bar, only stop-type exits are matched, at their level (the bar's high or low may have come
  before the entry) and take-profits wait for the next bar.
- **Rejections.** An order is checked when submitted (against the last known price, the limit
  or the stop; other open orders are not reserved) and every fill is checked again at its
  price; a fill that would break the account's limits rejects the order (status
  ``rejected``, with the :class:`~quantdesk.core.errors.OrderRejected` reason). Exits whose
  parent never filled are cancelled.
- **Account events.** On the first bar of a new date the short borrow fee accrues for the
  calendar days since the previous bar, valued at the previous close; every bar marks the
  symbol at its close. :meth:`SimulatedBroker.apply_split` and
  :meth:`SimulatedBroker.apply_dividend` are called on the ex-date before that date's bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from quantdesk.core.errors import Conflict, Issue, NotFound, OrderRejected, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Bar
from quantdesk.domain.orders import (
    Bracket,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    TimeInForce,
)
from quantdesk.execution.sim._fills_nb import ORDER_TRAILING_STOP, fill_price_nb
from quantdesk.execution.sim.accounting import Account, AccountConfig
from quantdesk.execution.sim.fees import FeeModel, NoFee
from quantdesk.execution.sim.fills import (
    ORDER_TYPE_CODES,
    MarketFill,
    capped_quantity,
    execution_costs,
    ratchet_extreme,
    trailing_stop_price,
)
from quantdesk.execution.sim.slippage import (
    NoSlippage,
    SlippageModel,
    SpreadSlippage,
    SquareRootImpact,
)

__all__ = ["ExecutionConfig", "ExecutionReport", "MarketContext", "SimulatedBroker"]

_TOLERANCE = 1e-9
# the statuses OrderStatus.is_terminal accepts, as a set for the per-bar loops
_TERMINAL = frozenset(status for status in OrderStatus if status.is_terminal)


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """How the simulated broker fills orders.

    ``participation`` caps fills at that fraction of each bar's volume (``None``: no cap);
    ``lot_size`` is the unit capped quantities are rounded down to.
    """

    fee_model: FeeModel = field(default_factory=NoFee)
    slippage_model: SlippageModel = field(default_factory=NoSlippage)
    market_fill: MarketFill = MarketFill.NEXT_OPEN
    participation: float | None = None
    lot_size: float = 1.0

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        share = self.participation
        if share is not None and not (math.isfinite(share) and 0 < share <= 1):
            issues.append(Issue("ExecutionConfig", "must be in (0, 1]", "participation"))
        if not (math.isfinite(self.lot_size) and self.lot_size > 0):
            issues.append(Issue("ExecutionConfig", "must be positive", "lot_size"))
        if issues:
            raise ValidationError("invalid execution configuration", issues)
        object.__setattr__(self, "market_fill", MarketFill(self.market_fill))


@dataclass(frozen=True, slots=True, init=False)
class MarketContext:
    """Per-bar inputs some slippage models need: quoted spread (price units), daily
    volatility (fraction) and average daily volume (units)."""

    spread: float | None = None
    volatility: float | None = None
    adv: float | None = None

    def __init__(
        self,
        spread: float | None = None,
        volatility: float | None = None,
        adv: float | None = None,
    ) -> None:
        # Engines build one per bar: write the slots directly (a frozen dataclass's generated
        # __init__ goes through object.__setattr__ field by field).
        _SET_SPREAD(self, spread)
        _SET_VOLATILITY(self, volatility)
        _SET_ADV(self, adv)


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    setter: Callable[[Any, Any], None] = vars(cls)[name].__set__
    return setter


_SET_SPREAD, _SET_VOLATILITY, _SET_ADV = (
    _slot_setter(MarketContext, name) for name in ("spread", "volatility", "adv")
)


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """What one broker call produced: fills and order updates, in the order they happened."""

    fills: tuple[Fill, ...] = ()
    updates: tuple[OrderUpdate, ...] = ()


@dataclass(slots=True)
class _Working:
    order: Order
    seq: int
    submitted: datetime
    updated: datetime
    status: OrderStatus = OrderStatus.ACCEPTED
    filled: float = 0.0
    notional: float = 0.0
    fees: float = 0.0
    oco_used: float = 0.0
    triggered: bool = False
    extreme: float = math.nan
    session: date | None = None
    first_bar: datetime | None = None
    activated: datetime | None = None
    activation_price: float = math.nan
    activation_at_open: bool = True
    reason: str | None = None
    # kernel inputs and time-in-force flags, cached from the order (refreshed when a split
    # rewrites it)
    code: int = 0
    sign: int = 1
    limit: float = math.nan
    stop: float = math.nan
    day_order: bool = False
    immediate: bool = False

    def refresh(self) -> None:
        order = self.order
        self.code = ORDER_TYPE_CODES[order.type]
        self.sign = order.side.sign
        self.limit = math.nan if order.limit_price is None else order.limit_price
        self.stop = math.nan if order.stop_price is None else order.stop_price
        self.day_order = order.tif is TimeInForce.DAY
        self.immediate = order.tif is TimeInForce.IOC or order.tif is TimeInForce.FOK


@dataclass(slots=True)
class _SymbolState:
    ts: datetime
    close: float
    volume: float
    day: date
    used: float = 0.0


@dataclass(slots=True)
class _Bar:
    ts: datetime
    open: float
    high: float
    low: float
    volume: float
    context: MarketContext


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return ts.astimezone(UTC)


class SimulatedBroker:
    """Match orders against bars with the shared fill, fee and slippage models.

    Parameters
    ----------
    account
        The account to book into, or its configuration.
    config
        Fee and slippage models, market-fill timing and volume cap.
    """

    def __init__(
        self, account: Account | AccountConfig, config: ExecutionConfig | None = None
    ) -> None:
        self.account = account if isinstance(account, Account) else Account(account)
        self.config = config or ExecutionConfig()
        self._orders: dict[str, _Working] = {}
        self._by_symbol: dict[str, list[_Working]] = {}
        self._children: dict[str, list[_Working]] = {}
        self._groups: dict[str, list[_Working]] = {}
        self._symbols: dict[str, _SymbolState] = {}
        self._fills: list[Fill] = []
        self._seq = 0

    # -- queries ---------------------------------------------------------------------------

    @property
    def fills(self) -> tuple[Fill, ...]:
        """Return every fill so far, in order."""
        return tuple(self._fills)

    def order_state(self, order_id: str) -> OrderUpdate:
        """Return the current state of an order.

        Raises
        ------
        NotFound
            For an unknown order id.
        """
        return self._update(self._get(order_id))

    def open_orders(self, symbol: str | None = None) -> tuple[Order, ...]:
        """Return the orders that can still fill (all symbols, or one)."""
        if symbol is None:
            return tuple(w.order for w in self._orders.values() if not w.status.is_terminal)
        # a symbol's queue holds its orders in submission order (terminal ones pruned lazily)
        queue = self._by_symbol.get(normalize_symbol(symbol), ())
        return tuple(w.order for w in queue if not w.status.is_terminal)

    # -- commands --------------------------------------------------------------------------

    def submit(
        self, order: Order, ts: datetime, context: MarketContext | None = None
    ) -> ExecutionReport:
        """Accept (or reject) ``order`` at time ``ts``.

        With :attr:`MarketFill.SAME_CLOSE_OPTIMISTIC`, a market order without a parent fills
        at once at the close of the symbol's last bar (``context`` feeds the slippage model).

        Raises
        ------
        Conflict
            When an order with the same id was submitted before.
        """
        ts = _utc(ts)
        if order.id in self._orders:
            raise Conflict(f"order id {order.id!r} was already submitted")
        state = self._symbols.get(order.symbol)
        immediate = (
            self.config.market_fill is MarketFill.SAME_CLOSE_OPTIMISTIC
            and order.type is OrderType.MARKET
            and order.parent_id is None
            and state is not None
        )
        if immediate:
            self._check_inputs(context or _EMPTY)
        self._seq += 1
        working = _Working(order, self._seq, ts, ts)
        working.refresh()
        self._orders[order.id] = working
        self._by_symbol.setdefault(order.symbol, []).append(working)
        updates: list[OrderUpdate] = []
        fills: list[Fill] = []
        try:
            self._pre_check(working)
        except OrderRejected as rejected:
            working.status, working.reason = OrderStatus.REJECTED, rejected.reason
            updates.append(self._update(working))
            return ExecutionReport((), tuple(updates))
        parent = self._parent(working)
        if parent is not None:
            self._children.setdefault(parent.order.id, []).append(working)
            if parent.filled > _TOLERANCE and order.type is OrderType.TRAILING_STOP:
                working.extreme = parent.notional / parent.filled
        if order.oco_group is not None:
            self._groups.setdefault(order.oco_group, []).append(working)
        if order.type is OrderType.TRAILING_STOP and parent is None and state is not None:
            working.extreme = state.close
        updates.append(self._update(working))
        if immediate and state is not None:
            bar = _Bar(ts, state.close, state.close, state.close, state.volume, context or _EMPTY)
            working.first_bar = ts
            working.session = state.day
            self._fill(working, state.close, bar, state, updates, fills)
            self._close_immediate(working, ts, updates)
        return ExecutionReport(tuple(fills), tuple(updates))

    def submit_bracket(self, bracket: Bracket, ts: datetime) -> ExecutionReport:
        """Submit a bracket's entry and exits together; see :meth:`submit`."""
        reports = [self.submit(order, ts) for order in bracket.orders]
        return _merge(reports)

    def cancel(self, order_id: str, ts: datetime) -> ExecutionReport:
        """Cancel a working order.

        A cancelled entry that never filled cancels its exits; one that partly filled leaves
        them working for the filled quantity. Cancelling one member of an OCO group leaves the
        others working.

        Raises
        ------
        NotFound
            For an unknown order id.
        Conflict
            When the order is already filled, cancelled, rejected or expired.
        """
        working = self._get(order_id)
        if working.status.is_terminal:
            raise Conflict(f"order {order_id!r} is already {working.status.value}")
        updates: list[OrderUpdate] = []
        self._finish(working, OrderStatus.CANCELLED, "cancelled on request", _utc(ts), updates)
        return ExecutionReport((), tuple(updates))

    def end_session(self, session: date, ts: datetime) -> ExecutionReport:
        """Expire the DAY orders whose session is ``session`` or earlier."""
        updates: list[OrderUpdate] = []
        ts = _utc(ts)
        for working in list(self._orders.values()):
            self._expire_day(working, session, ts, updates, inclusive=True)
        return ExecutionReport((), tuple(updates))

    def apply_split(self, symbol: str, ratio: float, ts: datetime) -> ExecutionReport:
        """Apply a split (``ratio`` = shares after / before) to the account and open orders.

        Working orders get ``quantity * ratio`` and prices (limit, stop, trail amount)
        ``/ ratio``; trail percents are unchanged.
        """
        symbol = normalize_symbol(symbol)
        self.account.apply_split(symbol, ratio)
        ts = _utc(ts)
        updates: list[OrderUpdate] = []
        for working in self._orders.values():
            if working.order.symbol != symbol:
                continue
            has_open_child = any(
                not c.status.is_terminal for c in self._children.get(working.order.id, [])
            )
            if working.status.is_terminal and not has_open_child:
                continue
            order = working.order

            def scaled(price: float | None) -> float | None:
                return None if price is None else price / ratio

            working.order = replace(
                order,
                quantity=order.quantity * ratio,
                limit_price=scaled(order.limit_price),
                stop_price=scaled(order.stop_price),
                trail_amount=scaled(order.trail_amount),
            )
            working.refresh()
            working.filled *= ratio
            working.oco_used *= ratio
            working.extreme /= ratio
            working.activation_price /= ratio
            if not working.status.is_terminal:
                working.updated = ts
                update = self._update(working)
                updates.append(replace(update, reason=f"adjusted for a split of ratio {ratio:g}"))
        state = self._symbols.get(symbol)
        if state is not None:
            state.close /= ratio
        return ExecutionReport((), tuple(updates))

    def apply_dividend(self, symbol: str, amount_per_share: float) -> float:
        """Pay a cash dividend on the current position (longs receive, shorts pay)."""
        return self.account.apply_dividend(symbol, amount_per_share)

    def process_bar(self, bar: Bar, context: MarketContext | None = None) -> ExecutionReport:
        """Match the symbol's working orders against ``bar`` and book the fills.

        Bars of one symbol must arrive in increasing time order. A close-only bar is treated as
        ``open = high = low = close``; a bar without volume is not volume-capped.

        Raises
        ------
        ValueError
            When a bar is not later than the symbol's previous bar.
        ValidationError
            When the slippage model needs a spread, volatility or ADV it was not given.
        """
        symbol = bar.symbol
        ts = bar.ts
        close = float(bar.close)
        volume = math.nan if bar.volume is None else float(bar.volume)
        state = self._symbols.get(symbol)
        if state is not None and ts <= state.ts:
            raise ValueError(f"{symbol}: bar at {ts} is not after the previous bar {state.ts}")
        day = ts.date()
        queue = self._by_symbol.get(symbol)
        if not queue:
            # Nothing can fill: accrue the borrow fee, mark the close, remember the bar.
            if state is None:
                self._symbols[symbol] = _SymbolState(ts, close, volume, day)
            else:
                if day > state.day:
                    self.account.accrue_borrow(symbol, (day - state.day).days)
                state.ts, state.close, state.volume, state.day = ts, close, volume, day
                state.used = 0.0
            self.account.mark(symbol, close)
            return _NO_REPORT
        if bar.open is None or bar.high is None or bar.low is None:
            open_, high, low = close, close, close
        else:
            open_, high, low = float(bar.open), float(bar.high), float(bar.low)
        current = _Bar(ts, open_, high, low, volume, context or _EMPTY)
        working = [w for w in queue if w.status not in _TERMINAL]
        self._by_symbol[symbol] = working
        if working:
            self._check_inputs(current.context)
        updates: list[OrderUpdate] = []
        fills: list[Fill] = []
        if state is not None and day > state.day:
            self.account.accrue_borrow(symbol, (day - state.day).days)
            for order in working:
                if order.day_order:
                    self._expire_day(order, day, ts, updates, inclusive=False)
        if state is None:
            state = _SymbolState(ts, close, volume, day)
            self._symbols[symbol] = state
        state.used = 0.0
        evaluated: list[_Working] = []
        groups: set[str] = set()
        for order in working:
            if not self._eligible(order, current):
                continue
            group = order.order.oco_group
            if group is None:
                evaluated.append(order)
                price = self._evaluate(order, current)
                if price is not None:
                    self._fill(order, price, current, state, updates, fills)
            elif group not in groups:
                groups.add(group)
                members = [
                    m
                    for m in self._groups[group]
                    if m.order.symbol == symbol and self._eligible(m, current)
                ]
                evaluated += members
                winner = self._choose(members, current)
                if winner is not None:
                    self._fill(winner[0], winner[1], current, state, updates, fills)
        for order in evaluated:
            if order.status in _TERMINAL:
                continue
            if order.code == ORDER_TRAILING_STOP and not (
                order.activated == ts and not order.activation_at_open
            ):
                order.extreme = ratchet_extreme(order.order, order.extreme, high, low)
            if order.immediate:
                self._close_immediate(order, ts, updates)
        self.account.mark(symbol, close)
        state.ts, state.close, state.volume, state.day = ts, close, volume, day
        if not fills and not updates:
            return _NO_REPORT
        return ExecutionReport(tuple(fills), tuple(updates))

    # -- internals -------------------------------------------------------------------------

    def _get(self, order_id: str) -> _Working:
        try:
            return self._orders[order_id]
        except KeyError:
            raise NotFound(f"unknown order id {order_id!r}") from None

    def _parent(self, working: _Working) -> _Working | None:
        parent_id = working.order.parent_id
        return None if parent_id is None else self._orders.get(parent_id)

    def _update(self, working: _Working) -> OrderUpdate:
        average = working.notional / working.filled if working.filled > 0 else None
        remaining = 0.0
        if not working.status.is_terminal:
            remaining = max(0.0, working.order.quantity - working.filled - working.oco_used)
        return OrderUpdate(
            working.order.id,
            working.order.symbol,
            working.updated,
            working.status,
            working.filled,
            remaining,
            average,
            working.reason,
        )

    def _pre_check(self, working: _Working) -> None:
        order = working.order
        if order.parent_id is not None:
            parent = self._orders.get(order.parent_id)
            if parent is None:
                raise OrderRejected(
                    f"parent order {order.parent_id!r} is unknown; submit the entry first",
                    code="unknown_parent",
                )
            if parent.order.symbol != order.symbol:
                raise OrderRejected(
                    f"the parent order trades {parent.order.symbol}, not {order.symbol}",
                    code="parent_mismatch",
                )
            if parent.status.is_terminal and parent.filled <= _TOLERANCE:
                raise OrderRejected(
                    f"parent order {order.parent_id!r} is {parent.status.value} and never filled",
                    code="parent_inactive",
                )
            return
        state = self._symbols.get(order.symbol)
        estimate = order.limit_price if order.limit_price is not None else order.stop_price
        if estimate is None and state is not None:
            estimate = state.close
        if estimate is None:
            return
        fee = self.config.fee_model.fee(order.quantity, estimate)
        self.account.check_order(
            order.symbol, order.side, order.quantity, estimate, fee, order_id=order.id
        )

    def _check_inputs(self, context: MarketContext) -> None:
        # Fail before touching any state when the slippage model lacks a per-bar input.
        if not isinstance(self.config.slippage_model, SpreadSlippage | SquareRootImpact):
            return
        self.config.slippage_model.price(
            1, 1.0, 1.0, spread=context.spread, volatility=context.volatility, adv=context.adv
        )

    def _eligible(self, working: _Working, bar: _Bar) -> bool:
        if working.status in _TERMINAL or working.submitted >= bar.ts:
            return False
        parent = self._parent(working)
        if parent is not None and parent.filled <= _TOLERANCE:
            return False
        if working.first_bar is None:
            working.first_bar = bar.ts
            working.session = bar.ts.date()
        return True

    def _evaluate(self, working: _Working, bar: _Bar) -> float | None:
        order = working.order
        open_ = bar.open
        activated = working.activated
        if activated is not None and activated == bar.ts and not working.activation_at_open:
            if not order.type.is_stop:
                return None
            open_ = working.activation_price
        stop = working.stop
        if working.code == ORDER_TRAILING_STOP:
            if math.isnan(working.extreme):
                working.extreme = open_
            stop = trailing_stop_price(order, working.extreme)
        price, working.triggered = fill_price_nb(
            working.code,
            working.sign,
            working.limit,
            stop,
            working.triggered,
            open_,
            bar.high,
            bar.low,
        )
        return None if math.isnan(price) else float(price)

    def _choose(self, members: list[_Working], bar: _Bar) -> tuple[_Working, float] | None:
        candidates: list[tuple[tuple[int, int, int], _Working, float]] = []
        for member in members:
            price = self._evaluate(member, bar)
            if price is None:
                continue
            at_open = price == bar.open and not (
                member.activated == bar.ts and not member.activation_at_open
            )
            key = (0 if at_open else 1, 0 if member.order.type.is_stop else 1, member.seq)
            candidates.append((key, member, price))
        if not candidates:
            return None
        _, member, price = min(candidates, key=lambda item: item[0])
        return member, price

    def _fillable(self, working: _Working) -> float:
        cap = working.order.quantity
        parent = self._parent(working)
        if parent is not None:
            cap = min(cap, parent.filled)
        return max(0.0, cap - working.filled - working.oco_used)

    def _fill(
        self,
        working: _Working,
        reference: float,
        bar: _Bar,
        state: _SymbolState,
        updates: list[OrderUpdate],
        fills: list[Fill],
    ) -> None:
        order = working.order
        remaining = self._fillable(working)
        if remaining <= _TOLERANCE:
            return
        quantity = capped_quantity(
            remaining, bar.volume, self.config.participation, state.used, self.config.lot_size
        )
        if order.tif is TimeInForce.FOK and quantity < remaining - _TOLERANCE:
            reason = f"fill-or-kill: only {quantity:g} of {remaining:g} could fill on the bar"
            self._finish(working, OrderStatus.CANCELLED, reason, bar.ts, updates)
            return
        if quantity <= _TOLERANCE:
            return
        price, fee, slippage = execution_costs(
            order,
            quantity,
            reference,
            self.config.fee_model,
            self.config.slippage_model,
            spread=bar.context.spread,
            volatility=bar.context.volatility,
            adv=bar.context.adv,
            order_filled=working.filled,
            order_notional=working.notional,
            order_fees=working.fees,
        )
        try:
            self.account.check_order(
                order.symbol, order.side, quantity, price, fee, order_id=order.id
            )
        except OrderRejected as rejected:
            self._finish(working, OrderStatus.REJECTED, rejected.reason, bar.ts, updates)
            return
        fill = Fill(order.id, order.symbol, bar.ts, order.side, quantity, price, fee, slippage)
        self.account.apply_fill(fill)
        self._fills.append(fill)
        fills.append(fill)
        state.used += quantity
        first = working.filled <= _TOLERANCE
        working.filled += quantity
        working.notional += quantity * price
        working.fees += fee
        working.updated = bar.ts
        if first:
            at_open = reference == bar.open
            for child in self._children.get(order.id, []):
                if child.activated is None and not child.status.is_terminal:
                    child.activated = bar.ts
                    child.activation_price = reference
                    child.activation_at_open = at_open
                    if child.order.type is OrderType.TRAILING_STOP:
                        child.extreme = reference
        self._settle(working, bar.ts, updates, changed=True, just_filled=True)
        group = order.oco_group
        for sibling in self._groups.get(group, []) if group is not None else []:
            if sibling is not working and not sibling.status.is_terminal:
                sibling.oco_used += quantity
                sibling.updated = bar.ts
                self._settle(sibling, bar.ts, updates, changed=True)

    def _settle(
        self,
        working: _Working,
        ts: datetime,
        updates: list[OrderUpdate],
        *,
        changed: bool,
        just_filled: bool = False,
    ) -> None:
        if working.status.is_terminal:
            return
        parent = self._parent(working)
        cap = working.order.quantity
        if parent is not None and parent.status.is_terminal:
            if parent.filled <= _TOLERANCE:
                reason = f"parent order {parent.order.id!r} {parent.status.value} before filling"
                self._finish(working, OrderStatus.CANCELLED, reason, ts, updates)
                return
            cap = min(cap, parent.filled)
        done = working.filled + working.oco_used >= cap - _TOLERANCE * max(1.0, cap)
        # The order whose fill completes its OCO group is filled; the others are cancelled.
        if done and (just_filled or working.filled >= cap - _TOLERANCE * max(1.0, cap)):
            self._finish(working, OrderStatus.FILLED, None, ts, updates)
        elif done:
            reason = f"one-cancels-other: group {working.order.oco_group!r} filled the rest"
            self._finish(working, OrderStatus.CANCELLED, reason, ts, updates)
        else:
            status = OrderStatus.PARTIALLY_FILLED if working.filled > 0 else OrderStatus.ACCEPTED
            if changed or status is not working.status:
                working.status = status
                updates.append(self._update(working))

    def _finish(
        self,
        working: _Working,
        status: OrderStatus,
        reason: str | None,
        ts: datetime,
        updates: list[OrderUpdate],
    ) -> None:
        working.status, working.reason, working.updated = status, reason, ts
        updates.append(self._update(working))
        for child in self._children.get(working.order.id, []):
            self._settle(child, ts, updates, changed=False)

    def _expire_day(
        self,
        working: _Working,
        day: date,
        ts: datetime,
        updates: list[OrderUpdate],
        *,
        inclusive: bool,
    ) -> None:
        session = working.session
        if working.status.is_terminal or working.order.tif is not TimeInForce.DAY:
            return
        if session is None or session > day or (session == day and not inclusive):
            return
        reason = f"day order expired at the end of its session {session.isoformat()}"
        self._finish(working, OrderStatus.EXPIRED, reason, ts, updates)

    def _close_immediate(self, working: _Working, ts: datetime, updates: list[OrderUpdate]) -> None:
        tif = working.order.tif
        if working.status.is_terminal or tif not in (TimeInForce.IOC, TimeInForce.FOK):
            return
        if tif is TimeInForce.IOC:
            reason = "immediate-or-cancel: the unfilled rest is cancelled"
        else:
            reason = "fill-or-kill: the order could not fill completely on its first bar"
        self._finish(working, OrderStatus.CANCELLED, reason, ts, updates)


_EMPTY = MarketContext()
# what most bars produce; reports are immutable, so one instance serves every such bar
_NO_REPORT = ExecutionReport()


def _merge(reports: Iterable[ExecutionReport]) -> ExecutionReport:
    fills: list[Fill] = []
    updates: list[OrderUpdate] = []
    for report in reports:
        fills += report.fills
        updates += report.updates
    return ExecutionReport(tuple(fills), tuple(updates))
