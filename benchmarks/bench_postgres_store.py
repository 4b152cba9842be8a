"""Measure PostgresBarStore.write_bars against a raw ``COPY`` of the same CSV text.

Usage::

    python benchmarks/bench_postgres_store.py [--rows N] [--symbols S] [--repeat R] [--url URL]

The URL comes from ``--url``, else ``QUANTDESK_BENCH_POSTGRES_URL``, else
``QUANTDESK_TEST_POSTGRES_URL``, else ``postgresql://postgres@127.0.0.1:5432/test``. Every case
runs in its own throw-away schema, dropped at the end. The data is SYNTHETIC: a random walk per
symbol, one-minute bars, straddling a year boundary so the store creates two partitions.

Cases, all in one run and on the same bytes, each repeated ``--repeat`` times in rounds (every
round in fresh schemas); the table shows the best and the median time of each case, and the ratio
of best throughputs, because single timings on a shared machine swing by tens of percent:

(a) ``write_bars`` into an empty store (fresh: the COPY fast path), timed end to end: frame
    preparation, CSV serialisation, partition creation, COPY, catalogue upkeep, commit.
(b) ``write_bars`` of the same frame again (every row conflicts: staging table + upsert; the
    values are identical, so no row is actually rewritten).
(b') ``write_bars`` of the same keys with every close and volume changed (every row updated).
(c) the reference: raw ``COPY ... FROM STDIN (FORMAT csv)`` of the pre-serialised CSV text
    into a plain table with the same columns and primary key, no quantdesk machinery.
(c') the same raw COPY into a table partitioned by year like the store's, for context.
(d) raw COPY into an UNLOGGED table without any index, for context.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

import numpy as np
import polars as pl
import psycopg
from psycopg import sql

from quantdesk.data.frames import BAR_COLUMNS
from quantdesk.data.storage.postgres import PostgresBarStore
from quantdesk.data.storage.schema import writable

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
COLUMNS_DDL = (
    "symbol text NOT NULL, interval text NOT NULL, ts timestamptz NOT NULL, "
    "open double precision, high double precision, low double precision, "
    "close double precision NOT NULL, volume double precision"
)
KEY_DDL = ", PRIMARY KEY (symbol, interval, ts)"


CASES = {
    "a": "(a) PostgresBarStore.write_bars, fresh",
    "b": "(b) PostgresBarStore.write_bars, re-write, same values",
    "b'": "(b') PostgresBarStore.write_bars, re-write, all values changed",
    "c": "(c) raw COPY, plain table + same PK (reference)",
    "c'": "(c') raw COPY, yearly partitions + same PK",
    "d": "(d) raw COPY, UNLOGGED table, no index",
    "csv": "CSV serialisation alone (part of a)",
}


def synthetic_bars(rows: int, symbols: int, seed: int = 7) -> pl.DataFrame:
    """Return ``rows`` SYNTHETIC one-minute random-walk OHLCV bars spread over ``symbols``."""
    rng = np.random.default_rng(seed)
    per_symbol = -(-rows // symbols)
    returns = rng.normal(0.0, 0.001, (symbols, per_symbol))
    close = 50.0 * np.exp(np.cumsum(returns, axis=1)) * rng.uniform(0.5, 4.0, (symbols, 1))
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    spread = np.abs(rng.normal(0.0, 0.0008, (symbols, per_symbol)))
    high = np.maximum(open_, close) * (1.0 + spread)
    low = np.minimum(open_, close) * (1.0 - spread)
    volume = rng.integers(100, 50_000, (symbols, per_symbol)).astype(float)
    start = np.datetime64(datetime(2023, 12, 31, 12, 0), "us")
    minutes = start + np.arange(per_symbol) * np.timedelta64(60_000_000, "us")
    names = [f"SYN{n:04d}" for n in range(symbols)]
    frame = pl.DataFrame(
        {
            "symbol": np.repeat(names, per_symbol),
            "interval": "1m",
            "ts": np.tile(minutes, symbols),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    return frame.head(rows)


def csv_text(frame: pl.DataFrame) -> bytes:
    """Return the frame as the CSV text the store streams (same options as the store)."""
    buffer = io.BytesIO()
    writable(frame).write_csv(
        buffer,
        include_header=False,
        datetime_format="%Y-%m-%d %H:%M:%S%.6f+00",
        null_value="",
        quote_style="necessary",
    )
    return buffer.getvalue()


def schema_url(url: str, schema: str) -> str:
    """Return ``url`` with its search_path set to ``schema``."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def throwaway_schemas(url: str, count: int) -> Iterator[list[str]]:
    """Create ``count`` empty schemas and drop them afterwards."""
    names = [f"qd_bench_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    with psycopg.connect(url, autocommit=True) as con:
        for name in names:
            con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield names
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            for name in names:
                con.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


def settle(url: str) -> None:
    """Flush dirty buffers so one case's checkpoint debt does not land on the next."""
    with psycopg.connect(url, autocommit=True) as con, suppress(psycopg.Error):
        con.execute("CHECKPOINT")


def timed(action: Callable[[], object]) -> float:
    """Run ``action`` once and return the seconds it took."""
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def raw_copy(url: str, schema: str, ddl: list[str], payload: bytes) -> float:
    """Create the table(s) in ``ddl``, then COPY ``payload`` into ``bars_raw``; return seconds.

    Only the COPY and its commit are timed, like the store's write minus quantdesk's work.
    """
    with psycopg.connect(schema_url(url, schema)) as con:
        con.execute("SET TimeZone TO 'UTC'")
        for statement in ddl:
            con.execute(sql.SQL(statement))
        con.commit()
        columns = sql.SQL(", ").join(map(sql.Identifier, BAR_COLUMNS))
        statement = sql.SQL("COPY bars_raw ({}) FROM STDIN (FORMAT csv)").format(columns)
        began = time.perf_counter()
        with con.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(payload)
        con.commit()
        return time.perf_counter() - began


PARTITIONED_DDL = [
    f"CREATE TABLE bars_raw ({COLUMNS_DDL}{KEY_DDL}) PARTITION BY RANGE (ts)",
    "CREATE TABLE bars_raw_default PARTITION OF bars_raw DEFAULT",
    "CREATE TABLE bars_raw_2023 PARTITION OF bars_raw "
    "FOR VALUES FROM ('2023-01-01+00') TO ('2024-01-01+00')",
    "CREATE TABLE bars_raw_2024 PARTITION OF bars_raw "
    "FOR VALUES FROM ('2024-01-01+00') TO ('2025-01-01+00')",
]


def one_round(url: str, frame: pl.DataFrame, payload: bytes) -> tuple[dict[str, float], int]:
    """Time every case once, in fresh schemas; return the timings and the bars the store holds."""
    changed = frame.with_columns(pl.col("close") * 1.001, pl.col("volume") + 1.0)
    seconds: dict[str, float] = {"csv": timed(lambda: csv_text(frame))}
    with throwaway_schemas(url, 4) as (store_schema, plain, partitioned, unlogged):
        settle(url)
        seconds["c"] = raw_copy(
            url, plain, [f"CREATE TABLE bars_raw ({COLUMNS_DDL}{KEY_DDL})"], payload
        )
        store = PostgresBarStore(schema_url(url, store_schema))
        try:
            store.migrate()
            for case, batch in (("a", frame), ("b", frame), ("b'", changed)):
                settle(url)
                seconds[case] = timed(lambda batch=batch: store.write_bars(batch))
            stored = sum(summary.bar_count for summary in store.list_symbols())
        finally:
            store.close()
        settle(url)
        seconds["c'"] = raw_copy(url, partitioned, PARTITIONED_DDL, payload)
        settle(url)
        seconds["d"] = raw_copy(
            url, unlogged, [f"CREATE UNLOGGED TABLE bars_raw ({COLUMNS_DDL})"], payload
        )
    return seconds, stored


def report(header: list[str], rows: int, rounds: list[dict[str, float]]) -> float:
    """Print the results table and return the fresh write's share of raw COPY throughput."""
    best = {case: min(r[case] for r in rounds) for case in CASES}
    median = {case: statistics.median(r[case] for r in rounds) for case in CASES}
    titles = ("case", "rows", "best s", "median s", "rows/s (best)", "vs raw COPY")
    lines = [
        (
            label,
            f"{rows:,}",
            f"{best[case]:.2f}",
            f"{median[case]:.2f}",
            f"{rows / best[case]:,.0f}",
            f"{best['c'] / best[case]:.0%}",
        )
        for case, label in CASES.items()
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print("\n".join(header))
        widths = [max(len(row[i]) for row in [titles, *lines]) for i in range(len(titles))]
        for row in [titles, *lines]:
            cells = zip(row, widths, strict=True)
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells)))
    else:
        console = Console(width=120)
        for line in header:
            console.print(line)
        table = Table(*titles)
        for row in lines:
            table.add_row(*row)
        console.print(table)
    return best["c"] / best["a"]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=None)
    args = parser.parse_args(argv)
    url = (
        args.url
        or os.environ.get("QUANTDESK_BENCH_POSTGRES_URL")
        or os.environ.get("QUANTDESK_TEST_POSTGRES_URL")
        or DEFAULT_URL
    ).replace("postgresql+psycopg://", "postgresql://")

    frame = synthetic_bars(args.rows, args.symbols)
    payload = csv_text(frame)
    with psycopg.connect(url) as con:
        version = con.execute("SHOW server_version").fetchone()
    rounds: list[dict[str, float]] = []
    stored: list[int] = []
    for _ in range(max(args.repeat, 1)):
        seconds, count = one_round(url, frame, payload)
        rounds.append(seconds)
        stored.append(count)
    header = [
        f"SYNTHETIC DATA: {frame.height:,} random-walk one-minute OHLCV bars over "
        f"{args.symbols} symbols ({len(payload) / 1e6:.0f} MB of CSV), {len(rounds)} round(s)",
        f"PostgreSQL {version[0] if version else '?'} at {url.split('@')[-1]}",
        f"store check: {sorted(set(stored))} bars stored after each round "
        f"(expected [{frame.height}])",
    ]
    ratio = report(header, frame.height, rounds)
    verdict = "met" if ratio >= 0.7 else "NOT met"
    print(
        f"target: fresh store write >= 70% of raw COPY throughput (best of each) -> {ratio:.0%} "
        f"({verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
