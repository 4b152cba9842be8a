"""The market-data service: ingestion with validation, quotes, history and symbol search.

It talks to storage only through the :class:`~quantdesk.data.ports.BarStore` and
:class:`~quantdesk.data.ports.InstrumentStore` ports and to sources through
:class:`~quantdesk.data.ports.MarketDataProvider`, so the same service runs on DuckDB + SQLite
or on PostgreSQL, against files, bundled datasets or HTTP APIs.
"""

from __future__ import annotations

import base64
import binascii
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl

from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.data.frames import empty_bars
from quantdesk.data.ports import (
    BarStore,
    FetchRequest,
    InstrumentStore,
    MarketDataProvider,
    SymbolSummary,
)
from quantdesk.data.validation import validate_batch
from quantdesk.domain import Instrument, Interval, normalize_symbol


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """One step of an ingest: a batch was read and validated."""

    source: str
    rows: int
    rejected: int


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest did.

    ``issues`` lists every rejected row (only non-empty when ``skip_invalid`` was used, since
    otherwise a rejected row aborts the ingest). ``skipped`` is true when a dataset was already
    loaded and nothing was read.
    """

    sources: tuple[str, ...] = ()
    rows_read: int = 0
    rows_written: int = 0
    rejected_rows: int = 0
    issues: tuple[Issue, ...] = ()
    symbols: tuple[str, ...] = ()
    instruments: int = 0
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class QuoteSnapshot:
    """The latest price of an instrument from its freshest stored bars."""

    instrument: Instrument
    interval: Interval
    ts: datetime
    price: float
    open: float | None
    high: float | None
    low: float | None
    volume: float | None
    previous_close: float | None

    @property
    def change(self) -> float | None:
        """Return the change from the previous close."""
        return None if self.previous_close is None else self.price - self.previous_close

    @property
    def change_pct(self) -> float | None:
        """Return the change from the previous close in percent."""
        if self.previous_close is None:
            return None
        return (self.price / self.previous_close - 1.0) * 100.0

    @property
    def close_only(self) -> bool:
        """Return whether the source series carries closes only."""
        return self.open is None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of bars plus the cursor of the next page (``None`` on the last page)."""

    symbol: str
    interval: Interval
    source_interval: Interval
    bars: pl.DataFrame
    next_cursor: str | None
    synthetic: bool


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """An instrument and the series stored for it."""

    instrument: Instrument
    series: tuple[SymbolSummary, ...] = field(default_factory=tuple)


def parse_time(
    value: str | date | datetime | None, parameter: str, *, end: bool = False
) -> datetime | None:
    """Return a UTC bound for a time range from user input.

    Dates (``2020-12-31``) are whole days: as ``end`` they include that day (the bound
    becomes the next midnight). Naive times are UTC. Raises ``ValidationError`` naming
    ``parameter`` when the value cannot be read.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return moment + timedelta(days=1) if end else moment
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return parse_time(day, parameter, end=end)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"invalid {parameter}",
                [
                    Issue(
                        location=parameter,
                        reason=f"{value!r} is not a date or time; use YYYY-MM-DD or ISO 8601 "
                        "(2020-01-31T14:30:00Z)",
                    )
                ],
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def encode_cursor(ts: datetime) -> str:
    """Return an opaque paging cursor positioned at ``ts``."""
    return base64.urlsafe_b64encode(ts.astimezone(UTC).isoformat().encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> datetime:
    """Return the timestamp inside ``cursor`` or raise ``ValidationError``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment = datetime.fromisoformat(base64.urlsafe_b64decode(padded.encode()).decode())
        if moment.tzinfo is None:
            raise ValueError(cursor)
        return moment
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            "invalid cursor",
            [
                Issue(
                    location="cursor",
                    reason="not a cursor from a previous page; omit it to start from the beginning",
                )
            ],
        ) from None


