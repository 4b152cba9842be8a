"""Simulated account: cash, average-cost positions, P&L, margin, borrow and corporate actions.

All amounts are float64: this is analytics, not the books (the exact, ``Decimal`` ledger is
:mod:`quantdesk.portfolio.ledger`). The arithmetic lives in the numba kernels of
:mod:`._accounting_nb`, which the numba simulators share.

Identities that hold at every moment (up to float rounding)::

    cash   = initial_cash - sum(signed quantity * price over fills) - fees - borrow + dividends
    equity = cash + sum(position * last price)
           = initial_cash + realised + unrealised - fees - borrow + dividends

Realised and unrealised P&L exclude fees (reported separately); slippage is inside the fill
prices. Margin is a single gross-leverage limit: an order that *increases* the position's size
must leave ``gross exposure <= max_leverage * equity`` (``max_leverage=1`` is a cash account
that may not borrow; Reg-T initial margin of 50 % is ``max_leverage=2``); orders that only
reduce a position are always allowed. There are no margin calls or forced liquidations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quantdesk.core.errors import Issue, OrderRejected, ValidationError
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.orders import Fill, OrderSide
from quantdesk.execution.sim._accounting_nb import (
    apply_fill_nb,
    borrow_cost_nb,
    dividend_cash_nb,
    exposure_after_nb,
    split_nb,
)

__all__ = ["Account", "AccountConfig", "AccountPosition", "AccountSnapshot"]

_TOLERANCE = 1e-9
_INF = math.inf


def _finite(value: float, name: str, *, minimum: float = 0.0, strict: bool = False) -> None:
    bad = not math.isfinite(value) or value < minimum or (strict and value <= minimum)
    if bad:
        rule = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValidationError(
            "invalid account configuration",
            [Issue("AccountConfig", f"must be a finite number {rule}, got {value!r}", name)],
        )


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """How the simulated account is funded and constrained.

    ``borrow_rate`` is the annual stock-loan fee on short market value (``0.03`` = 3 % a year),
    accrued per calendar day on a ``day_count``-day year; ``borrow_rates`` overrides it per
    symbol (hard-to-borrow names).
    """

    initial_cash: float
    max_leverage: float = 1.0
    allow_short: bool = True
    borrow_rate: float = 0.0
    borrow_rates: Mapping[str, float] = field(default_factory=dict, hash=False)
    day_count: int = 360

    def __post_init__(self) -> None:
        _finite(self.initial_cash, "initial_cash")
        _finite(self.max_leverage, "max_leverage", strict=True)
        _finite(self.borrow_rate, "borrow_rate")
        for symbol, rate in self.borrow_rates.items():
            _finite(rate, f"borrow_rates[{symbol}]")
        if self.day_count not in (360, 365):
            raise ValidationError(
                "invalid account configuration",
                [Issue("AccountConfig", "must be 360 or 365", "day_count")],
            )
        rates = {normalize_symbol(s): float(r) for s, r in self.borrow_rates.items()}
        object.__setattr__(self, "borrow_rates", rates)

    def borrow_rate_for(self, symbol: str) -> float:
        """Return the annual borrow rate charged on shorts of ``symbol``."""
        return self.borrow_rates.get(symbol, self.borrow_rate)


@dataclass(frozen=True, slots=True, init=False)
class AccountPosition:
    """A position in the simulated account (``quantity < 0`` is short)."""

    symbol: str
    quantity: float
    average_cost: float
    last_price: float
    realised_pnl: float

    def __init__(
        self,
        symbol: str,
        quantity: float,
        average_cost: float,
        last_price: float,
        realised_pnl: float,
    ) -> None:
        # Built for every position on every recorded bar: write the slots directly (a frozen
        # dataclass's generated __init__ goes through object.__setattr__ field by field).
        _SET_SYMBOL(self, symbol)
        _SET_QUANTITY(self, quantity)
        _SET_AVERAGE_COST(self, average_cost)
        _SET_LAST_PRICE(self, last_price)
        _SET_REALISED_PNL(self, realised_pnl)

    @property
    def market_value(self) -> float:
        """Return ``quantity * last_price`` (negative for shorts)."""
        return self.quantity * self.last_price

    @property
    def unrealised_pnl(self) -> float:
        """Return ``quantity * (last_price - average_cost)``."""
        return self.quantity * (self.last_price - self.average_cost)


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    setter: Callable[[Any, Any], None] = vars(AccountPosition)[name].__set__
    return setter


_SET_SYMBOL, _SET_QUANTITY, _SET_AVERAGE_COST, _SET_LAST_PRICE, _SET_REALISED_PNL = (
    _slot_setter(name)
    for name in ("symbol", "quantity", "average_cost", "last_price", "realised_pnl")
)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account's state at one moment (see the module docstring for the identities)."""

    cash: float
    equity: float
    gross_exposure: float
    leverage: float
    buying_power: float
    realised_pnl: float
    unrealised_pnl: float
    fees: float
    borrow_costs: float
    dividends: float
    positions: tuple[AccountPosition, ...]


