"""Portfolio ledger value objects: transactions, their types and tax-lot relief methods.

Money is exact: every amount is a :class:`decimal.Decimal`, never a float. Arithmetic keeps full
precision (:data:`MONEY_CONTEXT`, 34 significant digits); amounts are rounded to a currency's
minor unit only when shown (:func:`quantize_money`).

How each transaction type reads its fields (``amount`` is always ``quantity * price``; every
number is entered positive, the type sets the sign of the cash effect in ``currency``):

- ``buy`` (symbol required): units at a unit price; cash ``-(amount + fees)``; fees join the
  lot's cost basis.
- ``sell`` (symbol required): units at a unit price; cash ``+(amount - fees)``; fees reduce the
  proceeds.
- ``dividend`` (symbol required), ``interest`` (symbol optional): ``amount`` is the gross
  payment, ``fees`` the tax withheld; cash ``+(amount - fees)``; income counts ``amount``.
- ``fee`` (symbol optional): ``amount`` is the charge; cash ``-(amount + fees)``.
- ``deposit`` / ``withdrawal`` (no symbol): ``amount`` is the money paid in or taken out; cash
  ``+(amount - fees)`` / ``-(amount + fees)``.
- ``split`` (symbol required): ``quantity`` is the ratio, ``price`` and ``fees`` are ``0``; no
  cash.
- ``transfer_in`` / ``transfer_out`` with a symbol: units moved in (``price`` = unit cost
  basis carried over) or out (``price`` ignored); cash ``-fees`` only. Without a symbol they
  move cash like a deposit / withdrawal.

For payments (dividend, interest, fee, deposit, withdrawal, cash transfers) either write
``quantity=1, price=<amount>`` (what :meth:`Transaction.cash` does) or ``quantity=<shares>,
price=<per-share amount>``; only the product counts.

A split is one transaction with ``quantity`` = shares after / shares before (``2`` for a
2-for-1 split, ``0.1`` for a 1-for-10 reverse split) and ``price = 0``: every open lot's
quantity is multiplied by the ratio and its total cost is kept, so the cost basis is preserved
exactly. ``transfer_in``/``transfer_out`` with a symbol move securities in or out without a
trade (no realised P&L); without a symbol they move cash, like a deposit or withdrawal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from enum import StrEnum

from quantdesk.core.errors import Issue
from quantdesk.domain.instruments import normalize_symbol

#: Decimal context for ledger arithmetic: 34 significant digits, banker's rounding.
MONEY_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)

ZERO = Decimal(0)
ONE = Decimal(1)


class TransactionType(StrEnum):
    """What a ledger transaction does (see the module docstring for each type's fields)."""

    BUY = "buy"
    SELL = "sell"
    DIVIDEND = "dividend"
    INTEREST = "interest"
    FEE = "fee"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    SPLIT = "split"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"


class LotMethod(StrEnum):
    """Which open lots a sale relieves first.

    ``fifo`` oldest first, ``lifo`` newest first, ``highest_cost`` highest unit cost first
    (ties oldest first), ``average_cost`` every lot at the position's average unit cost, with
    quantities (and so holding periods) relieved oldest first.
    """

    FIFO = "fifo"
    LIFO = "lifo"
    HIGHEST_COST = "highest_cost"
    AVERAGE_COST = "average_cost"


#: Types that need a symbol.
SYMBOL_REQUIRED = frozenset(
    {TransactionType.BUY, TransactionType.SELL, TransactionType.DIVIDEND, TransactionType.SPLIT}
)
#: Types that must not carry a symbol.
SYMBOL_FORBIDDEN = frozenset({TransactionType.DEPOSIT, TransactionType.WITHDRAWAL})
#: Types whose amount is a payment (``quantity * price`` must be positive).
PAYMENT_TYPES = frozenset(
    {
        TransactionType.DIVIDEND,
        TransactionType.INTEREST,
        TransactionType.FEE,
        TransactionType.DEPOSIT,
        TransactionType.WITHDRAWAL,
    }
)

# ISO 4217 active codes and their minor units (exponent); every code not listed here has 2.
_MINOR_UNITS_NOT_TWO = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}
_TWO_DECIMAL_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK
LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG
YER ZAR ZMW ZWG ZWL
"""
#: ISO 4217 currency code -> number of decimal places of its minor unit.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMAL_CODES.split(), 2),
    **_MINOR_UNITS_NOT_TWO,
}
_CURRENCY_SHAPE = re.compile(r"^[A-Z]{3}$")


def is_currency(code: str) -> bool:
    """Return whether ``code`` is an active ISO 4217 currency code (upper case)."""
    return code in CURRENCY_MINOR_UNITS


def minor_units(currency: str) -> int:
    """Return the number of decimal places of ``currency``'s minor unit (``JPY`` 0, ``USD`` 2).

    Raises
    ------
    ValueError
        If ``currency`` is not an ISO 4217 code.
    """
    try:
        return CURRENCY_MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}: use an ISO 4217 code") from None


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-even to ``currency``'s minor unit, for presentation only.

    The ledger keeps full precision internally; call this where a number is shown or exported.
    """
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)