class MarketDataService:
    """Ingest, validate, store and serve market data."""

    def __init__(self, bars: BarStore, instruments: InstrumentStore) -> None:
        self._bars = bars
        self._instruments = instruments

    @property
    def bar_store(self) -> BarStore:
        """Return the bar store."""
        return self._bars

    # -- ingestion -------------------------------------------------------------------------

    def ingest(
        self,
        provider: MarketDataProvider,
        request: FetchRequest | None = None,
        *,
        skip_invalid: bool = False,
        progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        """Fetch, validate and store bars from ``provider``.

        All or nothing: if any row is invalid, nothing is written and ``ValidationError``
        lists every bad row (source, row, field, reason). With ``skip_invalid`` the valid rows
        are written and the rejects are returned in the report.
        """
        request = request or FetchRequest()
        valid_frames: list[pl.DataFrame] = []
        issues: list[Issue] = []
        instruments: dict[str, Instrument] = {}
        sources: list[str] = []
        rows_read = rejected = 0
        for batch in provider.fetch(request):
            report = validate_batch(batch)
            sources.append(batch.source)
            rows_read += batch.bars.height
            rejected += report.rejected_rows
            issues.extend(report.issues)
            valid_frames.append(report.valid)
            for instrument in batch.instruments:
                instruments[instrument.symbol] = instrument
            if progress is not None:
                progress(IngestProgress(batch.source, batch.bars.height, report.rejected_rows))
        if issues and not skip_invalid:
            raise ValidationError(
                f"{rejected} of {rows_read} rows are invalid, nothing was written "
                "(fix them, or pass --skip-invalid to load the valid rows)",
                issues,
            )
        frame = pl.concat(valid_frames) if valid_frames else empty_bars()
        symbols = tuple(sorted(frame.get_column("symbol").unique().to_list()))
        known = self._instruments.get_instruments(symbols)
        for symbol in symbols:
            if symbol not in instruments and symbol not in known:
                instruments[symbol] = Instrument(symbol=symbol, name=symbol, source=provider.name)
        self._instruments.upsert_instruments(list(instruments.values()))
        written = self._bars.write_bars(frame)
        return IngestReport(
            sources=tuple(sources),
            rows_read=rows_read,
            rows_written=written.rows,
            rejected_rows=rejected,
            issues=tuple(issues),
            symbols=symbols,
            instruments=len(instruments),
        )

    def ingest_dataset(
        self,
        name: str,
        fingerprint: str,
        provider: MarketDataProvider,
        *,
        force: bool = False,
        progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        """Load a named dataset unless the same version (``fingerprint``) is already stored."""
        if not force and self._instruments.get_dataset_fingerprint(name) == fingerprint:
            return IngestReport(sources=(name,), skipped=True)
        report = self.ingest(provider, progress=progress)
        self._instruments.record_dataset(name, fingerprint, report.rows_written)
        return report

    # -- reads -----------------------------------------------------------------------------

    def resolve(self, symbol: str) -> Instrument:
        """Return the instrument for ``symbol`` or raise ``NotFound`` with close matches."""
        try:
            normalized = normalize_symbol(symbol)
        except ValueError as exc:
            raise NotFound(f"unknown symbol {symbol!r} ({exc})") from None
        instrument = self._instruments.get_instrument(normalized)
        if instrument is not None:
            return instrument
        if any(s.symbol == normalized for s in self._bars.list_symbols(normalized)):
            return Instrument(symbol=normalized, name=normalized)
        known = self._instruments.all_symbols()
        matches = difflib.get_close_matches(normalized, known, n=5, cutoff=0.5)
        prefixed = [s for s in known if s.startswith(normalized[:2])][:5] if not matches else []
        raise NotFound(f"unknown symbol {normalized!r}", suggestions=matches or prefixed)

    def series(self, symbol: str) -> list[SymbolSummary]:
        """Return the series stored for ``symbol``, finest interval first."""
        found = [s for s in self._bars.list_symbols(symbol) if s.symbol == symbol]
        return sorted(found, key=lambda s: s.interval.nominal)

    def quote(self, symbol: str) -> QuoteSnapshot:
        """Return the latest price of ``symbol``."""
        instrument = self.resolve(symbol)
        series = self.series(instrument.symbol)
        if not series:
            raise NotFound(f"no bars are stored for {instrument.symbol}; ingest some first")
        freshest = max(series, key=lambda s: (s.last_ts, -s.interval.nominal.total_seconds()))
        latest = self._bars.latest_bars([instrument.symbol], freshest.interval, depth=2)
        row = latest.row(0, named=True)
        previous: float | None = None
        daily = next((s for s in series if s.interval == Interval.D1), None)
        if daily is not None and freshest.interval.is_intraday:
            session = row["ts"].replace(hour=0, minute=0, second=0, microsecond=0)
            before = self._bars.read_bars(
                instrument.symbol, Interval.D1, end=session, limit=1, newest_first=True
            )
            previous = before.item(0, "close") if before.height else None
        elif latest.height > 1:
            previous = latest.item(1, "close")
        return QuoteSnapshot(
            instrument=instrument,
            interval=freshest.interval,
            ts=row["ts"],
            price=row["close"],
            open=row["open"],
            high=row["high"],
            low=row["low"],
            volume=row["volume"],
            previous_close=previous,
        )

    def quotes(self, symbols: Sequence[str]) -> tuple[list[QuoteSnapshot], list[str]]:
        """Return quotes for the known symbols and the list of unknown ones."""
        found: list[QuoteSnapshot] = []
        missing: list[str] = []
        for symbol in dict.fromkeys(symbols):
            try:
                found.append(self.quote(symbol))
            except NotFound:
                missing.append(symbol)
        return found, missing

    def history(
        self,
        symbol: str,
        interval: Interval = Interval.D1,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        newest_first: bool = False,
    ) -> HistoryPage:
        """Return bars of ``symbol`` in ``[start, end)``, resampled in the store if needed.

        ``limit`` sizes the page; ``next_cursor`` continues after its last bar.
        """
        instrument = self.resolve(symbol)
        if start is not None and end is not None and end <= start:
            raise ValidationError(
                "invalid time range",
                [Issue(location="end", reason="end must be after start")],
            )
        source = self._source_interval(instrument.symbol, interval, self.series(instrument.symbol))
        if cursor is not None:
            position = decode_cursor(cursor)
            if newest_first:
                end = position if end is None else min(end, position)
            else:
                after = position + timedelta(microseconds=1)
                start = after if start is None else max(start, after)
        fetch = None if limit is None else limit + 1
        frame = self._bars.read_bars(
            instrument.symbol,
            source,
            start,
            end,
            limit=fetch,
            newest_first=newest_first,
            resample_to=None if source == interval else interval,
        )
        next_cursor = None
        if limit is not None and frame.height > limit:
            frame = frame.head(limit)
            next_cursor = encode_cursor(frame.item(limit - 1, "ts"))
        return HistoryPage(
            symbol=instrument.symbol,
            interval=interval,
            source_interval=source,
            bars=frame,
            next_cursor=next_cursor,
            synthetic=instrument.synthetic,
        )

    def closes(
        self,
        symbols: Sequence[str],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pl.DataFrame:
        """Return daily closes of ``symbols`` side by side: a ``date`` column, one per symbol.

        Dates are the union of the symbols' trading days in ``[start, end)``; a symbol without a
        bar on a date has a null there. Unknown symbols raise :class:`NotFound` naming them.
        """
        frames: list[pl.DataFrame] = []
        for symbol in dict.fromkeys(normalize_symbol(s) for s in symbols):
            page = self.history(symbol, Interval.D1, start, end)
            frames.append(
                page.bars.select(
                    pl.col("ts").dt.date().alias("date"), pl.col("close").alias(page.symbol)
                )
            )
        if not frames:
            return pl.DataFrame({"date": pl.Series([], dtype=pl.Date)})
        joined = frames[0]
        for frame in frames[1:]:
            joined = joined.join(frame, on="date", how="full", coalesce=True)
        return joined.sort("date")

    def search(self, query: str | None = None, limit: int = 50) -> list[SymbolInfo]:
        """Return instruments matching ``query`` with the series stored for each."""
        instruments = self._instruments.search_instruments(query, limit=limit)
        summaries: dict[str, list[SymbolSummary]] = {}
        for summary in self._bars.list_symbols():
            summaries.setdefault(summary.symbol, []).append(summary)
        return [
            SymbolInfo(
                instrument=instrument,
                series=tuple(
                    sorted(summaries.get(instrument.symbol, []), key=lambda s: s.interval.nominal)
                ),
            )
            for instrument in instruments
        ]

    def _source_interval(
        self, symbol: str, interval: Interval, series: Sequence[SymbolSummary]
    ) -> Interval:
        stored = [s.interval for s in series]
        if interval in stored:
            return interval
        usable = [i for i in stored if i.can_resample_to(interval)]
        if usable:
            return max(usable, key=lambda i: i.nominal)
        have = ", ".join(i.value for i in stored) or "none"
        raise ValidationError(
            f"no {interval.value} bars for {symbol}",
            [
                Issue(
                    location="interval",
                    reason=f"{symbol} has no {interval.value} bars and none finer to build them "
                    f"from (stored: {have}); ask for one of the stored intervals or coarser",
                )
            ],
        )