@dataclass(slots=True)
class _Book:
    quantity: float = 0.0
    average_cost: float = 0.0
    last_price: float = math.nan
    realised: float = 0.0
    # whether the book's key is a normalised symbol (fills booked directly may carry others)
    normal: bool = True


# read-only stand-in for a symbol never traded nor marked
_FLAT = _Book()


def _is_normal(symbol: str) -> bool:
    try:
        return normalize_symbol(symbol) == symbol
    except (ValueError, AttributeError, TypeError):
        return False


class Account:
    """Cash and positions of one simulated account, updated by fills and corporate actions."""

    def __init__(self, config: AccountConfig) -> None:
        self.config = config
        self._cash = float(config.initial_cash)
        self._books: dict[str, _Book] = {}
        self._realised = 0.0
        self._fees = 0.0
        self._borrow = 0.0
        self._dividends = 0.0

    @property
    def cash(self) -> float:
        """Return the cash balance (short-sale proceeds included)."""
        return self._cash

    @property
    def fees(self) -> float:
        """Return the total commissions paid."""
        return self._fees

    @property
    def borrow_costs(self) -> float:
        """Return the total short borrow fees paid."""
        return self._borrow

    @property
    def dividends(self) -> float:
        """Return net dividends (received on longs minus paid on shorts)."""
        return self._dividends

    @property
    def realised_pnl(self) -> float:
        """Return realised P&L, before fees."""
        return self._realised

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book(normal=_is_normal(symbol))
        return book

    def _find(self, symbol: str) -> tuple[str, _Book | None]:
        # Normalisation is idempotent, so a symbol that is the key of a book known to be
        # normal needs no normalising; anything else is normalised (and validated) first.
        book = self._books.get(symbol)
        if book is None or not book.normal:
            symbol = normalize_symbol(symbol)
            book = self._books.get(symbol)
        return symbol, book

    def position(self, symbol: str) -> AccountPosition:
        """Return the position in ``symbol`` (flat if never traded)."""
        symbol, book = self._find(symbol)
        if book is None:
            return AccountPosition(symbol, 0.0, 0.0, math.nan, 0.0)
        return AccountPosition(
            symbol, book.quantity, book.average_cost, book.last_price, book.realised
        )

    def positions(self) -> dict[str, AccountPosition]:
        """Return the open (non-flat) positions by symbol."""
        return {
            s: (
                AccountPosition(s, b.quantity, b.average_cost, b.last_price, b.realised)
                if b.normal
                else self.position(s)
            )
            for s, b in sorted(self._books.items())
            if b.quantity != 0.0
        }

    def quantities(self) -> dict[str, float]:
        """Return the signed quantity of every open (non-flat) position, by sorted symbol.

        The same as ``{s: p.quantity for s, p in positions().items()}``, without building the
        positions.
        """
        return {
            s: b.quantity if b.normal else self.position(s).quantity
            for s, b in sorted(self._books.items())
            if b.quantity != 0.0
        }

    def last_price(self, symbol: str) -> float | None:
        """Return the last mark of ``symbol``, or ``None`` before any."""
        _, book = self._find(symbol)
        return None if book is None or math.isnan(book.last_price) else book.last_price

    def mark(self, symbol: str, price: float) -> None:
        """Value ``symbol`` at ``price`` from now on (the matching engine marks at each close)."""
        if not (type(price) is float and 0.0 < price < _INF):
            if not math.isfinite(price) or price <= 0:
                raise ValueError(f"mark price must be finite and positive, got {price!r}")
            price = float(price)
        book = self._books.get(symbol)
        if book is None or not book.normal:
            book = self._book(normalize_symbol(symbol))
        book.last_price = price

    def equity(self) -> float:
        """Return cash plus the market value of every position."""
        # Flat books add exactly 0.0 to the sum, so leaving them out changes no bit.
        return self._cash + sum(
            [b.quantity * b.last_price for b in self._books.values() if b.quantity != 0.0], 0.0
        )

    def gross_exposure(self) -> float:
        """Return the sum of absolute position market values."""
        return sum(
            [abs(b.quantity * b.last_price) for b in self._books.values() if b.quantity != 0.0],
            0.0,
        )

    def unrealised_pnl(self) -> float:
        """Return the unrealised P&L of every open position at its last mark."""
        return sum(
            (
                b.quantity * (b.last_price - b.average_cost)
                for b in self._books.values()
                if b.quantity != 0.0
            ),
            0.0,
        )

    def leverage(self) -> float:
        """Return gross exposure / equity (``inf`` when equity is not positive)."""
        equity = self.equity()
        return self.gross_exposure() / equity if equity > 0 else math.inf

    def buying_power(self) -> float:
        """Return ``max_leverage * equity - gross exposure``: new exposure the account can add."""
        return self.config.max_leverage * self.equity() - self.gross_exposure()

    def check_order(
        self,
        symbol: str,
        side: OrderSide,
        quantity: float,
        price: float,
        fee: float = 0.0,
        *,
        order_id: str | None = None,
    ) -> None:
        """Raise :class:`OrderRejected` if trading ``quantity`` at ``price`` breaks a limit.

        Checks, in order: short selling allowed (``code="short_not_allowed"``), then the
        leverage limit for trades that increase the position's size
        (``code="insufficient_buying_power"``): after the trade, with the symbol re-marked at
        ``price`` and ``fee`` paid, ``gross exposure <= max_leverage * equity`` and equity > 0.
        """
        symbol, found = self._find(symbol)
        quantity, price, fee = float(quantity), float(price), float(fee)
        book = _FLAT if found is None else found
        trade = quantity * side.sign
        after = book.quantity + trade
        if not self.config.allow_short and after < -_TOLERANCE * max(1.0, abs(trade)):
            raise OrderRejected(
                f"short selling is not allowed: the account holds {book.quantity:g} "
                f"{symbol} and the order sells {quantity:g}",
                code="short_not_allowed",
                order_id=order_id,
            )
        if abs(after) <= abs(book.quantity) + _TOLERANCE:
            return
        mark = price if math.isnan(book.last_price) else book.last_price
        equity = self.equity()
        gross = self.gross_exposure()
        exposure, equity_after = exposure_after_nb(
            equity, gross, book.quantity, mark, trade, price, fee
        )
        limit = self.config.max_leverage * equity_after
        if equity_after <= 0 or exposure > limit * (1 + 1e-12) + _TOLERANCE:
            needed = abs(after) * price - abs(book.quantity) * mark + fee
            available = self.config.max_leverage * equity - gross
            raise OrderRejected(
                f"insufficient buying power: the order needs {needed:,.2f} and "
                f"{available:,.2f} is available (max leverage {self.config.max_leverage:g}x, "
                f"gross exposure would be {exposure:,.2f} on equity {equity_after:,.2f})",
                code="insufficient_buying_power",
                order_id=order_id,
            )

    def apply_fill(self, fill: Fill) -> float:
        """Book ``fill`` (cash, position, fees) and return the P&L it realised (before fees)."""
        book = self._book(fill.symbol)
        trade = fill.signed_quantity
        quantity, cost, realised = apply_fill_nb(
            book.quantity, book.average_cost, trade, float(fill.price)
        )
        book.quantity, book.average_cost = float(quantity), float(cost)
        book.realised += realised
        if math.isnan(book.last_price):
            book.last_price = fill.price
        self._cash -= trade * fill.price + fill.fee
        self._fees += fill.fee
        self._realised += realised
        return float(realised)

    def accrue_borrow(self, symbol: str, days: float, price: float | None = None) -> float:
        """Charge the borrow fee on a short in ``symbol`` for ``days`` days; return it.

        ``|quantity| * price * rate * days / day_count``, valued at ``price`` (default: the last
        mark). Longs and flat positions cost nothing.
        """
        symbol, book = self._find(symbol)
        if book is None or book.quantity >= 0 or days <= 0:
            return 0.0
        value = book.last_price if price is None else float(price)
        rate = self.config.borrow_rate_for(symbol)
        cost = float(
            borrow_cost_nb(book.quantity, value, rate, float(days), float(self.config.day_count))
        )
        self._cash -= cost
        self._borrow += cost
        return cost

    def apply_split(self, symbol: str, ratio: float) -> None:
        """Apply a split of ``ratio`` (shares after / before, ``2`` for 2-for-1, ``0.1`` for
        1-for-10): quantity x ratio, average cost and last mark / ratio; no cash moves (no cash
        in lieu of fractional shares)."""
        if not math.isfinite(ratio) or ratio <= 0:
            raise ValidationError(
                "invalid split", [Issue("split", f"ratio must be positive, got {ratio!r}", "ratio")]
            )
        _, book = self._find(symbol)
        if book is None:
            return
        quantity, cost = split_nb(book.quantity, book.average_cost, float(ratio))
        book.quantity, book.average_cost = float(quantity), float(cost)
        book.last_price = book.last_price / ratio

    def apply_dividend(self, symbol: str, amount_per_share: float) -> float:
        """Pay a cash dividend on the current position; return the cash moved.

        Longs receive ``quantity * amount``; shorts pay it (the lender is owed the dividend).
        """
        if not math.isfinite(amount_per_share) or amount_per_share < 0:
            raise ValidationError(
                "invalid dividend",
                [Issue("dividend", f"must be >= 0, got {amount_per_share!r}", "amount")],
            )
        _, book = self._find(symbol)
        if book is None or book.quantity == 0.0:
            return 0.0
        cash = float(dividend_cash_nb(book.quantity, float(amount_per_share)))
        self._cash += cash
        self._dividends += cash
        return cash

    def snapshot(self) -> AccountSnapshot:
        """Return the account's state now."""
        equity = self.equity()
        gross = self.gross_exposure()
        return AccountSnapshot(
            cash=self._cash,
            equity=equity,
            gross_exposure=gross,
            leverage=gross / equity if equity > 0 else math.inf,
            buying_power=self.config.max_leverage * equity - gross,
            realised_pnl=self._realised,
            unrealised_pnl=self.unrealised_pnl(),
            fees=self._fees,
            borrow_costs=self._borrow,
            dividends=self._dividends,
            positions=tuple(self.positions().values()),
        )
