"""Holdings and P&L at given prices and FX rates, in the base currency.

:func:`holdings` values a :class:`~quantdesk.portfolio.ledger.LedgerState` at the latest prices
(one per open symbol, in the symbol's currency) and converts every line to the base currency
with ``fx_rates``: units of base currency per one unit of the line's currency (``{"EUR":
Decimal("1.08")}`` for a USD base). Every conversion uses these current rates, including cost
basis, realised P&L and income: the report shows today's base-currency view, not a tax
computation at historical rates.

Money stays :class:`~decimal.Decimal` at full precision; quantise with
:func:`~quantdesk.domain.portfolio.quantize_money` when showing it. Weights and percentage
returns are floats (analytics). A weight is the line's base value over the total value
(securities plus cash); it is 0.0 when the total value is zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.portfolio import MONEY_CONTEXT, ONE, ZERO, to_decimal
from quantdesk.portfolio.ledger import LedgerState

#: A price or rate: Decimal, int or str; floats are taken at their shortest repr.
Number = Decimal | int | str | float


def to_number(value: Number, name: str) -> Decimal:
    """Return ``value`` as a Decimal; a float is read from its shortest repr (``0.1`` -> 0.1).

    Raises
    ------
    ValueError
        For NaN, infinity or text that is not a number.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} is {value}; a finite number is needed")
        return Decimal(repr(value))
    number = to_decimal(value, name)
    if not number.is_finite():
        raise ValueError(f"{name} is {number}; a finite number is needed")
    return number


@dataclass(frozen=True, slots=True)
class HoldingLine:
    """One position valued at ``price``.

    Local-currency fields: ``quantity``, ``average_cost``, ``cost_basis``, ``price``,
    ``market_value`` and ``unrealized_pnl`` (``market_value - cost_basis``, which also holds for
    shorts whose cost basis is negative). ``*_base`` fields are converted with ``fx_rate``.
    ``unrealized_return`` is ``unrealized_pnl / |cost_basis|`` (``None`` without a cost).
    """

    symbol: str
    currency: str
    quantity: Decimal
    average_cost: Decimal | None
    cost_basis: Decimal
    price: Decimal | None
    market_value: Decimal
    unrealized_pnl: Decimal
    fx_rate: Decimal
    market_value_base: Decimal
    cost_basis_base: Decimal
    unrealized_pnl_base: Decimal
    realized_pnl_base: Decimal
    income_base: Decimal
    weight: float
    unrealized_return: float | None


@dataclass(frozen=True, slots=True)
class CashLine:
    """The cash balance in one currency and its base-currency value."""

    currency: str
    balance: Decimal
    fx_rate: Decimal
    value_base: Decimal
    weight: float


@dataclass(frozen=True, slots=True)
class HoldingsTotals:
    """Portfolio totals in the base currency.

    ``total_value = market_value + cash``; ``realized_pnl``, ``income`` (dividends and interest),
    ``taxes_withheld``, ``fees_paid`` and ``contributions`` cover the whole history.
    """

    market_value: Decimal
    cash: Decimal
    total_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    income: Decimal
    taxes_withheld: Decimal
    fees_paid: Decimal
    contributions: Decimal


@dataclass(frozen=True, slots=True)
class HoldingsReport:
    """Position lines, cash lines and totals, all in ``base_currency``."""

    base_currency: str
    lines: tuple[HoldingLine, ...]
    cash: tuple[CashLine, ...]
    totals: HoldingsTotals

    def line(self, symbol: str) -> HoldingLine:
        """Return the line of ``symbol``; raise ``KeyError`` when it has none."""
        wanted = symbol.strip().upper()
        for line in self.lines:
            if line.symbol == wanted:
                return line
        raise KeyError(symbol)


