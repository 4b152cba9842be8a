"""The strategy interface and the context the event-driven engine hands to it.

A :class:`Strategy` reacts to events: :meth:`~Strategy.on_start` once before the first bar,
:meth:`~Strategy.on_bar` after every bar (of any symbol), :meth:`~Strategy.on_fill` for every
fill and :meth:`~Strategy.on_stop` once after the last bar. It sees the market only through the
:class:`Context`, whose history grows one bar at a time: nothing after the current bar has been
written into it yet, so a strategy cannot look ahead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Bar
from quantdesk.domain.orders import Fill, Order, OrderSide, OrderType, TimeInForce
from quantdesk.execution.sim import ExecutionReport, SimulatedBroker
from quantdesk.indicators.streaming import Output, StreamingIndicator, make_stream

__all__ = ["FIELDS", "Context", "Strategy"]

FIELDS = ("open", "high", "low", "close", "volume")
_FloatArray = npt.NDArray[np.float64]


class Strategy:
    """Base class of event-driven strategies; override the hooks you need.

    ``name`` labels results; a subclass sets it or the class name is used.
    """

    name: str = ""

    def on_start(self, ctx: Context) -> None:
        """Run once before the first bar (no bar is current yet)."""

    def on_bar(self, ctx: Context) -> None:
        """Run after each bar; ``ctx.bar`` is the bar that just closed."""

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Run for each fill, after its bar entered the history and before ``on_bar``."""

    def on_stop(self, ctx: Context) -> None:
        """Run once after the last bar."""

    @property
    def label(self) -> str:
        """Return ``name`` or the class name."""
        return self.name or type(self).__name__


@dataclass(slots=True)
class _History:
    """Per-symbol buffers filled one bar at a time (later slots are still empty)."""

    columns: dict[str, _FloatArray]
    ts: list[datetime]
    count: int = 0

    @classmethod
    def sized(cls, length: int) -> _History:
        columns = {name: np.full(length, math.nan) for name in FIELDS}
        return cls(columns, [])

    def append(self, bar: Bar) -> None:
        i = self.count
        close = float(bar.close)
        self.columns["open"][i] = close if bar.open is None else float(bar.open)
        self.columns["high"][i] = close if bar.high is None else float(bar.high)
        self.columns["low"][i] = close if bar.low is None else float(bar.low)
        self.columns["close"][i] = close
        self.columns["volume"][i] = math.nan if bar.volume is None else float(bar.volume)
        self.ts.append(bar.ts)
        self.count = i + 1


