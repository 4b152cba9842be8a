"""Replay transactions into positions, cash and P&L, and validate new transactions.

:func:`replay` sorts transactions by trade date (stable: same-day transactions keep their given
order) and applies them to a :class:`Ledger`, which tracks per symbol a :class:`LotBook`
(quantity, lots, cost basis, realised P&L) and per currency the cash balance, dividends,
interest, tax withheld, fees and net contributions. Cash effects follow
:attr:`quantdesk.domain.portfolio.Transaction.cash_effect`; every amount stays a
:class:`~decimal.Decimal` at full precision (:data:`~quantdesk.domain.portfolio.MONEY_CONTEXT`)
and is rounded to the currency's minor unit only when shown
(:func:`~quantdesk.domain.portfolio.quantize_money`). Cash may go negative (margin); the ledger
does not police buying power.

A symbol lives in one currency: the currency of its first transaction. Every later transaction
naming the symbol (except splits, which move no money) must use the same currency.

:func:`validate` checks new transactions against the existing ones before they are stored:
field rules, future dates, unknown symbols, the symbol's currency and whether every sale or
transfer out is covered by the holdings at its date (including sales already stored after a
backdated one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.portfolio import (
    MONEY_CONTEXT,
    ZERO,
    LotMethod,
    Transaction,
    TransactionType,
    transaction_issues,
)
from quantdesk.portfolio.lots import Lot, LotBook, RealizedLot

#: Symbols the caller knows: a predicate or a collection (matched upper-case).
KnownSymbols = Callable[[str], bool] | Collection[str]

_MONEY_TOTALS = ("dividends", "interest", "taxes_withheld", "fees_paid", "contributions")


@dataclass(frozen=True, slots=True)
class Position:
    """One symbol's state after a replay; money in the symbol's ``currency``.

    ``quantity`` is the sum of the lot quantities (negative when short); ``cost_basis`` the sum
    of their costs (purchase fees included; negative for a short). ``realized_pnl`` sums the
    closed pieces, ``dividends`` the gross dividends and ``fees`` every fee on the symbol
    (trade fees are also inside cost basis or proceeds; this is for information).
    """

    symbol: str
    currency: str
    quantity: Decimal
    cost_basis: Decimal
    lots: tuple[Lot, ...]
    realized_pnl: Decimal
    dividends: Decimal
    fees: Decimal

    @property
    def average_cost(self) -> Decimal | None:
        """Return cost basis per unit, or ``None`` for a closed position."""
        if self.quantity == 0:
            return None
        with localcontext(MONEY_CONTEXT):
            return self.cost_basis / self.quantity

    @property
    def is_open(self) -> bool:
        """Return whether the position holds any units."""
        return self.quantity != 0


@dataclass(frozen=True, slots=True)
class LedgerState:
    """Everything a replay produces. Money maps are keyed by currency code.

    ``cash`` holds the balance per currency; ``realized_pnl`` the realised profit per
    currency of the symbols; ``dividends`` and ``interest`` gross income; ``taxes_withheld`` the
    ``fees`` of dividends and interest; ``fees_paid`` all other fees (trade fees and fee
    transactions); ``contributions`` the net money deposited (deposits and cash transfers in,
    minus withdrawals and cash transfers out, gross of their fees). ``positions`` has every
    symbol ever seen, closed ones with quantity 0.
    """

    base_currency: str
    lot_method: LotMethod
    allow_short: bool
    positions: Mapping[str, Position]
    cash: Mapping[str, Decimal]
    realized: tuple[RealizedLot, ...]
    realized_pnl: Mapping[str, Decimal]
    dividends: Mapping[str, Decimal]
    interest: Mapping[str, Decimal]
    taxes_withheld: Mapping[str, Decimal]
    fees_paid: Mapping[str, Decimal]
    contributions: Mapping[str, Decimal]
    last_date: date | None = None
    transaction_count: int = 0

    @property
    def income(self) -> dict[str, Decimal]:
        """Return gross dividends plus interest per currency."""
        out: dict[str, Decimal] = {}
        with localcontext(MONEY_CONTEXT):
            for source in (self.dividends, self.interest):
                for currency, amount in source.items():
                    out[currency] = out.get(currency, ZERO) + amount
        return out

    @property
    def currencies(self) -> set[str]:
        """Return every currency the ledger holds positions, cash, income or costs in."""
        needed = {position.currency for position in self.positions.values()}
        for amounts in (
            self.cash,
            self.realized_pnl,
            self.dividends,
            self.interest,
            self.taxes_withheld,
            self.fees_paid,
            self.contributions,
        ):
            needed.update(amounts)
        return needed

    @property
    def open_positions(self) -> dict[str, Position]:
        """Return the positions with a non-zero quantity."""
        return {symbol: pos for symbol, pos in self.positions.items() if pos.is_open}


@dataclass(slots=True)
class _SymbolState:
    book: LotBook
    currency: str
    realized_pnl: Decimal = ZERO
    dividends: Decimal = ZERO
    fees: Decimal = ZERO
    last_price: Decimal | None = None


@dataclass(slots=True)
class _Totals:
    cash: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    realized_pnl: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    dividends: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    interest: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    taxes_withheld: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    fees_paid: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    contributions: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


class Ledger:
    """A running ledger: apply transactions in date order and read positions and cash.

    Parameters
    ----------
    base_currency
        Reporting currency carried into the state (holdings convert to it).
    lot_method
        How sales relieve lots (see :class:`~quantdesk.domain.portfolio.LotMethod`).
    allow_short
        Whether a sale may exceed the long position and open a short lot.
    """

    def __init__(
        self,
        *,
        base_currency: str = "USD",
        lot_method: LotMethod = LotMethod.FIFO,
        allow_short: bool = False,
    ) -> None:
        self.base_currency = base_currency.strip().upper()
        self.lot_method = LotMethod(lot_method)
        self.allow_short = allow_short
        self._symbols: dict[str, _SymbolState] = {}
        self._totals = _Totals()
        self._realized: list[RealizedLot] = []
        self._last_date: date | None = None
        self._count = 0

    def apply(
        self, transaction: Transaction, *, location: str = "transaction", row: int | None = None
    ) -> tuple[RealizedLot, ...]:
        """Apply one transaction and return the lots it closed.

        Raises
        ------
        ValidationError
            When the transaction breaks a field rule, is dated before one already applied,
            uses another currency than its symbol, or sells/transfers out more than held
            (sales only when shorting is off). ``location``/``row`` label the issue.
        """
        issues = transaction_issues(transaction, location=location, row=row)
        if issues:
            raise ValidationError("invalid transaction", issues)
        tx = transaction
        if self._last_date is not None and tx.trade_date < self._last_date:
            raise ValidationError(
                "transactions out of order",
                [
                    Issue(
                        location,
                        f"dated {tx.trade_date}, before {self._last_date} already applied; "
                        "apply transactions in date order (replay() sorts them)",
                        field="trade_date",
                        row=row,
                    )
                ],
            )
        with localcontext(MONEY_CONTEXT):
            realized = self._apply(tx, location, row)
        self._last_date = tx.trade_date
        self._count += 1
        return realized

    def _apply(self, tx: Transaction, location: str, row: int | None) -> tuple[RealizedLot, ...]:
        totals = self._totals
        kind = tx.type
        effect = tx.cash_effect
        if effect:
            totals.cash[tx.currency] += effect
        symbol_state = self._symbol(tx, location, row) if tx.symbol is not None else None
        if kind in (TransactionType.DIVIDEND, TransactionType.INTEREST):
            target = totals.dividends if kind is TransactionType.DIVIDEND else totals.interest
            target[tx.currency] += tx.amount
            if tx.fees:
                totals.taxes_withheld[tx.currency] += tx.fees
            if symbol_state is not None and kind is TransactionType.DIVIDEND:
                symbol_state.dividends += tx.amount
            return ()
        fee_total = tx.fees + (tx.amount if kind is TransactionType.FEE else ZERO)
        if fee_total:
            totals.fees_paid[tx.currency] += fee_total
            if symbol_state is not None:
                symbol_state.fees += fee_total
        if tx.is_external_flow and tx.symbol is None:
            sign = 1 if kind in (TransactionType.DEPOSIT, TransactionType.TRANSFER_IN) else -1
            totals.contributions[tx.currency] += sign * tx.amount
            return ()
        if symbol_state is None:
            return ()
        return self._trade(tx, symbol_state, location, row)

    def _trade(
        self, tx: Transaction, state: _SymbolState, location: str, row: int | None
    ) -> tuple[RealizedLot, ...]:
        book = state.book
        kind = tx.type
        if kind is TransactionType.SPLIT:
            book.split(tx.ratio)
            return ()
        held = book.quantity
        if kind is TransactionType.BUY:
            state.last_price = tx.price
            realized = book.buy(
                tx.trade_date, tx.quantity, tx.amount + tx.fees, transaction_id=tx.id
            )
        elif kind is TransactionType.SELL:
            if tx.quantity > max(held, ZERO) and not self.allow_short:
                raise _short_of(tx, held, location, row)
            state.last_price = tx.price
            realized = book.sell(
                tx.trade_date,
                tx.quantity,
                tx.amount - tx.fees,
                allow_short=self.allow_short,
                transaction_id=tx.id,
            )
        elif kind is TransactionType.TRANSFER_IN:
            if held < 0:
                raise ValidationError(
                    "transfer into a short position",
                    [
                        Issue(
                            location,
                            f"{tx.symbol} is short {-held}; buy to cover before transferring "
                            "shares in",
                            field="type",
                            row=row,
                        )
                    ],
                )
            state.last_price = tx.price
            book.transfer_in(tx.trade_date, tx.quantity, tx.amount, transaction_id=tx.id)
            return ()
        elif kind is TransactionType.TRANSFER_OUT:
            if tx.quantity > max(held, ZERO):
                raise _short_of(tx, held, location, row)
            book.transfer_out(tx.quantity)
            return ()
        else:  # fee or interest naming a symbol: money only
            return ()
        for lot in realized:
            state.realized_pnl += lot.realized_pnl
            self._totals.realized_pnl[state.currency] += lot.realized_pnl
        self._realized.extend(realized)
        return realized

    def _symbol(self, tx: Transaction, location: str, row: int | None) -> _SymbolState:
        symbol = tx.symbol
        assert symbol is not None
        state = self._symbols.get(symbol)
        if state is None:
            state = _SymbolState(LotBook(symbol, self.lot_method), tx.currency)
            self._symbols[symbol] = state
        elif tx.currency != state.currency and tx.type is not TransactionType.SPLIT:
            raise ValidationError(
                "currency mismatch",
                [_currency_issue(tx, state.currency, location, row)],
            )
        return state

    def quantity(self, symbol: str) -> Decimal:
        """Return the net quantity held of ``symbol`` (0 when unknown)."""
        state = self._symbols.get(symbol.strip().upper())
        return state.book.quantity if state is not None else ZERO

    def quantities(self) -> dict[str, Decimal]:
        """Return the non-zero quantities per symbol."""
        return {s: st.book.quantity for s, st in self._symbols.items() if st.book.quantity != 0}

    def currency_of(self, symbol: str) -> str | None:
        """Return the currency ``symbol`` trades in, or ``None`` if it has not appeared."""
        state = self._symbols.get(symbol.strip().upper())
        return state.currency if state is not None else None

    def last_trade_price(self, symbol: str) -> Decimal | None:
        """Return the price of the last buy, sell or transfer in of ``symbol``, if any."""
        state = self._symbols.get(symbol.strip().upper())
        return state.last_price if state is not None else None

    def cash_balances(self) -> dict[str, Decimal]:
        """Return the cash balance per currency."""
        return dict(self._totals.cash)

    def state(self) -> LedgerState:
        """Return an immutable snapshot of the ledger."""
        totals = self._totals
        positions = {
            symbol: Position(
                symbol=symbol,
                currency=st.currency,
                quantity=st.book.quantity,
                cost_basis=st.book.cost_basis,
                lots=st.book.lots,
                realized_pnl=st.realized_pnl,
                dividends=st.dividends,
                fees=st.fees,
            )
            for symbol, st in sorted(self._symbols.items())
        }
        money = {name: dict(getattr(totals, name)) for name in _MONEY_TOTALS}
        return LedgerState(
            base_currency=self.base_currency,
            lot_method=self.lot_method,
            allow_short=self.allow_short,
            positions=positions,
            cash=dict(totals.cash),
            realized=tuple(self._realized),
            realized_pnl=dict(totals.realized_pnl),
            last_date=self._last_date,
            transaction_count=self._count,
            **money,
        )


def chronological_order(transactions: Sequence[Transaction]) -> list[int]:
    """Return indices of ``transactions`` sorted by trade date; same-day order is kept."""
    return sorted(range(len(transactions)), key=lambda i: transactions[i].trade_date)


def replay(
    transactions: Iterable[Transaction],
    *,
    base_currency: str = "USD",
    lot_method: LotMethod = LotMethod.FIFO,
    allow_short: bool = False,
) -> LedgerState:
    """Replay ``transactions`` into positions, cash and P&L.

    Parameters
    ----------
    transactions
        Any order; they are sorted by trade date, keeping the given order within a day.
    base_currency
        Reporting currency carried into the state.
    lot_method
        How sales relieve lots.
    allow_short
        Whether a sale may exceed the long position (the rest opens a short lot).

    Returns
    -------
    LedgerState
        Positions, cash per currency, realised lots and P&L, income, fees and contributions.

    Raises
    ------
    ValidationError
        Listing every field problem (location ``transactions[i]``, ``row`` = index ``i``), or
        the first sale that exceeds the holdings or currency clash met during the replay.
    """
    items = list(transactions)
    issues = [
        issue
        for i, tx in enumerate(items)
        for issue in transaction_issues(tx, location=f"transactions[{i}]", row=i)
    ]
    if issues:
        raise ValidationError("invalid transactions", issues)
    ledger = Ledger(base_currency=base_currency, lot_method=lot_method, allow_short=allow_short)
    for i in chronological_order(items):
        ledger.apply(items[i], location=f"transactions[{i}]", row=i)
    return ledger.state()


def validate(
    new: Transaction | Sequence[Transaction],
    existing: Iterable[Transaction] = (),
    *,
    as_of: date,
    known_symbols: KnownSymbols | None,
    allow_short: bool = False,
    row_numbers: Sequence[int] | None = None,
) -> None:
    """Check new transaction(s) against the stored ones; raise if any rule is broken.

    Parameters
    ----------
    new
        One transaction (issues at location ``transaction``) or a batch (issues at
        ``transactions[i]`` with ``row = i``, or ``row N`` with ``row = N`` when
        ``row_numbers`` maps the batch to file rows).
    existing
        Transactions already stored (assumed valid).
    as_of
        Today for the caller; later trade dates are rejected.
    known_symbols
        A predicate or collection of known symbols; ``None`` skips that check.
    allow_short
        Whether sales may exceed the holdings.
    row_numbers
        Row label for each new transaction, e.g. the file rows of an import.

    Raises
    ------
    ValidationError
        With one :class:`~quantdesk.core.errors.Issue` per problem, naming the field (and row).
        Checked: field rules (:func:`~quantdesk.domain.portfolio.transaction_issues`), dates
        after ``as_of``, unknown symbols, a currency other than the symbol's, and sales or
        transfers out that the holdings at their date do not cover, including stored sales
        that a backdated new transaction would leave uncovered. Holdings and currency are
        checked for the rows that pass the other checks.
    """
    batch = isinstance(new, Sequence)
    items: list[Transaction] = list(new) if isinstance(new, Sequence) else [new]
    if row_numbers is not None and len(row_numbers) != len(items):
        raise ValueError(f"row_numbers has {len(row_numbers)} entries for {len(items)} rows")

    def label(i: int) -> tuple[str, int | None]:
        if not batch:
            return "transaction", None
        if row_numbers is not None:
            return f"row {row_numbers[i]}", row_numbers[i]
        return f"transactions[{i}]", i

    is_known = _symbol_predicate(known_symbols)
    issues: list[Issue] = []
    clean: list[bool] = []
    for i, tx in enumerate(items):
        location, row = label(i)
        own = check_transaction(tx, as_of=as_of, known_symbols=is_known, location=location, row=row)
        issues.extend(own)
        clean.append(not own)
    stored = list(existing)
    issues.extend(_consistency_issues(items, stored, clean, label, allow_short=allow_short))
    if issues:
        count = len({(issue.location, issue.row) for issue in issues})
        what = "transaction rejected" if not batch else f"{count} of {len(items)} rows rejected"
        raise ValidationError(what, issues)


def check_transaction(
    transaction: Transaction,
    *,
    as_of: date | None = None,
    known_symbols: KnownSymbols | None = None,
    location: str = "transaction",
    row: int | None = None,
) -> list[Issue]:
    """Return the issues of one transaction that need no other transaction.

    The field rules of :func:`~quantdesk.domain.portfolio.transaction_issues`, plus a trade
    date after ``as_of`` and a symbol that ``known_symbols`` does not know (each check is
    skipped when its argument is ``None``). Holdings and currency consistency need the other
    transactions: see :func:`validate`.
    """
    tx = transaction
    issues = transaction_issues(tx, location=location, row=row)
    if as_of is not None and tx.trade_date > as_of:
        issues.append(
            Issue(
                location,
                f"{tx.trade_date} is after {as_of}; future-dated transactions are not "
                "accepted, enter the actual trade date",
                field="trade_date",
                row=row,
            )
        )
    is_known = _symbol_predicate(known_symbols)
    symbol_ok = not any(issue.field == "symbol" for issue in issues)
    if tx.symbol is not None and symbol_ok and is_known is not None and not is_known(tx.symbol):
        issues.append(
            Issue(
                location,
                f"unknown symbol {tx.symbol}; add the instrument first or check the spelling",
                field="symbol",
                row=row,
            )
        )
    return issues


def _symbol_predicate(known: KnownSymbols | None) -> Callable[[str], bool] | None:
    if known is None or callable(known):
        return known
    upper = frozenset(symbol.strip().upper() for symbol in known)
    return upper.__contains__


def _consistency_issues(
    items: Sequence[Transaction],
    stored: Sequence[Transaction],
    clean: Sequence[bool],
    label: Callable[[int], tuple[str, int | None]],
    *,
    allow_short: bool,
) -> list[Issue]:
    """Replay stored + clean new transactions by quantity only and report what breaks."""
    combined: list[tuple[Transaction, int | None]] = [(tx, None) for tx in stored]
    combined.extend((tx, i) for i, tx in enumerate(items) if clean[i])
    # Stored first within a day: a new same-day transaction is entered after what is stored.
    order = sorted(
        range(len(combined)),
        key=lambda k: (combined[k][0].trade_date, combined[k][1] is not None),
    )
    issues: list[Issue] = []
    held: defaultdict[str, Decimal] = defaultdict(Decimal)
    currency: dict[str, str] = {}
    for tx, _ in sorted(combined[: len(stored)], key=lambda pair: pair[0].trade_date):
        if tx.symbol is not None and tx.type is not TransactionType.SPLIT:
            currency.setdefault(tx.symbol, tx.currency)
    reducers: defaultdict[str, list[int]] = defaultdict(list)  # new rows that cut holdings
    with localcontext(MONEY_CONTEXT):
        for k in order:
            tx, new_index = combined[k]
            symbol = tx.symbol
            if symbol is None:
                continue
            if tx.type is not TransactionType.SPLIT:
                expected = currency.setdefault(symbol, tx.currency)
                if tx.currency != expected:
                    if new_index is not None:
                        location, row = label(new_index)
                        issues.append(_currency_issue(tx, expected, location, row))
                    continue
            if not tx.moves_securities:
                continue
            quantity = held[symbol]
            kind = tx.type
            checked = kind is TransactionType.TRANSFER_OUT or (
                kind is TransactionType.SELL and not allow_short
            )
            if checked and tx.quantity > max(quantity, ZERO):
                short_by = tx.quantity - max(quantity, ZERO)
                if new_index is not None:
                    location, row = label(new_index)
                    verb = "sells" if kind is TransactionType.SELL else "transfers out"
                    issues.append(
                        Issue(
                            location,
                            f"{verb} {tx.quantity} {symbol} but only {max(quantity, ZERO)} are "
                            f"held on {tx.trade_date}; reduce the quantity or record the "
                            "missing purchase first"
                            + (" (or allow short selling)" if kind is TransactionType.SELL else ""),
                            field="quantity",
                            row=row,
                        )
                    )
                elif reducers[symbol]:
                    culprit = reducers[symbol][-1]
                    location, row = label(culprit)
                    issues.append(
                        Issue(
                            location,
                            f"leaves too few {symbol} for the stored {kind.value} of "
                            f"{tx.quantity} on {tx.trade_date} (short by {short_by}); "
                            "check the quantity and date",
                            field="quantity",
                            row=row,
                        )
                    )
                    reducers[symbol].pop()
                else:
                    held[symbol] = quantity - tx.quantity  # stored data was already short
                continue
            if kind is TransactionType.SPLIT:
                held[symbol] = quantity * tx.ratio
            elif kind in (TransactionType.BUY, TransactionType.TRANSFER_IN):
                held[symbol] = quantity + tx.quantity
            else:
                held[symbol] = quantity - tx.quantity
            cuts = kind in (TransactionType.SELL, TransactionType.TRANSFER_OUT) or (
                kind is TransactionType.SPLIT and tx.ratio < 1
            )
            if cuts and new_index is not None:
                reducers[symbol].append(new_index)
    return issues


def _currency_issue(tx: Transaction, expected: str, location: str, row: int | None) -> Issue:
    return Issue(
        location,
        f"{tx.symbol} is held in {expected}, not {tx.currency}; record its transactions in "
        f"{expected} (convert at the trade-date rate)",
        field="currency",
        row=row,
    )


def _short_of(tx: Transaction, held: Decimal, location: str, row: int | None) -> ValidationError:
    available = max(held, ZERO)
    selling = tx.type is TransactionType.SELL
    verb = "sells" if selling else "transfers out"
    hint = " or allow short selling" if selling else ""
    return ValidationError(
        "cannot sell more than held" if selling else "cannot transfer out more than held",
        [
            Issue(
                location,
                f"{verb} {tx.quantity} {tx.symbol} but only {available} are held on "
                f"{tx.trade_date}; reduce the quantity, record the missing purchase first{hint}",
                field="quantity",
                row=row,
            )
        ],
    )
