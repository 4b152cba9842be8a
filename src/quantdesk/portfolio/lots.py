"""Tax lots of one symbol and their relief by FIFO, LIFO, highest cost or average cost.

A :class:`LotBook` holds the open lots of one symbol. Each lot keeps its quantity and its total
cost (not a unit cost), so cost basis is never lost to rounding: a partial relief takes
``cost * taken / quantity`` and leaves exactly the rest, and a split multiplies quantities by
the ratio while every lot keeps its total cost.

Short positions live in the same book as negative lots: ``quantity < 0`` and ``cost < 0`` (the
net proceeds received when the short was opened, as a credit). A book is never long and short
at once: a sale larger than the long position closes every long lot and opens a short lot
with the rest (only when shorting is allowed); a purchase while short covers short lots first
and opens a long lot with the rest. A short lot's unit cost is its opening price net of fees,
so ``highest_cost`` covers the short opened at the highest price first.

Every closed piece becomes a :class:`RealizedLot` with its opening and closing dates, holding
days and term. A lot is long term when it is closed *more than one year* after it was opened
(closed after the anniversary of the opening date; a lot opened on 29 February has its
anniversary on 28 February). Short-sale lots get the same calendar test; tax rules for short
sales differ by jurisdiction, so check :attr:`RealizedLot.side` before applying a tax rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from quantdesk.domain.portfolio import MONEY_CONTEXT, ZERO, LotMethod


class Side(StrEnum):
    """Direction of a lot or of a realised trade."""

    LONG = "long"
    SHORT = "short"


class HoldingTerm(StrEnum):
    """Holding period class of a realised lot: one year or less, or more than one year."""

    SHORT_TERM = "short_term"
    LONG_TERM = "long_term"


def anniversary(opened: date) -> date:
    """Return the first anniversary of ``opened`` (29 February maps to 28 February)."""
    try:
        return opened.replace(year=opened.year + 1)
    except ValueError:
        return opened.replace(year=opened.year + 1, day=28)


def holding_term(opened: date, closed: date) -> HoldingTerm:
    """Return long term when ``closed`` is after the first anniversary of ``opened``."""
    return HoldingTerm.LONG_TERM if closed > anniversary(opened) else HoldingTerm.SHORT_TERM


@dataclass(frozen=True, slots=True)
class Lot:
    """An open tax lot: ``quantity`` units (negative when short) costing ``cost`` in total.

    ``cost`` is in the symbol's trading currency and includes purchase fees; for a short lot it
    is minus the net proceeds received. ``sequence`` orders lots opened on the same day.
    """

    symbol: str
    opened: date
    quantity: Decimal
    cost: Decimal
    sequence: int = 0
    transaction_id: str | None = None

    @property
    def unit_cost(self) -> Decimal:
        """Return the cost per unit (the opening price net of fees for a short lot)."""
        with localcontext(MONEY_CONTEXT):
            return self.cost / self.quantity if self.quantity else ZERO

    @property
    def side(self) -> Side:
        """Return whether the lot is long or short."""
        return Side.SHORT if self.quantity < 0 else Side.LONG


@dataclass(frozen=True, slots=True)
class RealizedLot:
    """A closed piece of a lot and its realised profit or loss.

    For a long lot ``cost_basis`` is what the units cost (with purchase fees) and ``proceeds``
    the net sale proceeds; for a short lot ``proceeds`` is what opening the short brought in and
    ``cost_basis`` what buying the units back cost. ``quantity`` is always positive.
    """

    symbol: str
    side: Side
    opened: date
    closed: date
    quantity: Decimal
    cost_basis: Decimal
    proceeds: Decimal
    opening_transaction_id: str | None = None
    closing_transaction_id: str | None = None

    @property
    def realized_pnl(self) -> Decimal:
        """Return ``proceeds - cost_basis``."""
        with localcontext(MONEY_CONTEXT):
            return self.proceeds - self.cost_basis

    @property
    def holding_days(self) -> int:
        """Return the calendar days between opening and closing."""
        return (self.closed - self.opened).days

    @property
    def term(self) -> HoldingTerm:
        """Return short or long term (see :func:`holding_term`)."""
        return holding_term(self.opened, self.closed)


@dataclass(frozen=True, slots=True)
class _Piece:
    lot: Lot
    taken: Decimal  # units, positive
    cost: Decimal  # share of the lot's cost, same sign as the lot


def _allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` pro rata to ``weights``; the last share takes the remainder exactly."""
    whole = sum(weights, ZERO)
    shares: list[Decimal] = []
    for weight in weights[:-1]:
        shares.append(total * weight / whole)
    shares.append(total - sum(shares, ZERO))
    return shares


