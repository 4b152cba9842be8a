"""The strategy interface and the context the event-driven engine hands to it.

A :class:`Strategy` reacts to events: :meth:`~Strategy.on_start` once before the first bar,
:meth:`~Strategy.on_bar` after every bar (of any symbol and interval),
:meth:`~Strategy.on_fill` for every fill, :meth:`~Strategy.on_timestamp` once per engine time
after every bar of that time went through ``on_bar`` (cross-sectional decisions: ranking,
rotation) and :meth:`~Strategy.on_stop` once after the last bar. It sees the market only
through the :class:`Context`, whose history grows one bar at a time: nothing after the current
bar has been written into it yet, so a strategy cannot look ahead.

Intervals
---------
A symbol may come with bars of several intervals (say daily and 5-minute). Its finest interval
is its *trading* interval: the broker matches orders and marks the account on those bars
only; coarser bars feed their own history and indicators. ``history``, ``history_ts``,
``bars_seen``, ``indicator`` and ``stream`` take ``interval=None`` for the trading interval or an
interval label (``"1d"``) for another one; :attr:`Context.bar` ``.interval`` and
:attr:`Context.is_trading_bar` tell a strategy which interval just closed.

Clock
-----
:attr:`Context.ts` is the engine's clock: the start time of the current bar for a trading bar
(bars are stamped at their start, as the broker expects) and the *end* time of the current bar
for a coarser bar (the moment that bar became known). Orders are stamped with it and the broker
fills an order only on trading bars that start strictly after its stamp: a decision on trading
bar ``t`` trades at bar ``t + 1`` at the earliest, and a decision on a coarser bar trades on the
first trading bar starting after that bar's end.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.market_data import Bar, Interval
from quantdesk.domain.orders import (
    Bracket,
    Fill,
    Order,
    OrderSide,
    OrderType,
    TimeInForce,
    make_bracket,
)
from quantdesk.execution.sim import (
    AccountPosition,
    ExecutionReport,
    MarketContext,
    SimulatedBroker,
)
from quantdesk.indicators.streaming import Output, StreamingIndicator, make_stream

__all__ = ["FIELDS", "Context", "Strategy"]

FIELDS = ("open", "high", "low", "close", "volume")
_FloatArray = npt.NDArray[np.float64]
_IndicatorKey = tuple[str, Interval | None, str, tuple[tuple[str, Any], ...]]


class Strategy:
    """Base class of event-driven strategies; override the hooks you need.

    ``name`` labels results; a subclass sets it or the class name is used.
    """

    name: str = ""

    def on_start(self, ctx: Context) -> None:
        """Run once before the first bar (no bar is current yet)."""

    def on_bar(self, ctx: Context) -> None:
        """Run after each bar; ``ctx.bar`` is the bar that just closed (any interval)."""

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Run for each fill, after its bar entered the history and before ``on_bar``."""

    def on_timestamp(self, ctx: Context) -> None:
        """Run once per engine time, after every bar of that time went through ``on_bar``.

        ``ctx.ts`` is that time and ``ctx.bar`` the last bar processed at it; every symbol's
        history is up to date, so this is the place for decisions across symbols (ranking,
        rotation). Orders placed here are stamped ``ctx.ts`` like those from ``on_bar``.
        """

    def on_stop(self, ctx: Context) -> None:
        """Run once after the last bar."""

    @property
    def label(self) -> str:
        """Return ``name`` or the class name."""
        return self.name or type(self).__name__


_Args = tuple[float, float, float, float, float, int]
"""What a streaming indicator is updated with for one bar: open, high, low, close (a close-only
bar repeats its close), volume (0 when missing) and the bar's start in epoch microseconds as
:func:`_micros` gives it."""


