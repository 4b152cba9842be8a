"""The BarStore contract, run against every adapter.

Expected values come from hand-worked examples written here, from pandas ``resample`` (for
resampling) or from a plain dict merge (the hypothesis property), never from a store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from quantdesk.core.errors import StorageError
from quantdesk.data.frames import BAR_COLUMNS, BAR_SCHEMA
from quantdesk.data.ports import BarStore
from quantdesk.data.storage.duckdb import DuckDBBarStore
from quantdesk.domain import Interval

Row = tuple[str, str, datetime, float | None, float | None, float | None, float, float | None]

T0 = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)  # a Monday
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BarStore]:
    """Return a migrated, empty store of each adapter."""
    if request.param == "duckdb":
        adapter: BarStore = DuckDBBarStore(tmp_path / "bars.duckdb")
    else:
        from quantdesk.data.storage.postgres import PostgresBarStore

        adapter = PostgresBarStore(request.getfixturevalue("postgres_schema"))
    adapter.migrate()
    try:
        yield adapter
    finally:
        adapter.close()


def frame(rows: Sequence[Row]) -> pl.DataFrame:
    """Return a bar frame holding ``rows`` (symbol, interval, ts, open, high, low, close, vol)."""
    return pl.DataFrame(
        [dict(zip(BAR_COLUMNS, row, strict=True)) for row in rows], schema=BAR_SCHEMA
    )


def bar(symbol: str, ts: datetime, close: float, interval: str = "1m", volume: float = 1.0) -> Row:
    """Return a full OHLCV row whose open/high/low are derived from ``close``."""
    return (symbol, interval, ts, close - 0.5, close + 1.0, close - 1.0, close, volume)


def rows_of(data: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Return the frame's rows as tuples."""
    return data.rows()


# --- round trip and upsert -------------------------------------------------------------------


def test_round_trip_keeps_values_dtypes_and_utc(store: BarStore) -> None:
    paris = timezone(timedelta(hours=1))
    incoming = pl.DataFrame(
        {
            "symbol": ["AAPL", "AAPL", "AAPL"],
            "interval": ["1m", "1m", "1m"],
            # Given at UTC+01:00: 10:30 there is 09:30 UTC.
            "ts": [(T0 + i * MINUTE).astimezone(paris) for i in range(3)],
            "open": [10.0, None, 10.25],
            "high": [10.5, None, 10.75],
            "low": [9.5, None, 10.125],
            "close": [10.1, 10.2, 0.1 + 0.2],
            "volume": [100.0, None, 0.0],
        }
    )
    result = store.write_bars(incoming)
    assert (result.rows, result.symbols) == (3, ("AAPL",))

    stored = store.read_bars("AAPL", Interval.M1)

    assert stored.schema == pl.Schema(BAR_SCHEMA)
    assert stored.schema["ts"] == pl.Datetime("us", "UTC")
    assert rows_of(stored) == [
        ("AAPL", "1m", T0, 10.0, 10.5, 9.5, 10.1, 100.0),
        ("AAPL", "1m", T0 + MINUTE, None, None, None, 10.2, None),
        ("AAPL", "1m", T0 + 2 * MINUTE, 10.25, 10.75, 10.125, 0.30000000000000004, 0.0),
    ]


def test_naive_timestamps_are_taken_as_utc(store: BarStore) -> None:
    naive = T0.replace(tzinfo=None)
    store.write_bars(
        pl.DataFrame({"symbol": ["X"], "interval": ["1d"], "ts": [naive], "close": [5.0]})
    )

    stored = store.read_bars("X", Interval.D1, start=naive, end=naive + MINUTE)

    assert rows_of(stored) == [("X", "1d", T0, None, None, None, 5.0, None)]


def test_rewriting_never_duplicates_and_last_write_wins(store: BarStore) -> None:
    first = [bar("AAA", T0 + i * MINUTE, 100.0 + i) for i in range(5)]
    store.write_bars(frame(first))
    store.write_bars(frame(first))
    assert store.read_bars("AAA", Interval.M1).height == 5

    updated = [bar("AAA", T0 + i * MINUTE, 200.0 + i, volume=7.0) for i in (3, 4, 5, 6)]
    store.write_bars(frame(updated))

    stored = store.read_bars("AAA", Interval.M1)
    assert stored.get_column("close").to_list() == [100.0, 101.0, 102.0, 203.0, 204.0, 205.0, 206.0]
    assert stored.get_column("volume").to_list() == [1.0, 1.0, 1.0, 7.0, 7.0, 7.0, 7.0]
    [summary] = store.list_symbols()
    assert (summary.bar_count, summary.first_ts, summary.last_ts) == (7, T0, T0 + 6 * MINUTE)


