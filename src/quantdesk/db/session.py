"""Engines and sessions for the relational store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from quantdesk.core.errors import ConfigError, QuantdeskError, StorageError


def normalize_url(url: str) -> str:
    """Return ``url`` with PostgreSQL URLs using the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Return an engine for ``url``; SQLite files get their folder, WAL and foreign keys."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            f"QUANTDESK_DATABASE__URL is not a valid database URL ({exc}); use e.g. "
            "sqlite:////path/quantdesk.db or postgresql+psycopg://user@host/db"
        ) from exc
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine``."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session], what: str) -> Iterator[Session]:
    """Open one transaction: commit when the block ends, roll back when it raises.

    Database failures become :class:`StorageError` naming ``what`` ("account store", ...);
    quantdesk errors raised inside the block pass through after the rollback.
    """
    try:
        with sessions.begin() as session:
            yield session
    except QuantdeskError:
        raise
    except SQLAlchemyError as exc:
        raise StorageError(f"{what} failed, nothing was written: {exc}") from exc


def aware(moment: datetime | None) -> datetime | None:
    """Return ``moment`` as UTC-aware: SQLite hands back naive datetimes."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