@dataclass(slots=True)
class _Feed:
    """The bars of one symbol and interval, prepared for a history (see :meth:`_History.bind`).

    ``prices`` has the rows open, high, low, close and volume as the history stores them (a
    close-only bar repeats its close, a missing volume is NaN), ``volumes`` the last row as
    Python floats, ``args`` per bar what indicators are updated with and ``times`` the bars'
    start times.
    """

    prices: _FloatArray
    volumes: list[float]
    args: list[_Args]
    times: list[datetime]

    @classmethod
    def from_arrays(
        cls,
        prices: _FloatArray,
        values: Sequence[list[float]],
        stamps: Sequence[int],
        times: list[datetime],
    ) -> _Feed:
        """Return the feed of ``prices`` (the five rows above; a NaN volume must be the
        canonical NaN), ``values`` (the same rows as Python floats), with ``stamps`` as
        :func:`_micros` of each bar's start."""
        opens, highs, lows, closes, volumes = values
        fed = np.where(np.isnan(prices[4]), 0.0, prices[4]).tolist()
        args = list(zip(opens, highs, lows, closes, fed, stamps, strict=True))
        return cls(prices, volumes, args, times)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> _Feed:
        """Return the feed of ``bars``."""
        rows = [_values(bar) for bar in bars]
        prices = np.array([row[:5] for row in rows], dtype=np.float64).reshape(-1, 5).T.copy()
        args = [(row[0], row[1], row[2], row[3], row[5], row[6]) for row in rows]
        return cls(prices, [row[4] for row in rows], args, [bar.ts for bar in bars])


def _values(bar: Bar) -> tuple[float, float, float, float, float, float, int]:
    # open, high, low, close, volume as stored (NaN when missing), volume fed to indicators
    # (0 when missing), start in epoch microseconds
    close = float(bar.close)
    volume = bar.volume
    return (
        close if bar.open is None else float(bar.open),
        close if bar.high is None else float(bar.high),
        close if bar.low is None else float(bar.low),
        close,
        math.nan if volume is None else float(volume),
        0.0 if volume is None else float(volume),
        _micros(bar.ts),
    )


class _History:
    """Buffers of one symbol and interval filled one bar at a time (later slots still empty).

    Bars arrive either one by one (:meth:`append` writes each) or, from the engine, through a
    :class:`_Feed` (:meth:`bind`): then :meth:`push` only counts the bar and updates the
    indicators, and :meth:`sync` copies the bars counted so far into the buffers when they are
    read. Either way nothing after the latest bar is ever in the buffers.
    """

    __slots__ = (
        "_arrays",
        "_feed",
        "_matrix",
        "_updates",
        "_written",
        "columns",
        "count",
        "indicators",
        "ts",
    )

    def __init__(self, length: int) -> None:
        # one row per field of FIELDS, so bars are copied into every field at once
        self._matrix = np.full((len(FIELDS), length), math.nan)
        self._arrays = tuple(self._matrix)
        self.columns: dict[str, _FloatArray] = dict(zip(FIELDS, self._arrays, strict=True))
        self.ts: list[datetime] = []
        self.count = 0
        self.indicators: list[StreamingIndicator] = []
        self._updates: list[Callable[..., Output]] = []
        self._feed: _Feed | None = None
        self._written = 0

    @classmethod
    def sized(cls, length: int) -> _History:
        return cls(length)

    def attach(self, indicator: StreamingIndicator) -> None:
        """Update ``indicator`` with every bar from now on."""
        self.indicators.append(indicator)
        self._updates.append(indicator.update)

    def bind(self, feed: _Feed) -> None:
        """Take the bars from ``feed``, in order, one per :meth:`push` (before any bar)."""
        self._feed = feed

    def append(self, bar: Bar) -> None:
        i = self.count
        open_, high, low, close, volume, fed, stamp = _values(bar)
        opens, highs, lows, closes, volumes = self._arrays
        opens[i] = open_
        highs[i] = high
        lows[i] = low
        closes[i] = close
        volumes[i] = volume
        self.ts.append(bar.ts)
        self.count = self._written = i + 1
        for update in self._updates:
            update(open_, high, low, close, fed, stamp)

    def push(self, args: _Args) -> None:
        """Count the feed's next bar (``args`` are its indicator inputs)."""
        self.count += 1
        for update in self._updates:
            update(*args)

    def sync(self) -> None:
        """Write the bars counted but not yet written into the buffers."""
        start, stop, feed = self._written, self.count, self._feed
        if start == stop or feed is None:
            return
        opens, highs, lows, closes, volumes = self._arrays
        if stop - start == 1:
            args = feed.args[start]
            opens[start] = args[0]
            highs[start] = args[1]
            lows[start] = args[2]
            closes[start] = args[3]
            volumes[start] = feed.volumes[start]
            self.ts.append(feed.times[start])
        else:
            self._matrix[:, start:stop] = feed.prices[:, start:stop]
            self.ts.extend(feed.times[start:stop])
        self._written = stop