def test_an_empty_frame_writes_nothing(store: BarStore) -> None:
    assert store.write_bars(frame([])).rows == 0
    assert store.list_symbols() == []


# --- range reads -----------------------------------------------------------------------------


def test_ranges_are_half_open(store: BarStore) -> None:
    store.write_bars(frame([bar("AAA", T0 + i * MINUTE, 1.0 + i) for i in range(5)]))

    inside = store.read_bars("AAA", Interval.M1, start=T0 + MINUTE, end=T0 + 3 * MINUTE)
    assert inside.get_column("ts").to_list() == [T0 + MINUTE, T0 + 2 * MINUTE]

    # The same bounds given in another time zone and as naive UTC select the same bars.
    plus_two = timezone(timedelta(hours=2))
    shifted = store.read_bars(
        "AAA",
        Interval.M1,
        start=(T0 + MINUTE).astimezone(plus_two),
        end=(T0 + 3 * MINUTE).replace(tzinfo=None),
    )
    assert shifted.get_column("ts").to_list() == [T0 + MINUTE, T0 + 2 * MINUTE]

    assert store.read_bars("AAA", Interval.M1, start=T0 + 4 * MINUTE).height == 1
    assert store.read_bars("AAA", Interval.M1, end=T0).height == 0
    assert store.read_bars("AAA", Interval.M1, start=T0, end=T0).height == 0


def test_reads_are_scoped_to_symbol_and_interval(store: BarStore) -> None:
    store.write_bars(frame([bar("AAA", T0, 1.0), bar("AAA", T0, 2.0, "1h"), bar("AAB", T0, 3.0)]))

    assert rows_of(store.read_bars("AAA", Interval.H1).select("close")) == [(2.0,)]
    assert store.read_bars("AA", Interval.M1).is_empty()
    assert store.read_bars("AAA", Interval.D1).schema == pl.Schema(BAR_SCHEMA)


def test_limit_and_newest_first(store: BarStore) -> None:
    store.write_bars(frame([bar("AAA", T0 + i * MINUTE, 1.0 + i) for i in range(5)]))

    def closes(**kwargs: Any) -> list[float]:
        return store.read_bars("AAA", Interval.M1, **kwargs).get_column("close").to_list()

    assert closes(limit=2) == [1.0, 2.0]
    assert closes(newest_first=True) == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert closes(limit=2, newest_first=True) == [5.0, 4.0]
    assert closes(limit=2, newest_first=True, end=T0 + 3 * MINUTE) == [3.0, 2.0]
    assert closes(limit=0) == []


# --- latest bars and the catalogue -----------------------------------------------------------


def test_latest_bars_per_symbol(store: BarStore) -> None:
    store.write_bars(
        frame(
            [bar("AAA", T0 + i * MINUTE, 10.0 + i) for i in range(4)]
            + [bar("BBB", T0 + i * MINUTE, 20.0 + i) for i in range(2)]
            + [bar("CCC", T0, 30.0)]
            + [bar("AAA", T0 + 9 * MINUTE, 99.0, interval="1h")]
        )
    )

    depth_one = store.latest_bars(["BBB", "AAA", "ZZZ"], Interval.M1)
    assert rows_of(depth_one.select("symbol", "ts", "close")) == [
        ("AAA", T0 + 3 * MINUTE, 13.0),
        ("BBB", T0 + MINUTE, 21.0),
    ]
    assert depth_one.schema == pl.Schema(BAR_SCHEMA)

    depth_two = store.latest_bars(["AAA", "BBB", "CCC", "ZZZ"], Interval.M1, depth=2)
    assert rows_of(depth_two.select("symbol", "ts", "close")) == [
        ("AAA", T0 + 3 * MINUTE, 13.0),
        ("AAA", T0 + 2 * MINUTE, 12.0),
        ("BBB", T0 + MINUTE, 21.0),
        ("BBB", T0, 20.0),
        ("CCC", T0, 30.0),
    ]
    assert store.latest_bars(["ZZZ"], Interval.M1).is_empty()