def to_decimal(value: Decimal | int | str, name: str = "value") -> Decimal:
    """Return ``value`` as a Decimal; floats are refused because they are not exact.

    Raises
    ------
    TypeError
        For floats and other non-decimal types.
    ValueError
        For strings that are not decimal numbers.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"{name} must be a Decimal, int or str, got {type(value).__name__}; "
            "floats are not exact, pass Decimal('1.10') or '1.10'"
        )
    try:
        return Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a decimal number") from None


@dataclass(frozen=True, slots=True)
class Transaction:
    """One ledger entry. See the module docstring for how each type reads its fields.

    Construction only normalises (type from its string, Decimal from int/str, upper-case
    symbol and currency, an empty symbol becomes ``None``); it does not judge. Use
    :func:`transaction_issues` (or ``quantdesk.portfolio.validate``) to check the rules, so
    bad input can be reported field by field instead of failing on the first problem.
    """

    type: TransactionType
    trade_date: date
    symbol: str | None
    quantity: Decimal
    price: Decimal
    fees: Decimal = ZERO
    currency: str = "USD"
    note: str = ""
    id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", TransactionType(self.type))
        if isinstance(self.trade_date, datetime):
            object.__setattr__(self, "trade_date", self.trade_date.date())
        elif not isinstance(self.trade_date, date):
            raise TypeError(f"trade_date must be a date, got {type(self.trade_date).__name__}")
        symbol = self.symbol.strip().upper() if self.symbol is not None else None
        object.__setattr__(self, "symbol", symbol or None)
        for name in ("quantity", "price", "fees"):
            object.__setattr__(self, name, to_decimal(getattr(self, name), name))
        object.__setattr__(self, "currency", self.currency.strip().upper())

    @classmethod
    def cash(
        cls,
        type: TransactionType | str,
        trade_date: date,
        amount: Decimal | int | str,
        *,
        currency: str = "USD",
        symbol: str | None = None,
        fees: Decimal | int | str = ZERO,
        note: str = "",
        id: str | None = None,
    ) -> Transaction:
        """Return a payment (dividend, interest, fee, deposit, withdrawal, cash transfer).

        The payment is stored as ``quantity=1, price=amount``.
        """
        return cls(
            TransactionType(type),
            trade_date,
            symbol,
            ONE,
            to_decimal(amount, "amount"),
            to_decimal(fees, "fees"),
            currency,
            note,
            id,
        )

    @classmethod
    def split(
        cls,
        trade_date: date,
        symbol: str,
        ratio: Decimal | int | str,
        *,
        currency: str = "USD",
        note: str = "",
        id: str | None = None,
    ) -> Transaction:
        """Return a split of ``symbol``: ``ratio`` = shares after / shares before."""
        return cls(
            TransactionType.SPLIT,
            trade_date,
            symbol,
            to_decimal(ratio, "ratio"),
            ZERO,
            ZERO,
            currency,
            note,
            id,
        )

    @property
    def amount(self) -> Decimal:
        """Return the gross amount ``quantity * price`` (the payment for cash-like types)."""
        return MONEY_CONTEXT.multiply(self.quantity, self.price)

    @property
    def ratio(self) -> Decimal:
        """Return the split ratio (new/old shares); meaningful for splits only."""
        return self.quantity

    @property
    def moves_securities(self) -> bool:
        """Return whether the transaction changes a security position."""
        if self.type in (TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT):
            return self.symbol is not None
        return self.type in (TransactionType.BUY, TransactionType.SELL, TransactionType.SPLIT)

    @property
    def is_external_flow(self) -> bool:
        """Return whether money or securities cross the portfolio boundary.

        Deposits, withdrawals and transfers are external flows (they are excluded from
        returns); dividends, interest and fees are part of performance.
        """
        return self.type in (
            TransactionType.DEPOSIT,
            TransactionType.WITHDRAWAL,
            TransactionType.TRANSFER_IN,
            TransactionType.TRANSFER_OUT,
        )

    @property
    def cash_effect(self) -> Decimal:
        """Return the signed change of the ``currency`` cash balance, at full precision."""
        ctx = MONEY_CONTEXT
        kind = self.type
        if kind in (TransactionType.BUY, TransactionType.FEE, TransactionType.WITHDRAWAL):
            return ctx.minus(ctx.add(self.amount, self.fees))
        if kind in (
            TransactionType.SELL,
            TransactionType.DIVIDEND,
            TransactionType.INTEREST,
            TransactionType.DEPOSIT,
        ):
            return ctx.subtract(self.amount, self.fees)
        if kind is TransactionType.SPLIT:
            return ZERO
        if self.symbol is not None:  # securities transfer: only its fees touch cash
            return ctx.minus(self.fees)
        if kind is TransactionType.TRANSFER_IN:
            return ctx.subtract(self.amount, self.fees)
        return ctx.minus(ctx.add(self.amount, self.fees))


def transaction_issues(
    transaction: Transaction, *, location: str = "transaction", row: int | None = None
) -> list[Issue]:
    """Return every rule ``transaction`` breaks on its own (no other transactions needed).

    Checks: finite non-negative numbers, a positive quantity (split ratio), a positive amount
    for payments, ``price = 0`` and no fees for splits, a symbol where the type needs one (and
    none on deposits/withdrawals), a well-formed symbol and an ISO 4217 currency. Context rules
    (future dates, unknown symbols, selling more than held) live in
    ``quantdesk.portfolio.validate``.
    """
    issues: list[Issue] = []
    kind = transaction.type

    def add(field: str, reason: str) -> None:
        issues.append(Issue(location=location, field=field, reason=reason, row=row))

    finite = True
    for name in ("quantity", "price", "fees"):
        value: Decimal = getattr(transaction, name)
        if not value.is_finite():
            add(name, f"{value} is not a number; enter a finite decimal")
            finite = False
        elif value < 0:
            add(
                name, f"{value} is negative; enter it as a positive number (the type sets the sign)"
            )
    if finite:
        if transaction.quantity == 0:
            what = (
                "split ratio (shares after / shares before)"
                if kind is TransactionType.SPLIT
                else "quantity"
            )
            add("quantity", f"{what} is zero; enter a positive number")
        if kind is TransactionType.SPLIT:
            if transaction.price != 0:
                add("price", "a split carries no price; leave it 0 and put the ratio in quantity")
            if transaction.fees != 0:
                add("fees", "a split has no fees; record any charge as a separate fee")
        elif kind in PAYMENT_TYPES and transaction.price == 0:
            add("price", f"a {kind.value} needs a positive amount (quantity × price)")
    if transaction.symbol is None:
        if kind in SYMBOL_REQUIRED:
            add("symbol", f"a {kind.value} needs the symbol of the instrument")
    elif kind in SYMBOL_FORBIDDEN:
        add("symbol", f"a {kind.value} moves cash only; leave the symbol empty")
    else:
        try:
            normalize_symbol(transaction.symbol)
        except ValueError as exc:
            add("symbol", str(exc))
    currency = transaction.currency
    if not _CURRENCY_SHAPE.match(currency):
        add("currency", f"{currency!r} is not a currency code; use 3 letters such as USD or EUR")
    elif not is_currency(currency):
        add("currency", f"{currency} is not an ISO 4217 currency code; check the spelling")
    return issues
