"""Repositories: map between table rows and domain objects."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from quantdesk.core.errors import StorageError
from quantdesk.db.models import DatasetRecord, InstrumentRecord
from quantdesk.db.session import make_session_factory
from quantdesk.domain import AssetClass, Instrument


def instrument_from_record(record: InstrumentRecord) -> Instrument:
    """Return the domain instrument for a table row."""
    return Instrument(
        symbol=record.symbol,
        name=record.name,
        asset_class=AssetClass(record.asset_class),
        currency=record.currency,
        exchange=record.exchange,
        sector=record.sector,
        synthetic=record.synthetic,
        source=record.source,
    )


def _instrument_values(instrument: Instrument) -> dict[str, object]:
    return {
        "symbol": instrument.symbol,
        "name": instrument.name,
        "asset_class": instrument.asset_class.value,
        "currency": instrument.currency,
        "exchange": instrument.exchange,
        "sector": instrument.sector,
        "synthetic": instrument.synthetic,
        "source": instrument.source,
    }


class SqlInstrumentStore:
    """The :class:`~quantdesk.data.ports.InstrumentStore` on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self._engine = engine
        self._sessions = sessions or make_session_factory(engine)

    def upsert_instruments(self, instruments: Sequence[Instrument]) -> int:
        """Insert or update ``instruments`` in one transaction."""
        if not instruments:
            return 0
        rows = [_instrument_values(i) for i in {i.symbol: i for i in instruments}.values()]
        dialect = self._engine.dialect.name
        insert = (
            pg_insert(InstrumentRecord)
            if dialect == "postgresql"
            else sqlite_insert(InstrumentRecord)
        )
        updated = {
            column: getattr(insert.excluded, column) for column in rows[0] if column != "symbol"
        }
        updated["updated_at"] = func.now()
        statement = insert.values(rows).on_conflict_do_update(
            index_elements=["symbol"], set_=updated
        )
        try:
            with self._sessions.begin() as session:
                session.execute(statement)
        except SQLAlchemyError as exc:
            raise StorageError(f"saving instruments failed, nothing was written: {exc}") from exc
        return len(rows)

    def get_instrument(self, symbol: str) -> Instrument | None:
        """Return one instrument or ``None``."""
        with self._sessions() as session:
            record = session.get(InstrumentRecord, symbol)
            return None if record is None else instrument_from_record(record)

    def get_instruments(self, symbols: Sequence[str]) -> dict[str, Instrument]:
        """Return the known instruments among ``symbols``."""
        if not symbols:
            return {}
        with self._sessions() as session:
            records = session.scalars(
                select(InstrumentRecord).where(InstrumentRecord.symbol.in_(list(symbols)))
            ).all()
            return {record.symbol: instrument_from_record(record) for record in records}

    def search_instruments(self, query: str | None = None, limit: int = 50) -> list[Instrument]:
        """Return instruments matching ``query`` by symbol or name, exact symbol first."""
        statement = select(InstrumentRecord)
        if query:
            pattern = f"%{query.strip().upper()}%"
            statement = statement.where(
                or_(
                    func.upper(InstrumentRecord.symbol).like(pattern),
                    func.upper(InstrumentRecord.name).like(pattern),
                )
            )
        with self._sessions() as session:
            records = session.scalars(statement.order_by(InstrumentRecord.symbol)).all()
            found = [instrument_from_record(record) for record in records]
        if query:
            needle = query.strip().upper()
            found.sort(
                key=lambda i: (i.symbol != needle, not i.symbol.startswith(needle), i.symbol)
            )
        return found[:limit]

    def all_symbols(self) -> list[str]:
        """Return every symbol, sorted."""
        with self._sessions() as session:
            return list(
                session.scalars(select(InstrumentRecord.symbol).order_by(InstrumentRecord.symbol))
            )

    def get_dataset_fingerprint(self, name: str) -> str | None:
        """Return the recorded fingerprint of dataset ``name``."""
        with self._sessions() as session:
            record = session.get(DatasetRecord, name)
            return None if record is None else record.fingerprint

    def record_dataset(self, name: str, fingerprint: str, rows: int) -> None:
        """Record that dataset ``name`` was loaded."""
        with self._sessions.begin() as session:
            record = session.get(DatasetRecord, name)
            if record is None:
                session.add(DatasetRecord(name=name, fingerprint=fingerprint, rows=rows))
            else:
                record.fingerprint = fingerprint
                record.rows = rows

    def ping(self) -> None:
        """Raise ``StorageError`` unless the database answers."""
        try:
            with self._engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError as exc:
            raise StorageError(f"relational store is not ready: {exc}", retryable=True) from exc
