"""In-process latency of ``history`` for 10 years of daily bars.

Loads 100 symbols × 2,520 SYNTHETIC random-walk daily bars into a DuckDB store and times
``MarketDataService.history(symbol, start=10 years ago)`` (2,520 bars back as a polars frame):

- cold: the series cache off, so every call is a DuckDB query;
- warm: the default store, where a series read once is served from memory;
- reference: the bare DuckDB query of the same rows fetched to Arrow, in the same run.

Usage: ``python benchmarks/bench_history.py [--calls 2000]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1e3, p99 * 1e3, statistics.fmean(ordered) * 1e3


def _time(calls: int, fn: Callable[[int], object]) -> list[float]:
    for warm in range(20):
        fn(warm)
    samples = []
    for index in range(calls):
        started = time.perf_counter()
        fn(index)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--symbols", type=int, default=100)
    args = parser.parse_args()

    from _data import random_walk_bars

    from quantdesk.data.service import MarketDataService
    from quantdesk.data.storage.duckdb import DuckDBBarStore
    from quantdesk.db import SqlInstrumentStore, make_engine, upgrade
    from quantdesk.domain import Interval
    from quantdesk.testkit import StaticProvider

    days = 2520
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/qd.db")
        upgrade(engine)
        instruments = SqlInstrumentStore(engine)
        warm_store = DuckDBBarStore(Path(tmp) / "market.duckdb")
        warm_store.migrate()
        warm = MarketDataService(warm_store, instruments)
        warm.ingest(StaticProvider([random_walk_bars(days * args.symbols, args.symbols)]))
        warm_store.close()
        cold_store = DuckDBBarStore(Path(tmp) / "market.duckdb", cache_rows=0)
        cold = MarketDataService(cold_store, instruments)
        symbols = [f"S{i:05d}" for i in range(args.symbols)]
        start = datetime(1990, 1, 1, tzinfo=UTC)
        naive_start = start.replace(tzinfo=None)

        def pick(index: int) -> str:
            return symbols[index % len(symbols)]

        connection = cold_store._cursor()  # the same DuckDB connection the store uses

        def reference(index: int) -> object:
            return connection.sql(
                "SELECT ts, open, high, low, close, volume FROM bars "
                "WHERE symbol = ? AND interval = ? AND ts >= ? ORDER BY ts",
                params=[pick(index), "1d", naive_start],
            ).to_arrow_table()

        rows = cold.history(pick(0), Interval.D1, start).bars.height
        results = {
            "raw DuckDB query to Arrow (reference)": _time(args.calls, reference),
            "history, cold (DuckDB query each call)": _time(
                args.calls, lambda i: cold.history(pick(i), Interval.D1, start)
            ),
        }
        cold_store.close()
        warm_store = DuckDBBarStore(Path(tmp) / "market.duckdb")
        warm = MarketDataService(warm_store, instruments)
        results["history, warm (series cache)"] = _time(
            args.calls, lambda i: warm.history(pick(i), Interval.D1, start)
        )
        warm_store.close()
        engine.dispose()

    print(
        f"history of {rows:,} daily bars (10 years), {args.symbols} SYNTHETIC symbols, "
        f"{args.calls:,} calls each\n"
    )
    reference_p50 = _percentiles(results["raw DuckDB query to Arrow (reference)"])[0]
    print(f"{'variant':<42} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'p50 vs ref':>11}")
    for name, samples in results.items():
        p50, p99, mean = _percentiles(samples)
        print(f"{name:<42} {p50:>8.3f} {p99:>8.3f} {mean:>8.3f} {p50 / reference_p50:>10.2f}x")


if __name__ == "__main__":
    main()