def test_list_symbols_reports_counts_and_span(store: BarStore) -> None:
    store.write_bars(
        frame(
            [bar("MSFT", T0 + i * MINUTE, 1.0) for i in range(3)]
            + [bar("MSFT", T0 - timedelta(days=2), 1.0, interval="1d")]
            + [bar("AMZN", T0 + 5 * MINUTE, 1.0)]
            + [bar("BRK.B", T0, 1.0)]
        )
    )

    listed = [
        (s.symbol, s.interval, s.bar_count, s.first_ts, s.last_ts) for s in store.list_symbols()
    ]
    # Ordered by symbol, then interval name ("1d" sorts before "1m").
    assert listed == [
        ("AMZN", Interval.M1, 1, T0 + 5 * MINUTE, T0 + 5 * MINUTE),
        ("BRK.B", Interval.M1, 1, T0, T0),
        ("MSFT", Interval.D1, 1, T0 - timedelta(days=2), T0 - timedelta(days=2)),
        ("MSFT", Interval.M1, 3, T0, T0 + 2 * MINUTE),
    ]
    assert all(s.first_ts.tzinfo is not None for s in store.list_symbols())
    assert [s.symbol for s in store.list_symbols("ms")] == ["MSFT", "MSFT"]
    assert [s.symbol for s in store.list_symbols("m", Interval.M1)] == ["AMZN", "MSFT"]
    assert [s.symbol for s in store.list_symbols("k.b")] == ["BRK.B"]
    assert store.list_symbols("%") == []
    assert [s.interval for s in store.list_symbols(interval=Interval.D1)] == [Interval.D1]


# --- resampling ------------------------------------------------------------------------------


def test_resample_hand_worked_example(store: BarStore) -> None:
    # Six 1m bars from 09:58 to 10:04 (10:02 is missing) fall into the 5m buckets starting at
    # 09:55 (two bars) and 10:00 (four bars).
    rows = [
        ("S", "1m", T0 + timedelta(minutes=28), 1.0, 2.0, 0.5, 1.5, 10.0),  # 09:58
        ("S", "1m", T0 + timedelta(minutes=29), 1.5, 3.0, 1.0, 2.5, 20.0),  # 09:59
        ("S", "1m", T0 + timedelta(minutes=30), 2.5, 2.6, 2.4, 2.5, 5.0),  # 10:00
        ("S", "1m", T0 + timedelta(minutes=31), 2.5, 9.0, 2.0, 3.0, None),  # 10:01
        ("S", "1m", T0 + timedelta(minutes=33), 3.0, 3.5, 0.25, 3.25, 1.0),  # 10:03
        ("S", "1m", T0 + timedelta(minutes=34), 3.25, 4.0, 3.0, 3.75, 2.0),  # 10:04
    ]
    store.write_bars(frame(rows))

    resampled = store.read_bars("S", Interval.M1, resample_to=Interval.M5)

    assert rows_of(resampled) == [
        ("S", "5m", T0 + timedelta(minutes=25), 1.0, 3.0, 0.5, 2.5, 30.0),
        ("S", "5m", T0 + timedelta(minutes=30), 2.5, 9.0, 0.25, 3.75, 8.0),
    ]
    # Filtering happens before bucketing: a range starting at 10:01 leaves a partial bucket.
    partial = store.read_bars(
        "S", Interval.M1, start=T0 + timedelta(minutes=31), resample_to=Interval.M5
    )
    assert rows_of(partial) == [("S", "5m", T0 + timedelta(minutes=30), 2.5, 9.0, 0.25, 3.75, 3.0)]
    newest = store.read_bars("S", Interval.M1, resample_to=Interval.M5, newest_first=True, limit=1)
    assert newest.get_column("ts").to_list() == [T0 + timedelta(minutes=30)]
    # Resampling to the stored interval is a plain read.
    assert store.read_bars("S", Interval.M1, resample_to=Interval.M1).height == len(rows)