class LotBook:
    """The open lots of one symbol, relieved by ``method``.

    Parameters
    ----------
    symbol
        The instrument the lots belong to.
    method
        Which lots a sale (or a purchase covering a short) relieves first.

    Methods raise ``ValueError`` on broken invariants (non-positive quantity, selling more than
    held without ``allow_short``); validate user input beforehand with
    ``quantdesk.portfolio.validate``.
    """

    def __init__(self, symbol: str, method: LotMethod = LotMethod.FIFO) -> None:
        self.symbol = symbol
        self.method = LotMethod(method)
        self._lots: list[Lot] = []
        self._sequence = 0

    @property
    def lots(self) -> tuple[Lot, ...]:
        """Return the open lots in the order they were opened."""
        return tuple(self._lots)

    @property
    def quantity(self) -> Decimal:
        """Return the net quantity: the sum of the lot quantities (negative when short)."""
        with localcontext(MONEY_CONTEXT):
            return sum((lot.quantity for lot in self._lots), ZERO)

    @property
    def cost_basis(self) -> Decimal:
        """Return the total cost of the open lots (negative when short)."""
        with localcontext(MONEY_CONTEXT):
            return sum((lot.cost for lot in self._lots), ZERO)

    def buy(
        self,
        trade_date: date,
        quantity: Decimal,
        cost: Decimal,
        *,
        transaction_id: str | None = None,
    ) -> tuple[RealizedLot, ...]:
        """Add ``quantity`` units costing ``cost`` in total (fees included).

        While short, the purchase covers short lots first (each covered piece is returned as a
        realised lot) and only the rest opens a long lot; ``cost`` is split pro rata.
        """
        _check_positive(quantity, "quantity")
        with localcontext(MONEY_CONTEXT):
            short = -min(self.quantity, ZERO)
            cover = min(quantity, short)
            realized: tuple[RealizedLot, ...] = ()
            cover_cost = ZERO
            if cover > 0:
                cover_cost = cost if cover == quantity else cost * cover / quantity
                pieces = self._relieve(cover)
                shares = _allocate(cover_cost, [piece.taken for piece in pieces])
                realized = tuple(
                    RealizedLot(
                        symbol=self.symbol,
                        side=Side.SHORT,
                        opened=piece.lot.opened,
                        closed=trade_date,
                        quantity=piece.taken,
                        cost_basis=share,
                        proceeds=-piece.cost,
                        opening_transaction_id=piece.lot.transaction_id,
                        closing_transaction_id=transaction_id,
                    )
                    for piece, share in zip(pieces, shares, strict=True)
                )
            if quantity > cover:
                self._open(trade_date, quantity - cover, cost - cover_cost, transaction_id)
            return realized

    def sell(
        self,
        trade_date: date,
        quantity: Decimal,
        proceeds: Decimal,
        *,
        allow_short: bool = False,
        transaction_id: str | None = None,
    ) -> tuple[RealizedLot, ...]:
        """Sell ``quantity`` units for ``proceeds`` in total (net of fees).

        Relieves long lots by the book's method and returns one realised lot per piece. Selling
        more than the long position opens a short lot with the rest when ``allow_short``;
        otherwise it raises ``ValueError``.
        """
        _check_positive(quantity, "quantity")
        with localcontext(MONEY_CONTEXT):
            held = max(self.quantity, ZERO)
            if quantity > held and not allow_short:
                raise ValueError(
                    f"cannot sell {quantity} {self.symbol}: only {held} held and shorting is off"
                )
            close = min(quantity, held)
            close_proceeds = ZERO
            realized: tuple[RealizedLot, ...] = ()
            if close > 0:
                close_proceeds = proceeds if close == quantity else proceeds * close / quantity
                pieces = self._relieve(close)
                shares = _allocate(close_proceeds, [piece.taken for piece in pieces])
                realized = tuple(
                    RealizedLot(
                        symbol=self.symbol,
                        side=Side.LONG,
                        opened=piece.lot.opened,
                        closed=trade_date,
                        quantity=piece.taken,
                        cost_basis=piece.cost,
                        proceeds=share,
                        opening_transaction_id=piece.lot.transaction_id,
                        closing_transaction_id=transaction_id,
                    )
                    for piece, share in zip(pieces, shares, strict=True)
                )
            if quantity > close:
                self._open(
                    trade_date, -(quantity - close), -(proceeds - close_proceeds), transaction_id
                )
            return realized

    def transfer_in(
        self,
        trade_date: date,
        quantity: Decimal,
        cost: Decimal,
        *,
        transaction_id: str | None = None,
    ) -> None:
        """Add a long lot carrying ``cost`` as its basis, opened on ``trade_date``.

        To keep the original holding period, record the transfer on the original purchase date.
        """
        _check_positive(quantity, "quantity")
        if self.quantity < 0:
            raise ValueError(f"cannot transfer {self.symbol} in while the position is short")
        with localcontext(MONEY_CONTEXT):
            self._open(trade_date, quantity, cost, transaction_id)

    def transfer_out(self, quantity: Decimal) -> tuple[Lot, ...]:
        """Remove ``quantity`` long units by the book's method, realising nothing.

        Returns the removed pieces as lots (with their share of the cost basis).
        """
        _check_positive(quantity, "quantity")
        with localcontext(MONEY_CONTEXT):
            held = max(self.quantity, ZERO)
            if quantity > held:
                raise ValueError(f"cannot transfer out {quantity} {self.symbol}: only {held} held")
            return tuple(
                replace(piece.lot, quantity=piece.taken, cost=piece.cost)
                for piece in self._relieve(quantity)
            )

    def split(self, ratio: Decimal) -> None:
        """Multiply every lot's quantity by ``ratio`` (new/old); total costs stay unchanged."""
        _check_positive(ratio, "split ratio")
        with localcontext(MONEY_CONTEXT):
            self._lots = [replace(lot, quantity=lot.quantity * ratio) for lot in self._lots]

    def _open(self, trade_date: date, quantity: Decimal, cost: Decimal, tx_id: str | None) -> None:
        self._sequence += 1
        self._lots.append(Lot(self.symbol, trade_date, quantity, cost, self._sequence, tx_id))

    def _order(self) -> list[int]:
        index = range(len(self._lots))
        lots = self._lots
        if self.method is LotMethod.LIFO:
            return sorted(index, key=lambda i: (lots[i].opened, lots[i].sequence), reverse=True)
        if self.method is LotMethod.HIGHEST_COST:
            return sorted(
                index, key=lambda i: (-lots[i].unit_cost, lots[i].opened, lots[i].sequence)
            )
        return sorted(index, key=lambda i: (lots[i].opened, lots[i].sequence))

    def _relieve(self, quantity: Decimal) -> list[_Piece]:
        """Take ``quantity`` units (positive) off the open lots, all of which share one side."""
        if self.method is LotMethod.AVERAGE_COST:
            return self._relieve_average(quantity)
        pieces: list[_Piece] = []
        remaining = quantity
        kept: dict[int, Lot | None] = {}
        for i in self._order():
            if remaining == 0:
                break
            lot = self._lots[i]
            available = abs(lot.quantity)
            taken = min(available, remaining)
            if taken == available:
                pieces.append(_Piece(lot, taken, lot.cost))
                kept[i] = None
            else:
                cost = lot.cost * taken / available
                sign = 1 if lot.quantity > 0 else -1
                pieces.append(_Piece(lot, taken, cost))
                kept[i] = replace(lot, quantity=lot.quantity - sign * taken, cost=lot.cost - cost)
            remaining -= taken
        survivors: list[Lot] = []
        for i, lot in enumerate(self._lots):
            survivor = kept.get(i, lot)
            if survivor is not None:
                survivors.append(survivor)
        self._lots = survivors
        return pieces

    def _relieve_average(self, quantity: Decimal) -> list[_Piece]:
        total_quantity = sum((abs(lot.quantity) for lot in self._lots), ZERO)
        total_cost = self.cost_basis
        consumed = (
            total_cost if quantity == total_quantity else total_cost * quantity / total_quantity
        )
        taken_by_lot: list[tuple[Lot, Decimal]] = []
        remaining = quantity
        survivors: list[Lot] = []
        for i in self._order():
            lot = self._lots[i]
            available = abs(lot.quantity)
            taken = min(available, remaining)
            remaining -= taken
            if taken > 0:
                taken_by_lot.append((lot, taken))
            if taken < available:
                sign = 1 if lot.quantity > 0 else -1
                survivors.append(replace(lot, quantity=lot.quantity - sign * taken))
        costs = _allocate(consumed, [taken for _, taken in taken_by_lot])
        pieces = [
            _Piece(lot, taken, cost) for (lot, taken), cost in zip(taken_by_lot, costs, strict=True)
        ]
        if survivors:
            # Every surviving lot carries the pool's average unit cost; the total is exact.
            left = _allocate(total_cost - consumed, [abs(lot.quantity) for lot in survivors])
            survivors = [replace(lot, cost=cost) for lot, cost in zip(survivors, left, strict=True)]
        self._lots = sorted(survivors, key=lambda lot: lot.sequence)
        return pieces


def _check_positive(value: Decimal, name: str) -> None:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