@dataclass(slots=True)
class _Symbol:
    """A symbol's histories per interval; ``trading`` is its finest interval.

    A symbol declared with a bare length has one history under ``None`` whose interval is
    learnt from its first bar.
    """

    histories: dict[Interval | None, _History]
    trading: Interval | None


class Context:
    """What a strategy sees and does: the current bar, past bars, indicators, orders, account.

    The engine builds it; strategies only read from it and place orders through it. Orders are
    stamped with the engine clock :attr:`ts`, so the broker fills them on later bars only.

    Parameters
    ----------
    broker
        The simulated broker orders go to.
    lengths
        Per symbol, the number of bars it will receive: an ``int`` for one interval, or a
        mapping interval -> count for several (the finest is the trading interval).
    """

    def __init__(
        self, broker: SimulatedBroker, lengths: Mapping[str, int | Mapping[Interval | str, int]]
    ) -> None:
        self._broker = broker
        self._symbols: dict[str, _Symbol] = {}
        for symbol, spec in lengths.items():
            if isinstance(spec, Mapping):
                histories: dict[Interval | None, _History] = {
                    Interval.parse(k): _History.sized(n) for k, n in spec.items()
                }
                finest = min(
                    (k for k in histories if k is not None), key=lambda interval: interval.nominal
                )
                self._symbols[normalize_symbol(symbol)] = _Symbol(histories, finest)
            else:
                self._symbols[normalize_symbol(symbol)] = _Symbol(
                    {None: _History.sized(spec)}, None
                )
        self._indicators: dict[_IndicatorKey, StreamingIndicator] = {}
        self._by_arguments: dict[tuple[Any, ...], StreamingIndicator] = {}
        self._bar: Bar | None = None
        self._clock: datetime | None = None
        self._trading_bar = True
        self._market: dict[str, MarketContext] = {}
        self._seq = 0
        self._reports: list[ExecutionReport] = []
        self._orders: list[Order] = []
        self._order_ts: list[datetime] = []
        self.log: list[str] = []
        """Messages the strategy wants kept with the result (prefixed with the clock time)."""

    # -- engine side -------------------------------------------------------------------------

    def _advance(self, bar: Bar, clock: datetime | None = None, *, trading: bool = True) -> None:
        self._history_for(bar).append(bar)
        self._bar = bar
        self._clock = bar.ts if clock is None else clock
        self._trading_bar = trading

    def _history_for(self, bar: Bar) -> _History:
        """Return the history ``bar`` goes to (the same for every bar of its symbol and
        interval); a symbol declared with a bare length learns its interval here."""
        entry = self._symbols[bar.symbol]
        if entry.trading is None and None in entry.histories:
            entry.trading = bar.interval
        key: Interval | None = bar.interval
        if key not in entry.histories:
            key = None
        return entry.histories[key]

    def _set_market(self, symbol: str, context: MarketContext) -> None:
        self._market[symbol] = context

    def _note(self, ts: datetime, message: str) -> None:
        self.log.append(f"{ts.isoformat()} {message}")

    def _take_reports(self) -> list[ExecutionReport]:
        reports, self._reports = self._reports, []
        return reports

    # -- market data -------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return every symbol of the backtest, sorted."""
        return tuple(sorted(self._symbols))

    @property
    def bar(self) -> Bar:
        """Return the current bar (the one that just closed); ``bar.interval`` is its interval."""
        if self._bar is None:
            raise RuntimeError("no bar yet: the context has a current bar from on_bar onwards")
        return self._bar

    @property
    def symbol(self) -> str:
        """Return the current bar's symbol."""
        return self.bar.symbol

    @property
    def interval(self) -> Interval:
        """Return the current bar's interval."""
        return self.bar.interval

    @property
    def is_trading_bar(self) -> bool:
        """Return whether the current bar is of its symbol's trading (finest) interval.

        Only trading bars are matched by the broker; coarser bars only feed history and
        indicators. Always ``True`` when every symbol has one interval.
        """
        if self._bar is None:
            raise RuntimeError("no bar yet: the context has a current bar from on_bar onwards")
        return self._trading_bar

    @property
    def ts(self) -> datetime:
        """Return the engine's clock (see the module docstring): orders are stamped with it.

        For a trading bar this is the bar's start time ``bar.ts``; for a coarser bar its end.
        """
        if self._clock is None:
            raise RuntimeError("no bar yet: the context has a current bar from on_bar onwards")
        return self._clock

    def trading_interval(self, symbol: str | None = None) -> Interval:
        """Return the interval the broker trades ``symbol`` on (default: current symbol)."""
        entry = self._entry(self.symbol if symbol is None else symbol)
        if entry.trading is None:
            raise RuntimeError("the symbol's interval is known from its first bar onwards")
        return entry.trading

    def intervals(self, symbol: str | None = None) -> tuple[Interval, ...]:
        """Return the intervals ``symbol`` has bars of (default: current), finest first."""
        entry = self._entry(self.symbol if symbol is None else symbol)
        known = [k for k in entry.histories if k is not None]
        if None in entry.histories and entry.trading is not None:
            known.append(entry.trading)
        return tuple(sorted(known, key=lambda interval: interval.nominal))

    def bars_seen(self, symbol: str, interval: Interval | str | None = None) -> int:
        """Return how many bars of ``symbol`` (trading interval by default) have closed so far."""
        return self._get_history(symbol, interval).count

    def history(
        self,
        symbol: str,
        field: str = "close",
        n: int | None = None,
        interval: Interval | str | None = None,
    ) -> _FloatArray:
        """Return the last ``n`` values (all when ``None``) of ``field`` up to the current bar.

        The array is read-only and ends at the latest closed bar of ``symbol`` in ``interval``
        (default: its trading interval); it is shorter than ``n`` early in the run. Close-only
        bars repeat the close in open/high/low; a missing volume is NaN. Prices are as given:
        corporate actions applied by the engine do not rewrite the history.

        Raises
        ------
        ValidationError
            For an unknown field, a negative ``n`` or an unknown interval label.
        NotFound
            For a symbol not in the backtest, or an interval the symbol has no bars of.
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
        history = self._get_history(symbol, interval)
        history.sync()
        stop = history.count
        start = 0 if n is None else max(0, stop - n)
        view = history.columns[field][start:stop]
        view.flags.writeable = False
        return view

    def history_ts(
        self, symbol: str, n: int | None = None, interval: Interval | str | None = None
    ) -> list[datetime]:
        """Return the start times of the last ``n`` bars (all when ``None``) of ``symbol``."""
        history = self._get_history(symbol, interval)
        history.sync()
        stamps = history.ts
        return list(stamps if n is None else stamps[max(0, len(stamps) - n) :])

    def indicator(
        self,
        name: str,
        symbol: str | None = None,
        *,
        interval: Interval | str | None = None,
        **params: Any,
    ) -> Output:
        """Return a streaming indicator's current value for ``symbol`` (default: current).

        The indicator runs on the bars of ``interval`` (default: the symbol's trading
        interval). The first call creates it and feeds it the history so far; after that the
        engine updates it with every bar of that symbol and interval. Parameters use the
        TA-Lib names (``timeperiod``, ``nbdevup``, ...); multi-output indicators return tuples.
        """
        # the lookup of stream(), repeated here to save a call on every bar
        bar = self._bar
        given = symbol if symbol is not None else self.symbol if bar is None else bar.symbol
        settings = tuple(params.items()) if len(params) < 2 else tuple(sorted(params.items()))
        indicator = self._by_arguments.get((given, interval, name, settings))
        if indicator is not None:
            return indicator.value
        return self.stream(name, symbol, interval=interval, **params).value

    def stream(
        self,
        name: str,
        symbol: str | None = None,
        *,
        interval: Interval | str | None = None,
        **params: Any,
    ) -> StreamingIndicator:
        """Return the streaming indicator behind :meth:`indicator` for these arguments.

        The same object for the same arguments (and the one :meth:`indicator` reads): created
        on the first call and fed the history so far, then updated by the engine with every bar
        of ``symbol`` (default: current) and ``interval`` (default: its trading interval). Its
        ``value`` is what :meth:`indicator` returns, so a strategy can keep the object (one per
        symbol) and read ``value`` on every bar instead of looking the indicator up again.
        Read it only: updating it by hand would feed it the same bars twice.

        Raises
        ------
        ValidationError
            For an unknown interval label or bad indicator parameters.
        NotFound
            For an unknown indicator, a symbol not in the backtest, or an interval the symbol
            has no bars of.
        RuntimeError
            Without ``symbol`` before the first bar.
        """
        bar = self._bar
        given = symbol if symbol is not None else self.symbol if bar is None else bar.symbol
        # Strategies ask for the same indicator on every bar: look the raw arguments up first.
        # Sorting one parameter (or none) changes nothing, so it is skipped.
        settings = tuple(params.items()) if len(params) < 2 else tuple(sorted(params.items()))
        fast = (given, interval, name, settings)
        indicator = self._by_arguments.get(fast)
        if indicator is not None:
            return indicator
        sym = normalize_symbol(given)
        entry = self._entry(sym)
        slot = self._slot(entry, sym, interval)
        key = (sym, slot, name.lower(), settings)
        indicator = self._indicators.get(key)
        if indicator is None:
            history = entry.histories[slot]
            indicator = make_stream(name, **params)
            history.sync()
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
            history.attach(indicator)
        self._by_arguments[fast] = indicator
        return indicator

    # -- account -----------------------------------------------------------------------------

    @property
    def cash(self) -> float:
        """Return the account's cash."""
        return self._broker.account.cash

    @property
    def equity(self) -> float:
        """Return the account's equity, marked at each symbol's latest trading-bar close."""
        return self._broker.account.equity()

    def position(self, symbol: str) -> float:
        """Return the signed quantity held in ``symbol`` (0 when flat)."""
        return self._broker.account.position(normalize_symbol(symbol)).quantity

    def holding(self, symbol: str) -> AccountPosition:
        """Return the account's position in ``symbol``: quantity, average cost, last mark and
        realised P&L (after any split or dividend the engine booked)."""
        return self._broker.account.position(normalize_symbol(symbol))

    def open_orders(self, symbol: str | None = None) -> tuple[Order, ...]:
        """Return the orders that can still fill."""
        return self._broker.open_orders(symbol)

    # -- orders ------------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._seq += 1
        return f"o{self._seq}"

    def _build(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: float,
        type: OrderType | str,
        limit_price: float | None,
        stop_price: float | None,
        trail_amount: float | None,
        trail_percent: float | None,
        tif: TimeInForce | str,
    ) -> Order:
        # Raw values go to Order, whose validation names every bad field at once.
        if isinstance(quantity, numbers.Real) and not isinstance(quantity, bool):
            quantity = float(quantity)
        return Order(
            id=self._next_id(),
            symbol=symbol,
            side=cast(OrderSide, side),
            quantity=quantity,
            type=cast(OrderType, type),
            limit_price=limit_price,
            stop_price=stop_price,
            trail_amount=trail_amount,
            trail_percent=trail_percent,
            tif=cast(TimeInForce, tif),
        )

    def _submitted(self, orders: Sequence[Order], report: ExecutionReport, ts: datetime) -> None:
        self._reports.append(report)
        for order in orders:
            self._orders.append(order)
            self._order_ts.append(ts)

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
        """Submit an order stamped with the clock :attr:`ts` and return it.

        A rejection does not raise: the order's state is ``rejected`` in the result's orders.

        Raises
        ------
        ValidationError
            For an invalid order, naming each bad field (location ``order``): a quantity that
            is not a positive number, an unknown side/type/tif, a limit order without
            ``limit_price``, ... (see :class:`~quantdesk.domain.orders.Order`).
        """
        ts = self.ts
        order = self._build(
            symbol, side, quantity, type, limit_price, stop_price, trail_amount, trail_percent, tif
        )
        report = self._broker.submit(order, ts, self._market.get(order.symbol))
        self._submitted((order,), report, ts)
        return order

    def bracket(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: float,
        *,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        type: OrderType | str = OrderType.MARKET,
        limit_price: float | None = None,
        stop_price: float | None = None,
        tif: TimeInForce | str = TimeInForce.GTC,
    ) -> Bracket:
        """Submit an entry with a stop-loss and/or take-profit attached; return the bracket.

        The entry is built like :meth:`order` (``type``, ``limit_price``, ``stop_price``,
        ``tif``); the exits come from :func:`~quantdesk.domain.orders.make_bracket`: GTC, on
        the opposite side, ids ``<entry id>.sl``/``<entry id>.tp``, one OCO group. They are
        held until the entry fills and then work for the filled quantity; when both could
        fill on one bar the broker's OCO rules decide (see
        :class:`~quantdesk.execution.sim.SimulatedBroker`). Every order of the bracket is
        listed in the result's orders.

        Raises
        ------
        ValidationError
            For an invalid entry (location ``order``), a missing or non-positive level, or
            levels on the wrong side of each other or of the entry price (location
            ``bracket``, field ``stop_loss``/``take_profit``).
        """
        ts = self.ts
        issues = [
            Issue("bracket", f"must be a finite positive price, got {level!r}", name)
            for name, level in (("stop_loss", stop_loss), ("take_profit", take_profit))
            if level is not None
            and (
                isinstance(level, bool)
                or not isinstance(level, numbers.Real)
                or not math.isfinite(float(level))
                or float(level) <= 0
            )
        ]
        if issues:
            raise ValidationError("invalid bracket", issues)
        entry = self._build(symbol, side, quantity, type, limit_price, stop_price, None, None, tif)
        bracket = make_bracket(
            entry,
            stop_loss=None if stop_loss is None else float(stop_loss),
            take_profit=None if take_profit is None else float(take_profit),
        )
        report = self._broker.submit_bracket(bracket, ts)
        self._submitted(bracket.orders, report, ts)
        return bracket

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

        The target is ``trunc(weight * equity / close)`` shares (rounded towards zero, close
        of the symbol's latest trading bar); the order covers the gap from the position plus
        working entry orders. Returns the market order, or ``None`` when nothing needs trading.

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
        """Keep ``message`` in the result's log, stamped with the clock time (or ``start``)."""
        stamp = "start" if self._clock is None else self._clock.isoformat()
        self.log.append(f"{stamp} {message}")

    def _entry(self, symbol: str) -> _Symbol:
        sym = normalize_symbol(symbol)
        entry = self._symbols.get(sym)
        if entry is None:
            raise NotFound(f"symbol {sym!r} is not in this backtest")
        return entry

    def _slot(
        self, entry: _Symbol, symbol: str, interval: Interval | str | None
    ) -> Interval | None:
        if interval is None:
            return entry.trading if entry.trading in entry.histories else None
        try:
            wanted = Interval.parse(interval)
        except ValueError as error:
            raise ValidationError(
                "unknown interval", [Issue("history", str(error), "interval")]
            ) from None
        if wanted in entry.histories:
            return wanted
        if None in entry.histories and entry.trading in (None, wanted):
            return None
        have = ", ".join(i.value for i in self.intervals(symbol)) or "none yet"
        raise NotFound(f"symbol {symbol!r} has no {wanted.value} bars (it has: {have})")

    def _get_history(self, symbol: str, interval: Interval | str | None = None) -> _History:
        # the symbols are keyed normalised, so a key needs no normalising (nor does a hit)
        entry = self._symbols.get(symbol) if type(symbol) is str else None
        if entry is None:
            symbol = normalize_symbol(symbol)
            entry = self._entry(symbol)
        return entry.histories[self._slot(entry, symbol, interval)]

    @property
    def orders(self) -> Sequence[Order]:
        """Return every order submitted so far, in submission order."""
        return tuple(self._orders)


def _micros(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000)
