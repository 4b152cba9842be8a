"""What the portfolio service needs from the outside: a transactional store.

A :class:`PortfolioStore` opens units of work (:meth:`PortfolioStore.transaction`); everything
done inside one commits together or not at all, so a batch of transactions or an import is
never half-written. Amounts cross the port as :class:`~decimal.Decimal` and must come back
exactly as they went in (an adapter may strip trailing zeros, never round).

Stores hold at most :data:`MAX_INTEGER_DIGITS` digits before and :data:`MAX_DECIMAL_PLACES`
after the decimal point (SQL ``NUMERIC(38, 12)``); the service rejects anything longer with a
field-level error before it reaches the store.

FX rates follow the holdings convention: ``rate`` is the number of ``quote_currency`` units
one unit of ``currency`` buys (``FxRate("EUR", "USD", day, Decimal("1.08"))``: 1 EUR =
1.08 USD).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from quantdesk.domain.portfolio import LotMethod, Transaction

#: Digits a stored amount may have after the decimal point.
MAX_DECIMAL_PLACES = 12
#: Digits a stored amount may have before the decimal point.
MAX_INTEGER_DIGITS = 26


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A named ledger owned by one user.

    ``base_currency`` is the reporting currency; ``benchmark_symbol`` (optional) the
    instrument performance is compared with; ``lot_method`` and ``allow_short`` configure the
    replay of its transactions.
    """

    id: str
    owner_id: str
    name: str
    base_currency: str = "USD"
    benchmark_symbol: str | None = None
    lot_method: LotMethod = LotMethod.FIFO
    allow_short: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FxRate:
    """One daily exchange rate: 1 ``currency`` = ``rate`` ``quote_currency`` on ``day``."""

    currency: str
    quote_currency: str
    day: date
    rate: Decimal


class PortfolioUnitOfWork(Protocol):
    """Reads and writes inside one transaction."""

    def add_portfolio(self, portfolio: Portfolio) -> None:
        """Store a new portfolio; raise ``Conflict`` when the owner has one of that name."""
        ...

    def portfolio_by_id(self, portfolio_id: str, *, for_update: bool = False) -> Portfolio | None:
        """Return a portfolio (locked against concurrent writers when ``for_update``)."""
        ...

    def list_portfolios(
        self, owner_id: str | None, *, offset: int = 0, limit: int = 100
    ) -> list[Portfolio]:
        """Return portfolios by name (every owner's when ``owner_id`` is ``None``)."""
        ...

    def count_portfolios(self, owner_id: str | None) -> int:
        """Return how many portfolios ``owner_id`` (or everyone, for ``None``) has."""
        ...

    def update_portfolio(self, portfolio: Portfolio) -> None:
        """Replace a portfolio's settings; raise ``Conflict`` on a duplicate name."""
        ...

    def delete_portfolio(self, portfolio_id: str) -> bool:
        """Delete a portfolio and its transactions; return whether it existed."""
        ...

    def add_transactions(
        self, portfolio_id: str, transactions: Sequence[Transaction], *, created_at: datetime
    ) -> None:
        """Append transactions (each with an ``id``) after the stored ones, in order."""
        ...

    def list_transactions(
        self, portfolio_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[Transaction]:
        """Return a portfolio's transactions in entry order."""
        ...

    def count_transactions(self, portfolio_id: str) -> int:
        """Return how many transactions a portfolio has."""
        ...

    def put_fx_rates(self, rates: Sequence[FxRate]) -> int:
        """Insert or replace rates (keyed by currency, quote currency and day)."""
        ...

    def latest_fx_rate(
        self, currency: str, quote_currency: str, on_or_before: date
    ) -> FxRate | None:
        """Return the latest rate dated on or before ``on_or_before``, if any."""
        ...

    def fx_history(self, currency: str, quote_currency: str, *, end: date) -> list[FxRate]:
        """Return every rate dated on or before ``end``, oldest first."""
        ...


class PortfolioStore(Protocol):
    """Opens units of work."""

    def transaction(self) -> AbstractContextManager[PortfolioUnitOfWork]:
        """Open a unit of work: commit when the block ends, roll back when it raises."""
        ...