class Context:
    """What a strategy sees and does: the current bar, past bars, indicators, orders, account.

    The engine builds it; strategies only read from it and place orders through it. Orders are
    stamped with the current bar's time, so the broker fills them on later bars only.
    """

    def __init__(self, broker: SimulatedBroker, lengths: dict[str, int]) -> None:
        self._broker = broker
        self._history = {symbol: _History.sized(n) for symbol, n in lengths.items()}
        self._indicators: dict[tuple[str, str, tuple[tuple[str, Any], ...]], StreamingIndicator]
        self._indicators = {}
        self._bar: Bar | None = None
        self._seq = 0
        self._reports: list[ExecutionReport] = []
        self._orders: list[Order] = []
        self._order_ts: list[datetime] = []
        self.log: list[str] = []
        """Messages the strategy wants kept with the result (prefixed with the bar time)."""

    # -- engine side -------------------------------------------------------------------------

    def _advance(self, bar: Bar) -> None:
        history = self._history[bar.symbol]
        history.append(bar)
        close = float(bar.close)
        open_ = close if bar.open is None else float(bar.open)
        high = close if bar.high is None else float(bar.high)
        low = close if bar.low is None else float(bar.low)
        volume = 0.0 if bar.volume is None else float(bar.volume)
        stamp = _micros(bar.ts)
        for (symbol, _, _), indicator in self._indicators.items():
            if symbol == bar.symbol:
                indicator.update(open_, high, low, close, volume, stamp)
        self._bar = bar

    def _take_reports(self) -> list[ExecutionReport]:
        reports, self._reports = self._reports, []
        return reports

    # -- market data -------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return every symbol of the backtest, sorted."""
        return tuple(sorted(self._history))

    @property
    def bar(self) -> Bar:
        """Return the current bar (the one that just closed)."""
        if self._bar is None:
            raise RuntimeError("no bar yet: the context has a current bar from on_bar onwards")
        return self._bar

    @property
    def symbol(self) -> str:
        """Return the current bar's symbol."""
        return self.bar.symbol

    @property
    def ts(self) -> datetime:
        """Return the current bar's time: the engine's clock."""
        return self.bar.ts

    def bars_seen(self, symbol: str) -> int:
        """Return how many bars of ``symbol`` have closed so far."""
        return self._get_history(symbol).count

    def history(self, symbol: str, field: str = "close", n: int | None = None) -> _FloatArray:
        """Return the last ``n`` values (all when ``None``) of ``field`` up to the current bar.

        The array is read-only and ends at the symbol's latest closed bar; it is shorter than
        ``n`` early in the run. Close-only bars repeat the close in open/high/low; a missing
        volume is NaN.

        Raises
        ------
        ValidationError
            For an unknown field or a negative ``n``.
        NotFound
            For a symbol not in the backtest.
        """
        if field not in FIELDS:
            raise ValidationError(
                "unknown history field",
                [Issue("history", f"{field!r} is not one of {', '.join(FIELDS)}", "field")],
            )
        if n is not None and n < 0:
            raise ValidationError(
                "invalid history length", [Issue("history", f"must be >= 0, got {n}", "n")]
            )
        history = self._get_history(symbol)
        stop = history.count
        start = 0 if n is None else max(0, stop - n)
        view = history.columns[field][start:stop]
        view.flags.writeable = False
        return view

    def history_ts(self, symbol: str, n: int | None = None) -> list[datetime]:
        """Return the times of the last ``n`` bars (all when ``None``) of ``symbol``."""
        stamps = self._get_history(symbol).ts
        return list(stamps if n is None else stamps[max(0, len(stamps) - n) :])

    def indicator(self, name: str, symbol: str | None = None, **params: Any) -> Output:
        """Return a streaming indicator's current value for ``symbol`` (default: current).

        The first call creates the indicator and feeds it the symbol's history so far; after
        that the engine updates it with every bar of the symbol. Parameters use the TA-Lib
        names (``timeperiod``, ``nbdevup``, ...); multi-output indicators return tuples.
        """
        sym = self.symbol if symbol is None else normalize_symbol(symbol)
        key = (sym, name.lower(), tuple(sorted(params.items())))
        indicator = self._indicators.get(key)
        if indicator is None:
            history = self._get_history(sym)
            indicator = make_stream(name, **params)
            cols = history.columns
            for i in range(history.count):
                volume = cols["volume"][i]
                indicator.update(
                    float(cols["open"][i]),
                    float(cols["high"][i]),
                    float(cols["low"][i]),
                    float(cols["close"][i]),
                    0.0 if math.isnan(volume) else float(volume),
                    _micros(history.ts[i]),
                )
            self._indicators[key] = indicator
        return indicator.value

    # -- account -----------------------------------------------------------------------------

    @property
    def cash(self) -> float:
        """Return the account's cash."""
        return self._broker.account.cash

    @property
    def equity(self) -> float:
        """Return the account's equity, marked at each symbol's latest close."""
        return self._broker.account.equity()

    def position(self, symbol: str) -> float:
        """Return the signed quantity held in ``symbol`` (0 when flat)."""
        return self._broker.account.position(normalize_symbol(symbol)).quantity

    def open_orders(self, symbol: str | None = None) -> tuple[Order, ...]:
        """Return the orders that can still fill."""
        return self._broker.open_orders(symbol)

    # -- orders ------------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._seq += 1
        return f"o{self._seq}"

    def order(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: float,
        *,
        type: OrderType | str = OrderType.MARKET,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        tif: TimeInForce | str = TimeInForce.GTC,
    ) -> Order:
        """Submit an order stamped with the current bar's time and return it.

        A rejection does not raise: the order's state is ``rejected`` in the result's orders.

        Raises
        ------
        ValidationError
            For an invalid order (see :class:`~quantdesk.domain.orders.Order`).
        """
        order = Order(
            id=self._next_id(),
            symbol=symbol,
            side=OrderSide(side),
            quantity=quantity,
            type=OrderType(type),
            limit_price=limit_price,
            stop_price=stop_price,
            trail_amount=trail_amount,
            trail_percent=trail_percent,
            tif=TimeInForce(tif),
        )
        self._reports.append(self._broker.submit(order, self.ts))
        self._orders.append(order)
        self._order_ts.append(self.ts)
        return order

    def buy(self, symbol: str, quantity: float, **kwargs: Any) -> Order:
        """Submit a buy order; keyword arguments as in :meth:`order`."""
        return self.order(symbol, OrderSide.BUY, quantity, **kwargs)

    def sell(self, symbol: str, quantity: float, **kwargs: Any) -> Order:
        """Submit a sell order; keyword arguments as in :meth:`order`."""
        return self.order(symbol, OrderSide.SELL, quantity, **kwargs)

    def cancel(self, order_id: str) -> None:
        """Cancel a working order (see :meth:`SimulatedBroker.cancel`)."""
        self._reports.append(self._broker.cancel(order_id, self.ts))

    def pending_quantity(self, symbol: str) -> float:
        """Return the signed unfilled quantity of the symbol's working entry orders."""
        total = 0.0
        for order in self._broker.open_orders(symbol):
            if order.parent_id is None:
                state = self._broker.order_state(order.id)
                total += order.side.sign * state.remaining_quantity
        return total

    def order_target_percent(self, symbol: str, weight: float) -> Order | None:
        """Trade ``symbol`` towards ``weight`` of equity at the current close, in whole shares.

        The target is ``trunc(weight * equity / close)`` shares (rounded towards zero); the
        order covers the gap from the position plus working entry orders. Returns the market
        order, or ``None`` when nothing needs trading.

        Raises
        ------
        ValidationError
            For a non-finite weight.
        """
        if not math.isfinite(weight):
            raise ValidationError(
                "invalid target weight", [Issue("order_target_percent", "must be finite", "weight")]
            )
        sym = normalize_symbol(symbol)
        closes = self.history(sym, "close", 1)
        if closes.size == 0:
            return None
        target = math.trunc(weight * self.equity / float(closes[-1]))
        delta = target - self.position(sym) - self.pending_quantity(sym)
        if abs(delta) < 1e-9:
            return None
        side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        return self.order(sym, side, abs(delta))

    def record(self, message: str) -> None:
        """Keep ``message`` in the result's log, stamped with the current bar time."""
        stamp = "start" if self._bar is None else self._bar.ts.isoformat()
        self.log.append(f"{stamp} {message}")

    def _get_history(self, symbol: str) -> _History:
        sym = normalize_symbol(symbol)
        history = self._history.get(sym)
        if history is None:
            raise NotFound(f"symbol {sym!r} is not in this backtest")
        return history

    @property
    def orders(self) -> Sequence[Order]:
        """Return every order submitted so far, in submission order."""
        return tuple(self._orders)


def _micros(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000)
