"""Ports of the market-data subsystem: where bars are stored and where they come from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import polars as pl

from quantdesk.core.errors import Issue
from quantdesk.domain import Instrument, Interval


@dataclass(frozen=True, slots=True)
class SymbolSummary:
    """What a store holds for one symbol and interval."""

    symbol: str
    interval: Interval
    first_ts: datetime
    last_ts: datetime
    bar_count: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of an upsert: rows written and the symbols they touched."""

    rows: int
    symbols: tuple[str, ...] = ()


@runtime_checkable
class BarStore(Protocol):
    """A time-series store of OHLCV bars keyed by ``(symbol, interval, ts)``.

    Every adapter passes the same contract suite (``tests/integration/test_bar_store_contract``).
    Time ranges are half-open: ``start <= ts < end``.
    """

    name: str

    def migrate(self) -> None:
        """Create or upgrade the store's schema; safe to call repeatedly."""
        ...

    def write_bars(self, bars: pl.DataFrame) -> WriteResult:
        """Upsert ``bars`` (the frame schema of ``quantdesk.data.frames``) atomically.

        Re-writing a ``(symbol, interval, ts)`` replaces that bar, so re-ingesting a file never
        duplicates data. Either every row is written or none is.
        """
        ...

    def read_bars(
        self,
        symbol: str,
        interval: Interval,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
        resample_to: Interval | None = None,
    ) -> pl.DataFrame:
        """Return the bars of ``symbol`` stored at ``interval`` in ``[start, end)``.

        With ``resample_to`` the store aggregates into coarser buckets in the query
        (open=first, high=max, low=min, close=last, volume=sum); bucket timestamps are bucket
        starts. ``limit`` applies after ordering (oldest first unless ``newest_first``).
        """
        ...

    def latest_bars(
        self, symbols: Sequence[str], interval: Interval, depth: int = 1
    ) -> pl.DataFrame:
        """Return up to ``depth`` most recent bars of each symbol, newest first per symbol."""
        ...

    def list_symbols(
        self, query: str | None = None, interval: Interval | None = None
    ) -> list[SymbolSummary]:
        """Return what is stored per symbol and interval, optionally filtered.

        ``query`` matches symbols case-insensitively by substring.
        """
        ...

    def delete_bars(self, symbol: str, interval: Interval | None = None) -> int:
        """Delete a symbol's bars (at one interval, or all); return how many were removed."""
        ...

    def ping(self) -> None:
        """Raise ``StorageError`` unless the store answers a trivial query."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What to fetch from a provider; ``None`` means everything the provider has."""

    symbols: tuple[str, ...] = ()
    interval: Interval = Interval.D1
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class BarBatch:
    """Bars for one or more instruments as a provider delivered them, not yet validated.

    ``bars`` has the bar schema plus a ``row`` column numbering the source rows, so validation
    can say which row of which ``source`` is wrong; ``row_label`` is how that source counts
    (``line`` for text files, ``row`` otherwise). ``parse_issues`` lists rows the provider
    could not parse at all (a price that is not a number, an unreadable date); those rows are
    rejected with the rest.
    """

    source: str
    bars: pl.DataFrame
    instruments: tuple[Instrument, ...] = field(default_factory=tuple)
    row_label: str = "row"
    parse_issues: tuple[Issue, ...] = field(default_factory=tuple)


@runtime_checkable
class MarketDataProvider(Protocol):
    """A source of bars: files, bundled datasets, the synthetic market or an HTTP API."""

    name: str

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield batches of bars for ``request`` (typically one per symbol or file)."""
        ...


@runtime_checkable
class InstrumentStore(Protocol):
    """Reference data about instruments, kept in the relational store."""

    def upsert_instruments(self, instruments: Sequence[Instrument]) -> int:
        """Insert or update ``instruments`` atomically; return how many were given."""
        ...

    def get_instrument(self, symbol: str) -> Instrument | None:
        """Return the instrument with ``symbol`` or ``None``."""
        ...

    def get_instruments(self, symbols: Sequence[str]) -> dict[str, Instrument]:
        """Return the known instruments among ``symbols``, keyed by symbol."""
        ...

    def search_instruments(self, query: str | None = None, limit: int = 50) -> list[Instrument]:
        """Return instruments whose symbol or name contains ``query`` (all when ``None``)."""
        ...

    def all_symbols(self) -> list[str]:
        """Return every known symbol."""
        ...

    def get_dataset_fingerprint(self, name: str) -> str | None:
        """Return the fingerprint recorded when dataset ``name`` was last loaded."""
        ...

    def record_dataset(self, name: str, fingerprint: str, rows: int) -> None:
        """Record that dataset ``name`` with ``fingerprint`` was loaded (``rows`` bars)."""
        ...