def holdings(
    state: LedgerState,
    prices: Mapping[str, Number],
    *,
    fx_rates: Mapping[str, Number] | None = None,
    base_currency: str | None = None,
    include_closed: bool = False,
) -> HoldingsReport:
    """Value ``state`` at ``prices`` and report holdings, cash and P&L in the base currency.

    Parameters
    ----------
    state
        The result of :func:`~quantdesk.portfolio.ledger.replay`.
    prices
        Latest price per symbol in the symbol's currency; every open position needs one.
    fx_rates
        Base-currency units per unit of each other currency that appears (positions, cash,
        P&L); the base currency itself is 1.
    base_currency
        Reporting currency; defaults to ``state.base_currency``.
    include_closed
        Also list closed positions (quantity 0) so their realised P&L and income show.

    Returns
    -------
    HoldingsReport
        Lines sorted by symbol, cash lines sorted by currency, and totals.

    Raises
    ------
    ValidationError
        Naming every open symbol without a usable price and every currency without a rate.
    """
    base = (base_currency or state.base_currency).strip().upper()
    issues: list[Issue] = []
    rates = _rates(state, fx_rates or {}, base, issues)
    quotes: dict[str, Decimal] = {}
    given = {symbol.strip().upper(): value for symbol, value in prices.items()}
    for symbol in state.open_positions:
        if symbol not in given:
            issues.append(
                Issue(
                    "prices",
                    f"no price for open position {symbol}; pass its latest close",
                    field=symbol,
                )
            )
            continue
        try:
            quote = to_number(given[symbol], f"price of {symbol}")
        except (TypeError, ValueError) as exc:
            issues.append(Issue("prices", str(exc), field=symbol))
            continue
        if quote < 0:
            issues.append(Issue("prices", f"price {quote} is negative", field=symbol))
        quotes[symbol] = quote
    if issues:
        raise ValidationError("cannot value the holdings", issues)

    with localcontext(MONEY_CONTEXT):
        raw: list[HoldingLine] = []
        for symbol, pos in state.positions.items():
            if not pos.is_open and not include_closed:
                continue
            rate = rates[pos.currency]
            price = quotes.get(symbol)
            market_value = pos.quantity * price if price is not None else ZERO
            unrealized = market_value - pos.cost_basis
            raw.append(
                HoldingLine(
                    symbol=symbol,
                    currency=pos.currency,
                    quantity=pos.quantity,
                    average_cost=pos.average_cost,
                    cost_basis=pos.cost_basis,
                    price=price,
                    market_value=market_value,
                    unrealized_pnl=unrealized,
                    fx_rate=rate,
                    market_value_base=market_value * rate,
                    cost_basis_base=pos.cost_basis * rate,
                    unrealized_pnl_base=unrealized * rate,
                    realized_pnl_base=pos.realized_pnl * rate,
                    income_base=pos.dividends * rate,
                    weight=0.0,
                    unrealized_return=(
                        float(unrealized / abs(pos.cost_basis)) if pos.cost_basis else None
                    ),
                )
            )
        cash_raw = [
            (currency, balance, rates[currency], balance * rates[currency])
            for currency, balance in sorted(state.cash.items())
        ]
        market_value_total = sum((line.market_value_base for line in raw), ZERO)
        cash_total = sum((value for *_, value in cash_raw), ZERO)
        total_value = market_value_total + cash_total

        def weight(value: Decimal) -> float:
            return float(value / total_value) if total_value else 0.0

        lines = tuple(
            replace(line, weight=weight(line.market_value_base))
            for line in sorted(raw, key=lambda item: item.symbol)
        )
        cash = tuple(
            CashLine(currency, balance, rate, value, weight(value))
            for currency, balance, rate, value in cash_raw
        )

        def convert(amounts: Mapping[str, Decimal]) -> Decimal:
            return sum((amount * rates[c] for c, amount in amounts.items()), ZERO)

        totals = HoldingsTotals(
            market_value=market_value_total,
            cash=cash_total,
            total_value=total_value,
            cost_basis=sum((line.cost_basis_base for line in lines if line.quantity), ZERO),
            unrealized_pnl=sum((line.unrealized_pnl_base for line in lines), ZERO),
            realized_pnl=convert(state.realized_pnl),
            income=convert(state.income),
            taxes_withheld=convert(state.taxes_withheld),
            fees_paid=convert(state.fees_paid),
            contributions=convert(state.contributions),
        )
    return HoldingsReport(base_currency=base, lines=lines, cash=cash, totals=totals)


def _rates(
    state: LedgerState, fx_rates: Mapping[str, Number], base: str, issues: list[Issue]
) -> dict[str, Decimal]:
    needed = state.currencies
    given = {currency.strip().upper(): value for currency, value in fx_rates.items()}
    rates: dict[str, Decimal] = {base: ONE}
    for currency in sorted(needed - {base}):
        if currency not in given:
            issues.append(
                Issue(
                    "fx_rates",
                    f"no rate for {currency}; pass {base} per 1 {currency}",
                    field=currency,
                )
            )
            continue
        try:
            rate = to_number(given[currency], f"rate of {currency}")
        except (TypeError, ValueError) as exc:
            issues.append(Issue("fx_rates", str(exc), field=currency))
            continue
        if rate <= 0:
            issues.append(Issue("fx_rates", f"rate {rate} must be positive", field=currency))
        rates[currency] = rate
    return rates
