"""PostgreSQL bar store: the scale-out adapter, on TimescaleDB when the server offers it.

Layout. ``bars`` becomes a TimescaleDB hypertable on ``ts`` when the ``timescaledb`` extension
can be created; otherwise it is range-partitioned by ``ts`` with one partition per calendar year,
created on demand (in a short transaction of its own, just before the write that needs it) plus a
DEFAULT partition that catches anything else. ``bar_series`` catalogues every (symbol, interval)
so listing never scans the bars, and ``store_meta`` records the schema version, as in DuckDB.

Writes. One transaction per call, fed by ``COPY`` from CSV text that polars serialises in one go.
When the catalogue says the batch cannot overlap stored bars, it is copied straight into ``bars``
inside a savepoint; a duplicate key there (rows written behind the store's back) rolls back to the
savepoint, and batches that do overlap go through a temporary staging table and
``INSERT ... ON CONFLICT DO UPDATE``. Writers hold a transaction-scoped advisory lock per
(symbol, interval) so concurrent writers keep the catalogue counts exact.

Reads. Filtering, ordering and resampling run in SQL; rows come back through
``COPY ... TO STDOUT`` and polars parses them, far faster than building Python tuples.

Connections. ``psycopg_pool`` is not a dependency, so a small bounded pool lives here: up to
``max_size`` autocommit connections, each with its session ``TimeZone`` set to UTC.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

import polars as pl
import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from quantdesk.core.errors import ConfigError, StorageError
from quantdesk.data.frames import BAR_COLUMNS, conform, empty_bars
from quantdesk.data.ports import SymbolSummary, WriteResult
from quantdesk.data.storage.schema import (
    BARS_TABLE,
    META_TABLE,
    SCHEMA_VERSION,
    SERIES_TABLE,
    VALUE_COLUMNS,
    WEEK_ORIGIN,
    check_resample,
    readable,
    writable,
)
from quantdesk.domain import Interval

_KEY_COLUMNS = ("symbol", "interval", "ts")
_DEFAULT_PARTITION = f"{BARS_TABLE}_default"
_STAGING_TABLE = f"{BARS_TABLE}_incoming"
#: Advisory-lock namespaces (first key of the two-key form): schema changes, series writes.
_DDL_LOCK = 0x71640001
_SERIES_LOCK = 0x71640002
_CONNECT_TIMEOUT_SECONDS = 10
_ACQUIRE_TIMEOUT_SECONDS = 60.0
#: The timestamp text COPY reads: naive UTC values from ``writable`` with an explicit offset.
_CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f+00"

_BARS = sql.Identifier(BARS_TABLE)
_SERIES = sql.Identifier(SERIES_TABLE)
_META = sql.Identifier(META_TABLE)
_TS = sql.Identifier("ts")
_ORIGIN = sql.Literal(WEEK_ORIGIN.replace(tzinfo=UTC))

_BUCKETS: dict[Interval, sql.Composable] = {
    Interval.M5: sql.SQL("date_bin('5 minutes', ts, {})").format(_ORIGIN),
    Interval.M15: sql.SQL("date_bin('15 minutes', ts, {})").format(_ORIGIN),
    Interval.H1: sql.SQL("date_bin('1 hour', ts, {})").format(_ORIGIN),
    Interval.D1: sql.SQL("date_trunc('day', ts, 'UTC')"),
    Interval.W1: sql.SQL("date_bin('7 days', ts, {})").format(_ORIGIN),
    Interval.MO1: sql.SQL("date_trunc('month', ts, 'UTC')"),
}

# open is the first non-null open, like DuckDB's arg_min(open, ts), so a bucket mixing
# close-only and full bars takes its open from the first full bar.
_RESAMPLED_VALUES = sql.SQL(
    "(array_agg(open ORDER BY ts) FILTER (WHERE open IS NOT NULL))[1], max(high), min(low), "
    "(array_agg(close ORDER BY ts DESC))[1], sum(volume)"
)

_COLUMN_DDL = sql.SQL(
    "symbol text NOT NULL, interval text NOT NULL, ts timestamptz NOT NULL, "
    "open double precision, high double precision, low double precision, "
    "close double precision NOT NULL, volume double precision, "
    "PRIMARY KEY (symbol, interval, ts)"
)

_READ_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    **{name: pl.Float64() for name in VALUE_COLUMNS},
}
_LATEST_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "interval": pl.String(),
    **_READ_SCHEMA,
}

_Connection: TypeAlias = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class _Layout:
    schema: str
    partitioned: bool


class PostgresBarStore:
    """A :class:`~quantdesk.data.ports.BarStore` on PostgreSQL (with TimescaleDB if present).

    Parameters
    ----------
    url
        ``postgresql://`` URL; SQLAlchemy's ``postgresql+psycopg://`` form is accepted too.
        A ``search_path`` in the URL's ``options`` selects the schema holding the tables.
    min_size
        Connections opened up front (``0`` connects on first use).
    max_size
        Most connections held at once; callers beyond that wait for one to be released.

    Raises
    ------
    ConfigError
        If the URL is not a PostgreSQL URL or cannot be parsed.
    StorageError
        If the ``min_size`` initial connections cannot be opened (``retryable``).
    """

    name = "postgres"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 4) -> None:
        if max_size < 1 or not 0 <= min_size <= max_size:
            raise ValueError(
                f"need 0 <= min_size <= max_size and max_size >= 1, got {min_size}, {max_size}"
            )
        self._pool = _Pool(_conninfo(url), min_size=min_size, max_size=max_size)
        self._state_lock = threading.Lock()
        self._layout: _Layout | None = None
        self._years: set[int] = set()

    def migrate(self) -> None:
        """Create the tables, partitions or hypertable if missing and record the schema version.

        Raises
        ------
        StorageError
            If the server refuses the schema changes.
        """
        with self._session("migrating the PostgreSQL bar store") as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_DDL_LOCK])
            layout = _inspect(con)
            if layout is None:
                if not _create_hypertable(con):
                    con.execute(
                        sql.SQL("CREATE TABLE {} ({}) PARTITION BY RANGE (ts)").format(
                            _BARS, _COLUMN_DDL
                        )
                    )
                layout = _inspect(con)
            if layout is not None and layout.partitioned:
                _ensure_default_partition(con, layout)
            con.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (symbol text NOT NULL, interval text NOT NULL, "
                    "first_ts timestamptz NOT NULL, last_ts timestamptz NOT NULL, "
                    "bar_count bigint NOT NULL, PRIMARY KEY (symbol, interval))"
                ).format(_SERIES)
            )
            con.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value text NOT NULL)"
                ).format(_META)
            )
            con.execute(
                sql.SQL(
                    "INSERT INTO {} (key, value) VALUES ('schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
                ).format(_META),
                [str(SCHEMA_VERSION)],
            )
        self._forget_layout()

    def write_bars(self, bars: pl.DataFrame) -> WriteResult:
        """Upsert ``bars`` in one transaction, bulk-loaded with ``COPY``.

        Parameters
        ----------
        bars
            A frame in the bar schema; rows repeating a key within it keep the last one.

        Returns
        -------
        WriteResult
            Rows written and the symbols they touched.

        Raises
        ------
        StorageError
            If anything fails; nothing is written then.
        """
        frame = _deduplicated(bars)
        if frame.is_empty():
            return WriteResult(rows=0)
        ranges = (
            frame.group_by("symbol", "interval")
            .agg(
                pl.col("ts").min().dt.replace_time_zone("UTC").alias("lo"),
                pl.col("ts").max().dt.replace_time_zone("UTC").alias("hi"),
                pl.len().alias("n"),
            )
            .sort("symbol", "interval")
        )
        years = frame.get_column("ts").dt.year().unique().drop_nulls().to_list()
        buffer = io.BytesIO()
        frame.write_csv(
            buffer,
            include_header=False,
            datetime_format=_CSV_DATETIME_FORMAT,
            null_value="",
            quote_style="necessary",
        )
        payload = buffer.getbuffer()
        action = f"writing {frame.height} bars to PostgreSQL failed, nothing was written"
        try:
            with self._session(action) as con:
                self._ensure_partitions(con, years)
                with con.transaction():
                    _write(con, payload, ranges)
        except StorageError:
            self._forget_layout()
            raise
        finally:
            payload.release()
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
        """Return the bars of ``symbol`` at ``interval`` in ``[start, end)``.

        Parameters
        ----------
        symbol, interval
            The series to read.
        start, end
            Half-open time range; naive values are taken as UTC.
        limit
            Most rows returned, counted after ordering.
        newest_first
            Order newest bar first instead of oldest first.
        resample_to
            Aggregate into coarser buckets in the query (open=first, high=max, low=min,
            close=last, volume=sum), stamped at bucket starts.

        Returns
        -------
        polars.DataFrame
            Bars in the bar schema.

        Raises
        ------
        ValueError
            If ``interval`` bars cannot be aggregated into ``resample_to`` buckets.
        StorageError
            If the query fails.
        """
        conditions = [sql.SQL("symbol = %s"), sql.SQL("interval = %s")]
        params: list[object] = [symbol, interval.value]
        if start is not None:
            conditions.append(sql.SQL("ts >= %s"))
            params.append(_utc(start))
        if end is not None:
            conditions.append(sql.SQL("ts < %s"))
            params.append(_utc(end))
        where = sql.SQL(" AND ").join(conditions)
        order = sql.SQL("DESC" if newest_first else "ASC")
        if resample_to is None or resample_to == interval:
            query = sql.SQL(
                "SELECT {}, open, high, low, close, volume FROM {} WHERE {} ORDER BY ts {}"
            ).format(_epoch_us(_TS), _BARS, where, order)
        else:
            check_resample(interval, resample_to)
            bucket = _BUCKETS[resample_to]
            query = sql.SQL("SELECT {}, {} FROM {} WHERE {} GROUP BY {} ORDER BY {} {}").format(
                _epoch_us(bucket), _RESAMPLED_VALUES, _BARS, where, bucket, bucket, order
            )
        if limit is not None:
            query = sql.SQL("{} LIMIT %s").format(query)
            params.append(int(limit))
        frame = self._fetch(query, params, _READ_SCHEMA).with_columns(
            pl.lit(symbol).alias("symbol"),
            pl.lit((resample_to or interval).value).alias("interval"),
        )
        return readable(frame)

    def latest_bars(
        self, symbols: Sequence[str], interval: Interval, depth: int = 1
    ) -> pl.DataFrame:
        """Return up to ``depth`` newest bars per symbol, newest first within each symbol.

        Parameters
        ----------
        symbols
            Symbols to look up; unknown ones are simply absent from the result.
        interval
            Bar interval.
        depth
            Bars per symbol.

        Returns
        -------
        polars.DataFrame
            Bars in the bar schema, ordered by symbol then newest first.

        Raises
        ------
        StorageError
            If the query fails.
        """
        if not symbols or depth < 1:
            return readable(empty_bars())
        # A LIMITed walk down each symbol's primary-key index touches depth rows per symbol,
        # where ranking with a window function would read every stored bar of the symbols.
        query = sql.SQL(
            "SELECT b.symbol, b.interval, {}, b.open, b.high, b.low, b.close, b.volume "
            "FROM (SELECT DISTINCT unnest(%s::text[]) AS symbol) AS s "
            "CROSS JOIN LATERAL (SELECT * FROM {} AS x WHERE x.symbol = s.symbol "
            "AND x.interval = %s ORDER BY x.ts DESC LIMIT %s) AS b "
            'ORDER BY b.symbol COLLATE "C", b.ts DESC'
        ).format(_epoch_us(sql.SQL("b.ts")), _BARS)
        params = [list(symbols), interval.value, int(depth)]
        return readable(self._fetch(query, params, _LATEST_SCHEMA))

    def list_symbols(
        self, query: str | None = None, interval: Interval | None = None
    ) -> list[SymbolSummary]:
        """Return what is stored per symbol and interval, optionally filtered.

        Parameters
        ----------
        query
            Case-insensitive substring the symbol must contain.
        interval
            Only series at this interval.

        Returns
        -------
        list of SymbolSummary
            One entry per series, ordered by symbol then interval.

        Raises
        ------
        StorageError
            If the query fails.
        """
        conditions: list[sql.Composable] = [sql.SQL("TRUE")]
        params: list[object] = []
        if query:
            conditions.append(sql.SQL("strpos(upper(symbol), upper(%s)) > 0"))
            params.append(query)
        if interval is not None:
            conditions.append(sql.SQL("interval = %s"))
            params.append(interval.value)
        statement = sql.SQL(
            "SELECT symbol, interval, first_ts, last_ts, bar_count FROM {} WHERE {} "
            'ORDER BY symbol COLLATE "C", interval COLLATE "C"'
        ).format(_SERIES, sql.SQL(" AND ").join(conditions))
        with self._session("listing symbols in PostgreSQL failed") as con:
            rows = con.execute(statement, params).fetchall()
        return [
            SymbolSummary(
                symbol=symbol,
                interval=Interval(value),
                first_ts=first_ts.astimezone(UTC),
                last_ts=last_ts.astimezone(UTC),
                bar_count=int(count),
            )
            for symbol, value, first_ts, last_ts, count in rows
        ]

    def delete_bars(self, symbol: str, interval: Interval | None = None) -> int:
        """Delete a symbol's bars, at one interval or all, and return how many went.

        Parameters
        ----------
        symbol
            The symbol whose bars go.
        interval
            Only this interval; ``None`` deletes every interval.

        Returns
        -------
        int
            Rows deleted.

        Raises
        ------
        StorageError
            If the delete fails; nothing is deleted then.
        """
        where = sql.SQL("symbol = %s" if interval is None else "symbol = %s AND interval = %s")
        params = [symbol] if interval is None else [symbol, interval.value]
        intervals = list(Interval) if interval is None else [interval]
        keys = sorted({_series_key(symbol, each.value) for each in intervals})
        with (
            self._session("deleting bars from PostgreSQL failed") as con,
            con.transaction(),
        ):
            _lock_series(con, keys)
            deleted = con.execute(sql.SQL("DELETE FROM {} WHERE {}").format(_BARS, where), params)
            con.execute(sql.SQL("DELETE FROM {} WHERE {}").format(_SERIES, where), params)
            return max(deleted.rowcount, 0)

    def ping(self) -> None:
        """Run a trivial query against the catalogue.

        Raises
        ------
        StorageError
            If the server cannot be reached or the store is not migrated (``retryable``).
        """
        try:
            with self._pool.connection() as con:
                con.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(_SERIES)).fetchall()
        except psycopg.Error as exc:
            raise StorageError(
                f"the PostgreSQL bar store is not ready: {_describe(exc)}", retryable=True
            ) from exc

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        self._pool.close()

    @contextmanager
    def _session(self, action: str) -> Iterator[_Connection]:
        try:
            with self._pool.connection() as con:
                yield con
        except psycopg.Error as exc:
            raise StorageError(
                f"{action}: {_describe(exc)}", retryable=isinstance(exc, psycopg.OperationalError)
            ) from exc

    def _fetch(
        self, query: sql.Composable, params: Sequence[object], schema: dict[str, pl.DataType]
    ) -> pl.DataFrame:
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
        with (
            self._session("reading bars from PostgreSQL failed") as con,
            con.cursor() as cursor,
            cursor.copy(statement, params) as copy,
        ):
            data = b"".join(bytes(block) for block in copy)
        if not data:
            frame = pl.DataFrame(schema=schema)
        else:
            frame = pl.read_csv(data, has_header=False, schema=schema)
        return frame.with_columns(pl.from_epoch("ts", time_unit="us").dt.replace_time_zone("UTC"))

    def _ensure_partitions(self, con: _Connection, years: Sequence[int]) -> None:
        with self._state_lock:
            layout = self._layout
            missing = sorted(set(years) - self._years)
        if layout is None:
            layout = _inspect(con)
            if layout is None:
                raise StorageError(
                    f"the table {BARS_TABLE!r} does not exist in the schema the URL's search_path "
                    "selects; call migrate() first"
                )
        if layout.partitioned and missing:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_DDL_LOCK])
                _create_year_partitions(con, layout, missing)
        with self._state_lock:
            self._layout = layout
            self._years.update(missing)

    def _forget_layout(self) -> None:
        with self._state_lock:
            self._layout = None
            self._years.clear()


def _write(con: _Connection, payload: memoryview, ranges: pl.DataFrame) -> None:
    series = (ranges.get_column("symbol").to_list(), ranges.get_column("interval").to_list())
    lows, highs = ranges.get_column("lo").to_list(), ranges.get_column("hi").to_list()
    _lock_series(con, sorted({_series_key(s, i) for s, i in zip(*series, strict=True)}))
    overlap = con.execute(
        sql.SQL(
            "SELECT EXISTS (SELECT 1 FROM {} AS s JOIN unnest(%s::text[], %s::text[], "
            "%s::timestamptz[], %s::timestamptz[]) AS r(symbol, interval, lo, hi) "
            "ON s.symbol = r.symbol AND s.interval = r.interval "
            "AND s.first_ts <= r.hi AND s.last_ts >= r.lo)"
        ).format(_SERIES),
        [*series, lows, highs],
    ).fetchone()
    if overlap is not None and not overlap[0]:
        try:
            with con.transaction():
                _copy_in(con, _BARS, payload)
        except errors.UniqueViolation:
            pass
        else:
            con.execute(
                sql.SQL(
                    "INSERT INTO {} AS s (symbol, interval, first_ts, last_ts, bar_count) "
                    "SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], "
                    "%s::timestamptz[], %s::int8[]) "
                    "ON CONFLICT (symbol, interval) DO UPDATE SET "
                    "first_ts = least(s.first_ts, EXCLUDED.first_ts), "
                    "last_ts = greatest(s.last_ts, EXCLUDED.last_ts), "
                    "bar_count = s.bar_count + EXCLUDED.bar_count"
                ).format(_SERIES),
                [*series, lows, highs, ranges.get_column("n").to_list()],
            )
            return
    staging = sql.Identifier(_STAGING_TABLE)
    con.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(staging, _BARS))
    _copy_in(con, staging, payload)
    columns = sql.SQL(", ").join(map(sql.Identifier, BAR_COLUMNS))
    values = sql.SQL(", ").join(map(sql.Identifier, VALUE_COLUMNS))
    replaced = sql.SQL(", ").join(
        sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in VALUE_COLUMNS
    )
    stored = sql.SQL(", ").join(sql.SQL("b.{}").format(sql.Identifier(c)) for c in VALUE_COLUMNS)
    # Identical rows are left alone, so re-ingesting an unchanged file rewrites nothing.
    con.execute(
        sql.SQL(
            "INSERT INTO {} AS b ({}) SELECT {} FROM {} "
            "ON CONFLICT (symbol, interval, ts) DO UPDATE SET ({}) = ROW({}) "
            "WHERE ({}) IS DISTINCT FROM ({})"
        ).format(_BARS, columns, columns, staging, values, replaced, stored, replaced)
    )
    # Overlapping writes recount their series, which also repairs a catalogue that drifted.
    con.execute(
        sql.SQL(
            "INSERT INTO {} AS s (symbol, interval, first_ts, last_ts, bar_count) "
            "SELECT b.symbol, b.interval, min(b.ts), max(b.ts), count(*) FROM {} AS b "
            "JOIN unnest(%s::text[], %s::text[]) AS r(symbol, interval) "
            "ON b.symbol = r.symbol AND b.interval = r.interval "
            "GROUP BY b.symbol, b.interval "
            "ON CONFLICT (symbol, interval) DO UPDATE SET first_ts = EXCLUDED.first_ts, "
            "last_ts = EXCLUDED.last_ts, bar_count = EXCLUDED.bar_count"
        ).format(_SERIES, _BARS),
        list(series),
    )


def _copy_in(con: _Connection, table: sql.Identifier, payload: memoryview) -> None:
    columns = sql.SQL(", ").join(map(sql.Identifier, BAR_COLUMNS))
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(table, columns)
    with con.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(payload)


def _lock_series(con: _Connection, keys: Sequence[int]) -> None:
    # Keys arrive sorted, so two writers touching the same series lock them in the same order.
    con.execute(
        "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::int4[]) WITH ORDINALITY AS t(k, n) "
        "ORDER BY n",
        [_SERIES_LOCK, list(keys)],
    )


def _series_key(symbol: str, interval: str) -> int:
    digest = zlib.crc32(f"{symbol}\x1f{interval}".encode())
    return digest - (1 << 32) if digest >= 1 << 31 else digest


def _inspect(con: _Connection) -> _Layout | None:
    row = con.execute(
        "SELECT n.nspname, c.relkind = 'p' FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        [BARS_TABLE],
    ).fetchone()
    return None if row is None else _Layout(schema=row[0], partitioned=bool(row[1]))


def _create_hypertable(con: _Connection) -> bool:
    available = con.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if available is None:
        return False
    try:
        with con.transaction():
            con.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error:
        # Available but not loadable (not in shared_preload_libraries, or no privilege).
        return False
    row = con.execute(
        "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        return False
    con.execute(sql.SQL("CREATE TABLE {} ({})").format(_BARS, _COLUMN_DDL))
    con.execute(
        sql.SQL("SELECT {}(%s::regclass, 'ts', if_not_exists => TRUE)").format(
            sql.Identifier(row[0], "create_hypertable")
        ),
        [BARS_TABLE],
    )
    return True


def _ensure_default_partition(con: _Connection, layout: _Layout) -> None:
    row = con.execute(
        "SELECT partdefid <> 0 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
        [BARS_TABLE],
    ).fetchone()
    if row is not None and not row[0]:
        con.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                sql.Identifier(layout.schema, _DEFAULT_PARTITION),
                sql.Identifier(layout.schema, BARS_TABLE),
            )
        )


def _create_year_partitions(con: _Connection, layout: _Layout, years: Sequence[int]) -> None:
    rows = con.execute(
        "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        [BARS_TABLE],
    ).fetchall()
    existing = {row[0] for row in rows}
    parent = sql.Identifier(layout.schema, BARS_TABLE)
    for year in years:
        name = f"{BARS_TABLE}_y{year:04d}"
        if name in existing or not 1 <= year < 9999:
            continue
        try:
            with con.transaction():
                con.execute(
                    sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                        sql.Identifier(layout.schema, name),
                        parent,
                        sql.Literal(datetime(year, 1, 1, tzinfo=UTC)),
                        sql.Literal(datetime(year + 1, 1, 1, tzinfo=UTC)),
                    )
                )
        except (errors.CheckViolation, errors.InvalidObjectDefinition, errors.DuplicateTable):
            # The DEFAULT partition already holds rows of that year, or another partition
            # covers it: the rows keep landing where they already do, which stays correct.
            continue


def _deduplicated(bars: pl.DataFrame) -> pl.DataFrame:
    frame = writable(bars)
    repeated = frame.select(
        (
            (pl.col("symbol") == pl.col("symbol").shift(1))
            & (pl.col("interval") == pl.col("interval").shift(1))
            & (pl.col("ts") == pl.col("ts").shift(1))
        ).any()
    ).item()
    if not repeated:
        return frame
    return writable(conform(bars).unique(subset=_KEY_COLUMNS, keep="last", maintain_order=True))


def _epoch_us(expression: sql.Composable) -> sql.Composed:
    return sql.SQL("(extract(epoch FROM {}) * 1000000)::int8").format(expression)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True, slots=True)
class _ConnInfo:
    conninfo: str
    display: str
    secret: str
    extra: dict[str, Any]


def _conninfo(url: str) -> _ConnInfo:
    scheme, separator, rest = url.partition("://")
    if separator:
        driver = scheme.split("+", 1)
        if driver[0] not in ("postgresql", "postgres"):
            raise ConfigError(
                f"not a PostgreSQL URL (scheme {scheme!r}); use postgresql://user@host:port/db"
            )
        url = f"{driver[0]}://{rest}"
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(
            "cannot parse the PostgreSQL URL; use postgresql://user@host:port/database"
        ) from exc
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    user = str(params.get("user") or "")
    where = f"{user + '@' if user else ''}{host}:{port}/{params.get('dbname') or ''}"
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = _CONNECT_TIMEOUT_SECONDS
    return _ConnInfo(
        conninfo=url,
        display=f"postgresql://{where}",
        secret=str(params.get("password") or ""),
        extra=extra,
    )


class _Pool:
    def __init__(self, info: _ConnInfo, *, min_size: int, max_size: int) -> None:
        self._info = info
        self._max_size = max_size
        self._idle: list[_Connection] = []
        self._size = 0
        self._closed = False
        self._condition = threading.Condition()
        try:
            for _ in range(min_size):
                self._idle.append(self._connect())
                self._size += 1
        except StorageError:
            self.close()
            raise

    @contextmanager
    def connection(self) -> Iterator[_Connection]:
        con = self._acquire()
        try:
            yield con
        finally:
            self._release(con)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._condition.notify_all()
        for con in idle:
            con.close()

    def _acquire(self) -> _Connection:
        with self._condition:
            while True:
                if self._closed:
                    raise StorageError("the PostgreSQL bar store is closed")
                if self._idle:
                    return self._idle.pop()
                if self._size < self._max_size:
                    self._size += 1
                    break
                if not self._condition.wait(timeout=_ACQUIRE_TIMEOUT_SECONDS):
                    raise StorageError(
                        f"all {self._max_size} PostgreSQL connections stayed busy for "
                        f"{_ACQUIRE_TIMEOUT_SECONDS:.0f} s; raise max_size or shorten the work "
                        "holding them",
                        retryable=True,
                    )
        try:
            return self._connect()
        except BaseException:
            with self._condition:
                self._size -= 1
                self._condition.notify()
            raise

    def _release(self, con: _Connection) -> None:
        busy = not con.closed and con.info.transaction_status != TransactionStatus.IDLE
        if busy and not con.broken:
            try:
                con.rollback()
            except psycopg.Error:
                con.close()
        with self._condition:
            if con.closed or con.broken or self._closed:
                self._size -= 1
                keep = False
            else:
                self._idle.append(con)
                keep = True
            self._condition.notify()
        if not keep:
            con.close()

    def _connect(self) -> _Connection:
        info = self._info
        try:
            con = psycopg.connect(info.conninfo, autocommit=True, **info.extra)
        except psycopg.Error as exc:
            reason = _describe(exc)
            if info.secret:
                reason = reason.replace(info.secret, "***")
            raise StorageError(
                f"cannot connect to PostgreSQL at {info.display}: {reason}. Check that "
                "PostgreSQL is running and accepting connections at that address, and that the "
                "user, password and database in the URL are right",
                retryable=True,
            ) from exc
        try:
            # Naive timestamps mean UTC, and floats must print with round-trip precision.
            con.execute("SET TimeZone TO 'UTC'")
            con.execute("SET extra_float_digits TO 3")
        except psycopg.Error as exc:
            con.close()
            raise StorageError(
                f"cannot configure the PostgreSQL session at {info.display}: {_describe(exc)}",
                retryable=True,
            ) from exc
        return con
