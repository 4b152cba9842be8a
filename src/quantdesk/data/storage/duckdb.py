"""DuckDB bar store: the embedded default, one file under ``QUANTDESK_HOME``.

Writes are one transaction each: incoming rows replace stored rows with the same
``(symbol, interval, ts)`` and are appended sorted, which keeps DuckDB's per-row-group min/max
indexes tight so symbol/time-range reads touch few row groups. A small ``bar_series`` catalogue
is kept in the same transaction so listing symbols never scans the bars.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from quantdesk.core.errors import StorageError
from quantdesk.data.frames import empty_bars
from quantdesk.data.ports import SymbolSummary, WriteResult
from quantdesk.data.storage.schema import (
    BARS_TABLE,
    META_TABLE,
    SCHEMA_VERSION,
    SERIES_TABLE,
    WEEK_ORIGIN,
    check_resample,
    readable,
    to_naive_utc,
    writable,
)
from quantdesk.domain import Interval

_DDL = f"""
CREATE TABLE IF NOT EXISTS {BARS_TABLE} (
    symbol VARCHAR NOT NULL,
    interval VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    open DOUBLE,
    high DOUBLE,
    low DOUBLE,
    close DOUBLE NOT NULL,
    volume DOUBLE
);
CREATE TABLE IF NOT EXISTS {SERIES_TABLE} (
    symbol VARCHAR NOT NULL,
    interval VARCHAR NOT NULL,
    first_ts TIMESTAMP NOT NULL,
    last_ts TIMESTAMP NOT NULL,
    bar_count BIGINT NOT NULL,
    PRIMARY KEY (symbol, interval)
);
CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
"""

_BUCKETS: dict[Interval, str] = {
    Interval.M5: "time_bucket(INTERVAL '5 minutes', ts)",
    Interval.M15: "time_bucket(INTERVAL '15 minutes', ts)",
    Interval.H1: "time_bucket(INTERVAL '1 hour', ts)",
    Interval.D1: "date_trunc('day', ts)",
    Interval.W1: f"time_bucket(INTERVAL '7 days', ts, TIMESTAMP '{WEEK_ORIGIN.isoformat()}')",
    Interval.MO1: "date_trunc('month', ts)",
}


class DuckDBBarStore:
    """A :class:`~quantdesk.data.ports.BarStore` on a DuckDB file (or ``:memory:``)."""

    name = "duckdb"

    def __init__(
        self,
        path: Path | str,
        *,
        threads: int | None = None,
        cache_rows: int = 2_000_000,
        cache_series_rows: int = 250_000,
    ) -> None:
        self._path = str(path)
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads is not None:
            config["threads"] = threads
        try:
            self._con = duckdb.connect(self._path, config=config)
        except duckdb.IOException as exc:
            raise StorageError(
                f"cannot open the DuckDB store at {self._path}: {exc}. If another quantdesk "
                "process (an API server or an ingest) has it open, stop that process or point "
                "QUANTDESK_STORAGE__DUCKDB_PATH elsewhere",
                retryable=True,
            ) from exc
        self._con.execute("SET enable_progress_bar = false")
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._cache: OrderedDict[tuple[str, str], pl.DataFrame] = OrderedDict()
        self._catalogue: list[SymbolSummary] | None = None
        self._cache_lock = threading.Lock()
        self._cache_rows = cache_rows
        self._cache_series_rows = cache_series_rows

    @property
    def path(self) -> str:
        """Return the database file path."""
        return self._path

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise StorageError("the DuckDB store is closed")
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
        return cursor

    def migrate(self) -> None:
        """Create the tables if they do not exist and record the schema version."""
        with self._write_lock:
            con = self._cursor()
            con.execute(_DDL)
            con.execute(
                f"INSERT OR REPLACE INTO {META_TABLE} VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)],
            )

    def write_bars(self, bars: pl.DataFrame) -> WriteResult:
        """Upsert ``bars`` in one transaction."""
        frame = writable(bars)
        if frame.is_empty():
            return WriteResult(rows=0)
        arrow = frame.to_arrow()
        with self._write_lock:
            con = self._cursor()
            con.register("incoming", arrow)
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE incoming_ranges AS "
                    "SELECT symbol, interval, min(ts) AS lo, max(ts) AS hi, count(*) AS n "
                    "FROM incoming GROUP BY symbol, interval"
                )
                overlap = con.execute(
                    f"SELECT count(*) FROM incoming_ranges r JOIN {SERIES_TABLE} s "
                    "ON s.symbol = r.symbol AND s.interval = r.interval "
                    "AND s.first_ts <= r.hi AND s.last_ts >= r.lo"
                ).fetchall()
                if overlap and overlap[0][0] > 0:
                    con.execute(
                        f"DELETE FROM {BARS_TABLE} b USING incoming i "
                        "WHERE b.symbol = i.symbol AND b.interval = i.interval AND b.ts = i.ts"
                    )
                con.execute(f"INSERT INTO {BARS_TABLE} SELECT * FROM incoming")
                if overlap and overlap[0][0] > 0:
                    con.execute(
                        f"INSERT OR REPLACE INTO {SERIES_TABLE} "
                        "SELECT b.symbol, b.interval, min(b.ts), max(b.ts), count(*) "
                        f"FROM {BARS_TABLE} b SEMI JOIN incoming_ranges r "
                        "ON b.symbol = r.symbol AND b.interval = r.interval "
                        "GROUP BY b.symbol, b.interval"
                    )
                else:
                    # No stored bar overlaps the incoming ranges: the catalogue can be
                    # updated arithmetically instead of rescanning the series.
                    con.execute(
                        f"INSERT OR REPLACE INTO {SERIES_TABLE} "
                        "SELECT r.symbol, r.interval, least(s.first_ts, r.lo), "
                        "greatest(s.last_ts, r.hi), coalesce(s.bar_count, 0) + r.n "
                        f"FROM incoming_ranges r LEFT JOIN {SERIES_TABLE} s "
                        "ON s.symbol = r.symbol AND s.interval = r.interval"
                    )
                con.execute("COMMIT")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StorageError(
                    f"writing bars to DuckDB failed, nothing was written: {exc}"
                ) from exc
            finally:
                con.unregister("incoming")
                touched = frame.select("symbol", "interval").unique().iter_rows()
                self._forget(list(touched))
        symbols = tuple(sorted(frame.get_column("symbol").unique().to_list()))
        return WriteResult(rows=frame.height, symbols=symbols)

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
        """Return bars in ``[start, end)``, optionally resampled in the query."""
        if resample_to is None or resample_to == interval:
            cached = self._cached_series(symbol, interval)
            if cached is not None:
                return _slice(cached, start, end, limit, newest_first)
        where = ["symbol = ?", "interval = ?"]
        params: list[object] = [symbol, interval.value]
        if start is not None:
            where.append("ts >= ?")
            params.append(to_naive_utc(start))
        if end is not None:
            where.append("ts < ?")
            params.append(to_naive_utc(end))
        order = "DESC" if newest_first else "ASC"
        if resample_to is None or resample_to == interval:
            sql = (
                "SELECT ts, open, high, low, close, volume "
                f"FROM {BARS_TABLE} WHERE {' AND '.join(where)} ORDER BY ts {order}"
            )
        else:
            check_resample(interval, resample_to)
            bucket = _BUCKETS[resample_to]
            sql = (
                f"SELECT {bucket} AS ts, "
                "arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, "
                "arg_max(close, ts) AS close, sum(volume) AS volume "
                f"FROM {BARS_TABLE} WHERE {' AND '.join(where)} "
                f"GROUP BY {bucket} ORDER BY ts {order}"
            )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        frame = self._query(sql, params).with_columns(
            pl.lit(symbol).alias("symbol"),
            pl.lit((resample_to or interval).value).alias("interval"),
        )
        return readable(frame)

    def latest_bars(
        self, symbols: Sequence[str], interval: Interval, depth: int = 1
    ) -> pl.DataFrame:
        """Return up to ``depth`` newest bars per symbol."""
        if not symbols:
            return empty_bars()
        placeholders = ", ".join("?" for _ in symbols)
        sql = (
            "SELECT symbol, interval, ts, open, high, low, close, volume "
            f"FROM {BARS_TABLE} WHERE interval = ? AND symbol IN ({placeholders}) "
            "QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) <= ? "
            "ORDER BY symbol, ts DESC"
        )
        return readable(self._query(sql, [interval.value, *symbols, depth]))

    def list_symbols(
        self, query: str | None = None, interval: Interval | None = None
    ) -> list[SymbolSummary]:
        """Return the stored series, optionally filtered by symbol substring and interval.

        The catalogue is read once and kept until the next write or delete.
        """
        catalogue = self._catalogue
        if catalogue is None:
            rows = (
                self._cursor()
                .execute(
                    f"SELECT symbol, interval, first_ts, last_ts, bar_count FROM {SERIES_TABLE} "
                    "ORDER BY symbol, interval"
                )
                .fetchall()
            )
            catalogue = [_summary(*row) for row in rows]
            self._catalogue = catalogue
        needle = query.upper() if query else None
        return [
            summary
            for summary in catalogue
            if (needle is None or needle in summary.symbol.upper())
            and (interval is None or summary.interval == interval)
        ]

    def delete_bars(self, symbol: str, interval: Interval | None = None) -> int:
        """Delete a symbol's bars and return how many rows went."""
        where = "symbol = ?" + ("" if interval is None else " AND interval = ?")
        params = [symbol] if interval is None else [symbol, interval.value]
        with self._write_lock:
            con = self._cursor()
            try:
                con.execute("BEGIN TRANSACTION")
                row = con.execute(f"DELETE FROM {BARS_TABLE} WHERE {where}", params).fetchall()
                con.execute(f"DELETE FROM {SERIES_TABLE} WHERE {where}", params)
                con.execute("COMMIT")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StorageError(f"deleting bars failed, nothing was deleted: {exc}") from exc
            intervals = [interval] if interval is not None else list(Interval)
            self._forget([(symbol, i.value) for i in intervals])
        return int(row[0][0]) if row else 0

    def _cached_series(self, symbol: str, interval: Interval) -> pl.DataFrame | None:
        if self._cache_rows <= 0:
            return None
        key = (symbol, interval.value)
        with self._cache_lock:
            frame = self._cache.get(key)
            if frame is not None:
                self._cache.move_to_end(key)
                return frame
        row = (
            self._cursor()
            .execute(
                f"SELECT bar_count FROM {SERIES_TABLE} WHERE symbol = ? AND interval = ?",
                [symbol, interval.value],
            )
            .fetchall()
        )
        if not row or row[0][0] > self._cache_series_rows:
            return None
        frame = self.read_bars_uncached(symbol, interval)
        with self._cache_lock:
            self._cache[key] = frame
            total = sum(f.height for f in self._cache.values())
            while total > self._cache_rows and len(self._cache) > 1:
                _, evicted = self._cache.popitem(last=False)
                total -= evicted.height
        return frame

    def read_bars_uncached(self, symbol: str, interval: Interval) -> pl.DataFrame:
        """Return every stored bar of a series straight from the database."""
        frame = self._query(
            f"SELECT ts, open, high, low, close, volume FROM {BARS_TABLE} "
            "WHERE symbol = ? AND interval = ? ORDER BY ts",
            [symbol, interval.value],
        ).with_columns(pl.lit(symbol).alias("symbol"), pl.lit(interval.value).alias("interval"))
        return readable(frame)

    def _forget(self, keys: list[tuple[str, str]]) -> None:
        self._catalogue = None
        with self._cache_lock:
            for key in keys:
                self._cache.pop(key, None)

    def ping(self) -> None:
        """Run a trivial query against the bar table."""
        try:
            self._cursor().execute(f"SELECT count(*) FROM {SERIES_TABLE}").fetchall()
        except duckdb.Error as exc:
            raise StorageError(f"DuckDB store is not ready: {exc}", retryable=True) from exc

    def close(self) -> None:
        """Close the database."""
        if not self._closed:
            self._closed = True
            self._con.close()

    def _query(self, sql: str, params: Sequence[object]) -> pl.DataFrame:
        try:
            table = self._cursor().sql(sql, params=list(params)).to_arrow_table()
            frame = pl.from_arrow(table)
        except duckdb.Error as exc:
            raise StorageError(f"reading bars from DuckDB failed: {exc}") from exc
        assert isinstance(frame, pl.DataFrame)
        return frame


def _slice(
    frame: pl.DataFrame,
    start: datetime | None,
    end: datetime | None,
    limit: int | None,
    newest_first: bool,
) -> pl.DataFrame:
    ts = frame.get_column("ts").to_numpy()
    lo = 0 if start is None else int(np.searchsorted(ts, _datetime64(start), side="left"))
    hi = frame.height if end is None else int(np.searchsorted(ts, _datetime64(end), side="left"))
    selected = frame.slice(lo, max(hi - lo, 0))
    if newest_first:
        selected = selected.reverse()
    if limit is not None:
        selected = selected.head(limit)
    return selected


def _datetime64(moment: datetime) -> np.datetime64:
    return np.datetime64(to_naive_utc(moment), "us")


def _summary(
    symbol: str, interval: str, first_ts: datetime, last_ts: datetime, count: int
) -> SymbolSummary:
    return SymbolSummary(
        symbol=symbol,
        interval=Interval(interval),
        first_ts=_aware(first_ts),
        last_ts=_aware(last_ts),
        bar_count=int(count),
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