def _random_bars(
    symbol: str, interval: str, start: datetime, step: timedelta, count: int, seed: int
) -> pl.DataFrame:
    """Return a random walk with gaps, a few close-only bars and a few missing volumes."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    open_ = close * np.exp(rng.normal(0.0, 0.005, count))
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, count))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, count))
    volume = rng.integers(0, 10_000, count).astype(float)
    close_only = rng.uniform(size=count) < 0.05
    no_volume = rng.uniform(size=count) < 0.05
    keep = rng.uniform(size=count) < 0.8
    data = pl.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "ts": pl.datetime_range(
                start, start + step * (count - 1), step, time_zone="UTC", eager=True
            ),
            "open": np.where(close_only, np.nan, open_),
            "high": np.where(close_only, np.nan, high),
            "low": np.where(close_only, np.nan, low),
            "close": close,
            "volume": np.where(no_volume, np.nan, volume),
        }
    ).fill_nan(None)
    return data.filter(pl.Series(keep)).cast(BAR_SCHEMA)


def _pandas_resample(bars: pl.DataFrame, rule: str, interval: str) -> pl.DataFrame:
    """Return the reference OHLCV resample computed by pandas."""
    indexed = bars.to_pandas().set_index("ts")
    grouped = indexed.resample(rule, closed="left", label="left")
    expected = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(min_count=1),
            "count": grouped["close"].count(),
        }
    )
    expected = expected[expected["count"] > 0].drop(columns="count").reset_index()
    result = pl.from_pandas(expected, nan_to_null=True)
    return result.with_columns(
        pl.lit(bars.get_column("symbol")[0]).alias("symbol"),
        pl.lit(interval).alias("interval"),
        pl.col("ts").dt.cast_time_unit("us").dt.convert_time_zone("UTC"),
    ).select(BAR_COLUMNS)


RESAMPLE_CASES = [
    # source, target, pandas rule, first stamp, step, bar count
    (Interval.M1, Interval.M5, "5min", datetime(2024, 3, 1, 13, 7, tzinfo=UTC), MINUTE, 3000),
    (Interval.M1, Interval.M15, "15min", datetime(2024, 3, 1, 13, 7, tzinfo=UTC), MINUTE, 3000),
    (Interval.M1, Interval.H1, "1h", datetime(2024, 3, 1, 13, 7, tzinfo=UTC), MINUTE, 3000),
    (Interval.H1, Interval.D1, "1D", datetime(2024, 2, 20, 5, tzinfo=UTC), timedelta(hours=1), 900),
    (Interval.D1, Interval.W1, "W-MON", datetime(2022, 11, 17, tzinfo=UTC), timedelta(days=1), 500),
    (Interval.D1, Interval.MO1, "MS", datetime(2022, 11, 17, tzinfo=UTC), timedelta(days=1), 500),
]


@pytest.mark.parametrize(
    ("source", "target", "rule", "start", "step", "count"),
    RESAMPLE_CASES,
    ids=[f"{case[0].value}-{case[1].value}" for case in RESAMPLE_CASES],
)
def test_resampling_matches_pandas(
    store: BarStore,
    source: Interval,
    target: Interval,
    rule: str,
    start: datetime,
    step: timedelta,
    count: int,
) -> None:
    bars = _random_bars("RND", source.value, start, step, count, seed=count + len(rule))
    store.write_bars(bars)

    resampled = store.read_bars("RND", source, resample_to=target)

    expected = _pandas_resample(bars, rule, target.value)
    assert expected.height > 10
    assert_frame_equal(resampled, expected, rel_tol=1e-12, abs_tol=0.0)
    if target == Interval.W1:
        assert set(resampled.get_column("ts").dt.weekday().to_list()) == {1}


def test_resampling_close_only_bars_keeps_open_high_low_null(store: BarStore) -> None:
    days = [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3, 8, 9)]
    store.write_bars(
        frame(
            [("CO", "1d", day, None, None, None, float(i + 1), None) for i, day in enumerate(days)]
        )
    )

    weekly = store.read_bars("CO", Interval.D1, resample_to=Interval.W1)

    # 2024-01-01 was a Monday.
    assert rows_of(weekly) == [
        ("CO", "1w", datetime(2024, 1, 1, tzinfo=UTC), None, None, None, 3.0, None),
        ("CO", "1w", datetime(2024, 1, 8, tzinfo=UTC), None, None, None, 5.0, None),
    ]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Interval.W1, Interval.D1),
        (Interval.H1, Interval.M15),
        (Interval.W1, Interval.MO1),
        (Interval.MO1, Interval.W1),
    ],
)
def test_impossible_resampling_is_refused(
    store: BarStore, source: Interval, target: Interval
) -> None:
    store.write_bars(frame([bar("AAA", T0, 1.0, interval=source.value)]))

    with pytest.raises(ValueError, match="cannot resample"):
        store.read_bars("AAA", source, resample_to=target)


# --- atomicity, deletion, health -------------------------------------------------------------


@pytest.mark.parametrize("overlapping", [False, True], ids=["fresh", "overlapping"])
def test_a_failing_write_leaves_the_store_unchanged(store: BarStore, overlapping: bool) -> None:
    original = [bar("AAA", T0 + i * MINUTE, 1.0 + i) for i in range(3)]
    store.write_bars(frame(original))
    before = store.read_bars("AAA", Interval.M1)
    first = 1 if overlapping else 10
    # Passed straight to the store, bypassing validation: the middle row has no close.
    broken = pl.DataFrame(
        {
            "symbol": ["AAA", "AAA", "AAA", "NEW"],
            "interval": ["1m"] * 4,
            "ts": [T0 + (first + i) * MINUTE for i in range(3)] + [T0],
            "close": [50.0, None, 52.0, 9.0],
        }
    )

    with pytest.raises(StorageError):
        store.write_bars(broken)

    assert_frame_equal(store.read_bars("AAA", Interval.M1), before)
    assert store.read_bars("NEW", Interval.M1).is_empty()
    assert [(s.symbol, s.bar_count) for s in store.list_symbols()] == [("AAA", 3)]
    store.write_bars(frame([bar("AAA", T0 + 3 * MINUTE, 4.0)]))
    assert store.read_bars("AAA", Interval.M1).height == 4


def test_delete_bars(store: BarStore) -> None:
    store.write_bars(
        frame(
            [bar("AAA", T0 + i * MINUTE, 1.0) for i in range(3)]
            + [bar("AAA", T0, 1.0, interval="1d"), bar("BBB", T0, 1.0)]
        )
    )

    assert store.delete_bars("AAA", Interval.M1) == 3
    assert store.read_bars("AAA", Interval.M1).is_empty()
    assert [(s.symbol, s.interval) for s in store.list_symbols()] == [
        ("AAA", Interval.D1),
        ("BBB", Interval.M1),
    ]
    assert store.delete_bars("AAA") == 1
    assert store.delete_bars("AAA") == 0
    assert [s.symbol for s in store.list_symbols()] == ["BBB"]
    assert store.read_bars("BBB", Interval.M1).height == 1


def test_ping_answers(store: BarStore) -> None:
    store.ping()


def test_store_satisfies_the_protocol(store: BarStore) -> None:
    assert isinstance(store, BarStore)


# --- edge cases ------------------------------------------------------------------------------


def test_repeated_keys_within_one_write_keep_the_last(store: BarStore) -> None:
    store.write_bars(
        frame([bar("AAA", T0, 1.0), bar("AAA", T0 + MINUTE, 2.0), bar("AAA", T0, 3.0)])
    )

    assert store.read_bars("AAA", Interval.M1).get_column("close").to_list() == [3.0, 2.0]
    assert [s.bar_count for s in store.list_symbols()] == [2]


def test_latest_bars_of_no_symbols_is_empty(store: BarStore) -> None:
    assert store.latest_bars([], Interval.M1).schema == pl.Schema(BAR_SCHEMA)


# --- property: the store is a dict merge of the batches --------------------------------------

UNIVERSE = ("AAA", "BBB", "CCC")
BASE = datetime(2023, 12, 31, 23, 45, tzinfo=UTC)  # batches straddle a year boundary

prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
ohl = st.one_of(st.none(), st.tuples(prices, prices, prices))
bar_rows = st.builds(
    lambda symbol, interval, minute, values, close, volume: (
        symbol,
        interval,
        BASE + minute * MINUTE,
        *(values or (None, None, None)),
        close,
        volume,
    ),
    st.sampled_from(UNIVERSE),
    st.sampled_from(["1m", "1d"]),
    st.integers(0, 30),
    ohl,
    prices,
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e12, allow_nan=False)),
)
batches = st.lists(
    st.lists(bar_rows, min_size=1, max_size=25, unique_by=lambda row: row[:3]),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches)
def test_content_is_the_last_write_wins_merge_of_all_batches(
    store: BarStore, batches: list[list[Row]]
) -> None:
    for symbol in UNIVERSE:
        store.delete_bars(symbol)
    expected: dict[tuple[str, str, datetime], Row] = {}
    for batch in batches:
        store.write_bars(frame(batch))
        expected.update({row[:3]: row for row in batch})

    stored: dict[tuple[str, str, datetime], Row] = {}
    for symbol in UNIVERSE:
        for interval in (Interval.M1, Interval.D1):
            for row in store.read_bars(symbol, interval).rows():
                stored[row[:3]] = row
    assert stored == expected

    catalogue = {(s.symbol, s.interval.value): s for s in store.list_symbols()}
    assert set(catalogue) == {key[:2] for key in expected}
    for (symbol, interval), summary in catalogue.items():
        stamps = [key[2] for key in expected if key[:2] == (symbol, interval)]
        assert (summary.bar_count, summary.first_ts, summary.last_ts) == (
            len(stamps),
            min(stamps),
            max(stamps),
        )
