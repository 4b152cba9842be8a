"""The portfolio service's store on SQLite or PostgreSQL (SQLAlchemy).

Rows map to :class:`~quantdesk.portfolio.ports.Portfolio`, domain
:class:`~quantdesk.domain.portfolio.Transaction` and :class:`~quantdesk.portfolio.ports.FxRate`
with explicit functions; amounts stay :class:`~decimal.Decimal` end to end (``ExactDecimal``
columns).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from quantdesk.core.errors import Conflict, Issue, ValidationError
from quantdesk.db.models import FxRateRecord, PortfolioRecord, PortfolioTransactionRecord
from quantdesk.db.session import aware as _aware
from quantdesk.db.session import make_session_factory, transaction
from quantdesk.domain.portfolio import LotMethod, Transaction, TransactionType
from quantdesk.portfolio.ports import FxRate, Portfolio


def _portfolio(row: PortfolioRecord) -> Portfolio:
    return Portfolio(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        base_currency=row.base_currency,
        benchmark_symbol=row.benchmark_symbol,
        lot_method=LotMethod(row.lot_method),
        allow_short=row.allow_short,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


def _transaction(row: PortfolioTransactionRecord) -> Transaction:
    return Transaction(
        type=TransactionType(row.type),
        trade_date=row.trade_date,
        symbol=row.symbol,
        quantity=row.quantity,
        price=row.price,
        fees=row.fees,
        currency=row.currency,
        note=row.note,
        id=row.id,
    )


def _fx(row: FxRateRecord) -> FxRate:
    return FxRate(
        currency=row.currency, quote_currency=row.quote_currency, day=row.day, rate=row.rate
    )


class SqlPortfolioUnitOfWork:
    """One transaction's worth of portfolio reads and writes."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # portfolios
    def _name_taken(self, owner_id: str, name: str, exclude_id: str | None = None) -> bool:
        query = select(PortfolioRecord.id).where(
            PortfolioRecord.owner_id == owner_id, PortfolioRecord.name == name
        )
        if exclude_id is not None:
            query = query.where(PortfolioRecord.id != exclude_id)
        return self._s.scalar(query) is not None

    def add_portfolio(self, portfolio: Portfolio) -> None:
        """Store a new portfolio; ``Conflict`` on a duplicate name for the same owner."""
        if self._name_taken(portfolio.owner_id, portfolio.name):
            raise Conflict(f"you already have a portfolio named {portfolio.name!r}")
        self._s.add(
            PortfolioRecord(
                id=portfolio.id,
                owner_id=portfolio.owner_id,
                name=portfolio.name,
                base_currency=portfolio.base_currency,
                benchmark_symbol=portfolio.benchmark_symbol,
                lot_method=portfolio.lot_method.value,
                allow_short=portfolio.allow_short,
                created_at=portfolio.created_at,
                updated_at=portfolio.updated_at or portfolio.created_at,
            )
        )
        try:
            self._s.flush()
        except IntegrityError as exc:
            if self._name_taken(portfolio.owner_id, portfolio.name):
                raise Conflict(f"you already have a portfolio named {portfolio.name!r}") from exc
            raise ValidationError(
                "unknown owner",
                [Issue("owner_id", f"no user {portfolio.owner_id}", field="owner_id")],
            ) from exc

    def portfolio_by_id(self, portfolio_id: str, *, for_update: bool = False) -> Portfolio | None:
        """Return a portfolio, locking its row when ``for_update`` (PostgreSQL)."""
        query = select(PortfolioRecord).where(PortfolioRecord.id == portfolio_id)
        if for_update:
            query = query.with_for_update()
        row = self._s.scalar(query)
        return _portfolio(row) if row is not None else None

    def list_portfolios(
        self, owner_id: str | None, *, offset: int = 0, limit: int = 100
    ) -> list[Portfolio]:
        """Return portfolios ordered by name, then id."""
        query = select(PortfolioRecord).order_by(PortfolioRecord.name, PortfolioRecord.id)
        if owner_id is not None:
            query = query.where(PortfolioRecord.owner_id == owner_id)
        rows = self._s.scalars(query.offset(offset).limit(limit))
        return [_portfolio(r) for r in rows]

    def count_portfolios(self, owner_id: str | None) -> int:
        """Return the number of portfolios of ``owner_id`` (all when ``None``)."""
        query = select(func.count()).select_from(PortfolioRecord)
        if owner_id is not None:
            query = query.where(PortfolioRecord.owner_id == owner_id)
        return int(self._s.scalar(query) or 0)

    def update_portfolio(self, portfolio: Portfolio) -> None:
        """Replace the settings of a stored portfolio."""
        row = self._s.get(PortfolioRecord, portfolio.id)
        if row is None:
            return
        if self._name_taken(row.owner_id, portfolio.name, exclude_id=portfolio.id):
            raise Conflict(f"you already have a portfolio named {portfolio.name!r}")
        row.name = portfolio.name
        row.base_currency = portfolio.base_currency
        row.benchmark_symbol = portfolio.benchmark_symbol
        row.lot_method = portfolio.lot_method.value
        row.allow_short = portfolio.allow_short
        if portfolio.updated_at is not None:
            row.updated_at = portfolio.updated_at
        self._s.flush()

    def delete_portfolio(self, portfolio_id: str) -> bool:
        """Delete a portfolio with its transactions."""
        self._s.execute(
            delete(PortfolioTransactionRecord).where(
                PortfolioTransactionRecord.portfolio_id == portfolio_id
            )
        )
        result = self._s.execute(delete(PortfolioRecord).where(PortfolioRecord.id == portfolio_id))
        return bool(getattr(result, "rowcount", 0))

    # transactions
    def add_transactions(
        self, portfolio_id: str, transactions: Sequence[Transaction], *, created_at: datetime
    ) -> None:
        """Append ``transactions`` after the stored ones; each needs an ``id``."""
        last = self._s.scalar(
            select(func.max(PortfolioTransactionRecord.sequence)).where(
                PortfolioTransactionRecord.portfolio_id == portfolio_id
            )
        )
        sequence = int(last or 0)
        for tx in transactions:
            if tx.id is None:
                raise ValueError("stored transactions need an id")
            sequence += 1
            self._s.add(
                PortfolioTransactionRecord(
                    portfolio_id=portfolio_id,
                    id=tx.id,
                    sequence=sequence,
                    type=tx.type.value,
                    trade_date=tx.trade_date,
                    symbol=tx.symbol,
                    quantity=tx.quantity,
                    price=tx.price,
                    fees=tx.fees,
                    currency=tx.currency,
                    note=tx.note,
                    created_at=created_at,
                )
            )
        try:
            self._s.flush()
        except IntegrityError as exc:
            raise Conflict(
                "a transaction id is already used in this portfolio; nothing was written"
            ) from exc

    def list_transactions(
        self, portfolio_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[Transaction]:
        """Return transactions in entry order."""
        query = (
            select(PortfolioTransactionRecord)
            .where(PortfolioTransactionRecord.portfolio_id == portfolio_id)
            .order_by(PortfolioTransactionRecord.sequence)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return [_transaction(r) for r in self._s.scalars(query)]

    def count_transactions(self, portfolio_id: str) -> int:
        """Return the number of transactions of a portfolio."""
        return int(
            self._s.scalar(
                select(func.count())
                .select_from(PortfolioTransactionRecord)
                .where(PortfolioTransactionRecord.portfolio_id == portfolio_id)
            )
            or 0
        )

    # FX
    def put_fx_rates(self, rates: Sequence[FxRate]) -> int:
        """Insert or replace rates keyed by (currency, quote currency, day)."""
        for rate in rates:
            row = self._s.get(FxRateRecord, (rate.currency, rate.quote_currency, rate.day))
            if row is None:
                self._s.add(
                    FxRateRecord(
                        currency=rate.currency,
                        quote_currency=rate.quote_currency,
                        day=rate.day,
                        rate=rate.rate,
                    )
                )
            else:
                row.rate = rate.rate
        self._s.flush()
        return len(rates)

    def latest_fx_rate(
        self, currency: str, quote_currency: str, on_or_before: date
    ) -> FxRate | None:
        """Return the newest rate dated on or before ``on_or_before``."""
        row = self._s.scalar(
            select(FxRateRecord)
            .where(
                FxRateRecord.currency == currency,
                FxRateRecord.quote_currency == quote_currency,
                FxRateRecord.day <= on_or_before,
            )
            .order_by(FxRateRecord.day.desc())
            .limit(1)
        )
        return _fx(row) if row is not None else None

    def fx_history(self, currency: str, quote_currency: str, *, end: date) -> list[FxRate]:
        """Return every rate dated on or before ``end``, oldest first."""
        rows = self._s.scalars(
            select(FxRateRecord)
            .where(
                FxRateRecord.currency == currency,
                FxRateRecord.quote_currency == quote_currency,
                FxRateRecord.day <= end,
            )
            .order_by(FxRateRecord.day)
        )
        return [_fx(r) for r in rows]


class SqlPortfolioStore:
    """The :class:`~quantdesk.portfolio.ports.PortfolioStore` on SQLAlchemy."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self._sessions = sessions or make_session_factory(engine)

    @contextmanager
    def transaction(self) -> Iterator[SqlPortfolioUnitOfWork]:
        """Open a transaction; commit when the block ends, roll back when it raises."""
        with transaction(self._sessions, "portfolio store") as session:
            yield SqlPortfolioUnitOfWork(session)
