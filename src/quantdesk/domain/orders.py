"""Order value objects: sides, types, time in force, statuses, orders, brackets and fills.

An :class:`Order` is an immutable instruction; its life (working, partly filled, cancelled) is
reported by :class:`OrderUpdate` values and its executions by :class:`Fill` values. Quantities
are positive; the side sets the direction. Prices are floats in the instrument's currency.

Order types and the fields they use:

- ``market``: no price fields.
- ``limit``: ``limit_price``.
- ``stop``: ``stop_price`` (becomes a market order when the stop is touched).
- ``stop_limit``: ``stop_price`` and ``limit_price`` (becomes a limit order when triggered).
- ``trailing_stop``: exactly one of ``trail_amount`` (price units) or ``trail_percent``
  (percent, ``5`` = 5 %); the stop follows the most favourable price seen.

Linkage: ``parent_id`` holds an order until its parent fills (bracket exits); orders sharing an
``oco_group`` cancel one another ("one cancels other"). :func:`make_bracket` builds an entry with
an attached stop-loss and take-profit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.instruments import normalize_symbol

_E = TypeVar("_E", bound=StrEnum)
_INF = math.inf


class OrderSide(StrEnum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return ``+1`` for a buy and ``-1`` for a sell."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        """Return the other side."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    """How an order's execution price is decided."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"

    @property
    def is_stop(self) -> bool:
        """Return whether the order waits for a stop level (stop, stop-limit, trailing stop)."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


class TimeInForce(StrEnum):
    """How long an order stays working.

    ``day``: until the end of the session (date) of its first eligible bar; ``gtc``: until
    filled or cancelled; ``ioc``: fill what is possible on the first eligible bar, cancel the
    rest; ``fok``: fill completely on the first eligible bar or not at all.
    """

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    """Life-cycle state of an order."""

    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Return whether the order can no longer fill."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


def _enum(kind: type[_E], value: object, field: str, issues: list[Issue]) -> _E | None:
    try:
        return kind(str(value))
    except ValueError:
        valid = ", ".join(member.value for member in kind)
        issues.append(Issue("order", f"{value!r} is not one of {valid}", field=field))
        return None


def _positive(value: float | None, field: str, issues: list[Issue]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        issues.append(Issue("order", f"must be a finite number, got {value!r}", field=field))
    elif value <= 0:
        issues.append(Issue("order", f"must be positive, got {value!r}", field=field))


@dataclass(frozen=True, slots=True, init=False)
class Order:
    """An immutable order instruction.

    Raises :class:`~quantdesk.core.errors.ValidationError` naming every bad field: a
    non-positive quantity, a limit order without ``limit_price``, a stop without
    ``stop_price``, a trailing stop with both or neither of ``trail_amount`` and
    ``trail_percent``, price fields an order type does not use, an order that is its own parent.
    ``tif`` defaults to good-till-cancelled.
    """

    id: str
    symbol: str
    side: OrderSide
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    tif: TimeInForce = TimeInForce.GTC
    parent_id: str | None = None
    oco_group: str | None = None

    def __init__(
        self,
        id: str,
        symbol: str,
        side: OrderSide,
        quantity: float,
        type: OrderType = OrderType.MARKET,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        parent_id: str | None = None,
        oco_group: str | None = None,
    ) -> None:
        # Engines build orders by the thousand: an order that is already normal (enum members,
        # float prices, a market, limit, stop or stop-limit order using exactly its price
        # fields) is checked here and written slot by slot; anything else goes through
        # _validate, which converts, checks every field and names every bad one.
        if (
            id.__class__ is str
            and symbol.__class__ is str
            and side.__class__ is OrderSide
            and type.__class__ is OrderType
            and tif.__class__ is TimeInForce
            and quantity.__class__ is float
            and 0.0 < quantity < _INF
            and trail_amount is None
            and trail_percent is None
            and _prices_fit(type, limit_price, stop_price)
            and (parent_id is None or (parent_id.__class__ is str and parent_id != id))
            and id.strip()
        ):
            try:
                normal = normalize_symbol(symbol)
            except ValueError:
                pass
            else:
                _SET_ORDER_ID(self, id)
                _SET_ORDER_SYMBOL(self, normal)
                _SET_ORDER_SIDE(self, side)
                _SET_ORDER_QUANTITY(self, quantity)
                _SET_ORDER_TYPE(self, type)
                _SET_ORDER_LIMIT(self, limit_price)
                _SET_ORDER_STOP(self, stop_price)
                _SET_ORDER_TRAIL_AMOUNT(self, None)
                _SET_ORDER_TRAIL_PERCENT(self, None)
                _SET_ORDER_TIF(self, tif)
                _SET_ORDER_PARENT(self, parent_id)
                _SET_ORDER_OCO(self, oco_group)
                return
        raw = (
            id,
            symbol,
            side,
            quantity,
            type,
            limit_price,
            stop_price,
            trail_amount,
            trail_percent,
            tif,
            parent_id,
            oco_group,
        )
        for setter, value in zip(_ORDER_SETTERS, raw, strict=True):
            setter(self, value)
        self._validate()

    def _validate(self) -> None:
        issues: list[Issue] = []
        if not isinstance(self.id, str) or not self.id.strip():
            issues.append(Issue("order", "must be a non-empty string", field="id"))
        try:
            object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        except (ValueError, AttributeError) as error:
            issues.append(Issue("order", str(error), field="symbol"))
        side = _enum(OrderSide, self.side, "side", issues)
        kind = _enum(OrderType, self.type, "type", issues)
        tif = _enum(TimeInForce, self.tif, "tif", issues)
        _positive(self.quantity, "quantity", issues)
        if self.quantity is None:
            issues.append(Issue("order", "is required", field="quantity"))
        for field in ("limit_price", "stop_price", "trail_amount", "trail_percent"):
            _positive(getattr(self, field), field, issues)
        percent = self.trail_percent
        if isinstance(percent, int | float) and not isinstance(percent, bool) and percent >= 100:
            issues.append(Issue("order", "must be below 100 (it is a percent)", "trail_percent"))
        if kind is not None:
            issues += _type_issues(self, kind)
        if self.parent_id is not None and self.parent_id == self.id:
            issues.append(Issue("order", "an order cannot be its own parent", field="parent_id"))
        if issues:
            raise ValidationError("invalid order", issues)
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "tif", tif)
        object.__setattr__(self, "quantity", float(self.quantity))
        for field in ("limit_price", "stop_price", "trail_amount", "trail_percent"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, float(value))

    @property
    def signed_quantity(self) -> float:
        """Return the quantity signed by side (negative for sells)."""
        return self.quantity * self.side.sign


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    setter: Callable[[Any, Any], None] = vars(cls)[name].__set__
    return setter


_ORDER_SETTERS = tuple(_slot_setter(Order, item.name) for item in fields(Order))
(
    _SET_ORDER_ID,
    _SET_ORDER_SYMBOL,
    _SET_ORDER_SIDE,
    _SET_ORDER_QUANTITY,
    _SET_ORDER_TYPE,
    _SET_ORDER_LIMIT,
    _SET_ORDER_STOP,
    _SET_ORDER_TRAIL_AMOUNT,
    _SET_ORDER_TRAIL_PERCENT,
    _SET_ORDER_TIF,
    _SET_ORDER_PARENT,
    _SET_ORDER_OCO,
) = _ORDER_SETTERS


def _price(value: object) -> bool:
    # a float price that passes _positive unchanged
    return value.__class__ is float and 0.0 < value < _INF


def _prices_fit(kind: OrderType, limit_price: object, stop_price: object) -> bool:
    """Return whether an order of ``kind`` with these (already valid float) price fields is
    valid as it stands; a trailing stop always takes the full check."""
    if kind is OrderType.MARKET:
        return limit_price is None and stop_price is None
    if kind is OrderType.LIMIT:
        return stop_price is None and _price(limit_price)
    if kind is OrderType.STOP:
        return limit_price is None and _price(stop_price)
    if kind is OrderType.STOP_LIMIT:
        return _price(limit_price) and _price(stop_price)
    return False


_USES = {
    OrderType.MARKET: frozenset(),
    OrderType.LIMIT: frozenset({"limit_price"}),
    OrderType.STOP: frozenset({"stop_price"}),
    OrderType.STOP_LIMIT: frozenset({"stop_price", "limit_price"}),
    OrderType.TRAILING_STOP: frozenset({"trail_amount", "trail_percent"}),
}


def _type_issues(order: Order, kind: OrderType) -> list[Issue]:
    issues: list[Issue] = []
    uses = _USES[kind]
    for field in ("limit_price", "stop_price", "trail_amount", "trail_percent"):
        given = getattr(order, field) is not None
        if given and field not in uses:
            issues.append(Issue("order", f"is not used by a {kind.value} order", field=field))
        elif not given and field in uses and kind is not OrderType.TRAILING_STOP:
            issues.append(Issue("order", f"is required for a {kind.value} order", field=field))
    if kind is OrderType.TRAILING_STOP:
        trails = [f for f in ("trail_amount", "trail_percent") if getattr(order, f) is not None]
        if len(trails) != 1:
            reason = "give exactly one of trail_amount or trail_percent"
            issues.append(Issue("order", reason, field="trail_amount"))
    return issues


@dataclass(frozen=True, slots=True)
class Bracket:
    """An entry order with an attached stop-loss and/or take-profit.

    The exits are held until the entry fills and then work for the filled quantity; they share
    an OCO group, so a fill of one reduces (and a complete fill cancels) the other.
    """

    entry: Order
    stop_loss: Order | None = None
    take_profit: Order | None = None

    def __post_init__(self) -> None:
        exits = [child for child in (self.stop_loss, self.take_profit) if child is not None]
        issues: list[Issue] = []
        if not exits:
            issues.append(Issue("bracket", "needs a stop-loss, a take-profit or both"))
        for name, child in (("stop_loss", self.stop_loss), ("take_profit", self.take_profit)):
            if child is None:
                continue
            if child.parent_id != self.entry.id:
                issues.append(Issue("bracket", "must name the entry as parent", field=name))
            if child.symbol != self.entry.symbol:
                issues.append(Issue("bracket", "must trade the entry's symbol", field=name))
            if child.side is self.entry.side:
                issues.append(Issue("bracket", "must be on the opposite side", field=name))
        if len(exits) == 2 and (
            exits[0].oco_group is None or exits[0].oco_group != exits[1].oco_group
        ):
            issues.append(Issue("bracket", "exits must share one oco_group", field="oco_group"))
        if issues:
            raise ValidationError("invalid bracket", issues)

    @property
    def orders(self) -> tuple[Order, ...]:
        """Return the entry followed by its exits, in submission order."""
        return tuple(o for o in (self.entry, self.stop_loss, self.take_profit) if o is not None)


def make_bracket(
    entry: Order, *, stop_loss: float | None = None, take_profit: float | None = None
) -> Bracket:
    """Return ``entry`` with a stop-loss (stop order) and/or take-profit (limit order) attached.

    The exits are GTC, on the opposite side, for the entry's quantity, with ids
    ``<entry id>.sl`` / ``<entry id>.tp`` and OCO group ``<entry id>.oco``.

    Raises
    ------
    ValidationError
        When neither level is given, or the levels are on the wrong side of each other or of
        the entry's limit/stop price (a long bracket needs stop-loss < entry < take-profit).
    """
    issues: list[Issue] = []
    direction = entry.side.sign
    reference = entry.limit_price if entry.limit_price is not None else entry.stop_price
    if (
        stop_loss is not None
        and take_profit is not None
        and (take_profit - stop_loss) * direction <= 0
    ):
        issues.append(
            Issue("bracket", "stop-loss must be on the losing side of the take-profit", "stop_loss")
        )
    if reference is not None:
        if stop_loss is not None and (reference - stop_loss) * direction <= 0:
            issues.append(
                Issue(
                    "bracket", f"must be on the losing side of the entry {reference}", "stop_loss"
                )
            )
        if take_profit is not None and (take_profit - reference) * direction <= 0:
            issues.append(
                Issue(
                    "bracket",
                    f"must be on the winning side of the entry {reference}",
                    "take_profit",
                )
            )
    if issues:
        raise ValidationError("invalid bracket", issues)
    group = f"{entry.id}.oco"
    exit_side = entry.side.opposite
    stop_order = take_order = None
    if stop_loss is not None:
        stop_order = Order(
            f"{entry.id}.sl",
            entry.symbol,
            exit_side,
            entry.quantity,
            OrderType.STOP,
            stop_price=stop_loss,
            parent_id=entry.id,
            oco_group=group,
        )
    if take_profit is not None:
        take_order = Order(
            f"{entry.id}.tp",
            entry.symbol,
            exit_side,
            entry.quantity,
            OrderType.LIMIT,
            limit_price=take_profit,
            parent_id=entry.id,
            oco_group=group if stop_loss is not None else None,
        )
    return Bracket(entry, stop_order, take_order)


@dataclass(frozen=True, slots=True, init=False)
class OrderUpdate:
    """A change in an order's state, as reported by a broker or simulator.

    ``filled_quantity`` is cumulative; ``remaining_quantity`` is what can still fill (zero once
    terminal); ``average_price`` is the quantity-weighted fill price (``None`` before a fill);
    ``reason`` explains rejections, cancellations and expiries.
    """

    order_id: str
    symbol: str
    ts: datetime
    status: OrderStatus
    filled_quantity: float = 0.0
    remaining_quantity: float = 0.0
    average_price: float | None = None
    reason: str | None = None

    def __init__(
        self,
        order_id: str,
        symbol: str,
        ts: datetime,
        status: OrderStatus,
        filled_quantity: float = 0.0,
        remaining_quantity: float = 0.0,
        average_price: float | None = None,
        reason: str | None = None,
    ) -> None:
        # Brokers report one per order event: write the slots directly (a frozen dataclass's
        # generated __init__ goes through object.__setattr__ field by field).
        _SET_UPDATE_ORDER_ID(self, order_id)
        _SET_UPDATE_SYMBOL(self, symbol)
        _SET_UPDATE_TS(self, ts)
        _SET_UPDATE_STATUS(self, status)
        _SET_UPDATE_FILLED(self, filled_quantity)
        _SET_UPDATE_REMAINING(self, remaining_quantity)
        _SET_UPDATE_AVERAGE(self, average_price)
        _SET_UPDATE_REASON(self, reason)


@dataclass(frozen=True, slots=True, init=False)
class Fill:
    """One execution of (part of) an order.

    ``price`` already includes slippage; ``slippage`` is its cost in currency
    (``|price - reference price| * quantity``, never negative); ``fee`` is the commission
    charged for this fill.
    """

    order_id: str
    symbol: str
    ts: datetime
    side: OrderSide
    quantity: float
    price: float
    fee: float = 0.0
    slippage: float = 0.0

    def __init__(
        self,
        order_id: str,
        symbol: str,
        ts: datetime,
        side: OrderSide,
        quantity: float,
        price: float,
        fee: float = 0.0,
        slippage: float = 0.0,
    ) -> None:
        # A fill that is already normal (a UTC datetime, an OrderSide, valid float amounts) is
        # written slot by slot; anything else goes through _validate's conversions and checks.
        if (
            ts.__class__ is datetime
            and ts.tzinfo is UTC
            and side.__class__ is OrderSide
            and quantity.__class__ is float
            and price.__class__ is float
            and fee.__class__ is float
            and slippage.__class__ is float
            and 0.0 < quantity < _INF
            and 0.0 < price < _INF
            and -_INF < fee < _INF
            and 0.0 <= slippage < _INF
        ):
            _SET_FILL_ORDER_ID(self, order_id)
            _SET_FILL_SYMBOL(self, symbol)
            _SET_FILL_TS(self, ts)
            _SET_FILL_SIDE(self, side)
            _SET_FILL_QUANTITY(self, quantity)
            _SET_FILL_PRICE(self, price)
            _SET_FILL_FEE(self, fee)
            _SET_FILL_SLIPPAGE(self, slippage)
            return
        raw = (order_id, symbol, ts, side, quantity, price, fee, slippage)
        for setter, value in zip(_FILL_SETTERS, raw, strict=True):
            setter(self, value)
        self._validate()

    def _validate(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("fill timestamp must be timezone-aware (UTC)")
        object.__setattr__(self, "ts", self.ts.astimezone(UTC))
        object.__setattr__(self, "side", OrderSide(self.side))
        for name in ("quantity", "price", "fee", "slippage"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("quantity", "price"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"fill {name} must be a finite positive number, got {value!r}")
        if not math.isfinite(self.fee):
            raise ValueError(f"fill fee must be finite, got {self.fee!r}")
        if not math.isfinite(self.slippage) or self.slippage < 0:
            raise ValueError(f"fill slippage must be finite and >= 0, got {self.slippage!r}")

    @property
    def signed_quantity(self) -> float:
        """Return the quantity signed by side (negative for sells)."""
        return self.quantity * self.side.sign

    @property
    def notional(self) -> float:
        """Return ``quantity * price``."""
        return self.quantity * self.price


(
    _SET_UPDATE_ORDER_ID,
    _SET_UPDATE_SYMBOL,
    _SET_UPDATE_TS,
    _SET_UPDATE_STATUS,
    _SET_UPDATE_FILLED,
    _SET_UPDATE_REMAINING,
    _SET_UPDATE_AVERAGE,
    _SET_UPDATE_REASON,
) = (_slot_setter(OrderUpdate, item.name) for item in fields(OrderUpdate))
_FILL_SETTERS = tuple(_slot_setter(Fill, item.name) for item in fields(Fill))
(
    _SET_FILL_ORDER_ID,
    _SET_FILL_SYMBOL,
    _SET_FILL_TS,
    _SET_FILL_SIDE,
    _SET_FILL_QUANTITY,
    _SET_FILL_PRICE,
    _SET_FILL_FEE,
    _SET_FILL_SLIPPAGE,
) = _FILL_SETTERS
