"""PostgreSQL-specific behaviour of PostgresBarStore: layout, write paths, connection errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import psycopg
import pytest
from psycopg import sql

from quantdesk.core.errors import ConfigError, StorageError
from quantdesk.data.frames import BAR_SCHEMA
from quantdesk.data.storage import postgres
from quantdesk.data.storage.postgres import PostgresBarStore
from quantdesk.domain import Interval

pytestmark = pytest.mark.postgres

T0 = datetime(2024, 5, 6, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def store(postgres_schema: str) -> Iterator[PostgresBarStore]:
    """Return a migrated store in a throw-away schema."""
    adapter = PostgresBarStore(postgres_schema)
    adapter.migrate()
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture
def admin(postgres_schema: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Return a plain connection to the test schema, for looking behind the store."""
    with psycopg.connect(postgres_schema, autocommit=True) as con:
        yield con


def bars(symbol: str, stamps: list[datetime], close: float) -> pl.DataFrame:
    """Return close-and-volume bars of ``symbol`` at ``stamps``, all closing at ``close``."""
    count = len(stamps)
    return pl.DataFrame(
        {
            "symbol": [symbol] * count,
            "interval": ["1m"] * count,
            "ts": stamps,
            "close": [close] * count,
            "volume": [1.0] * count,
        }
    ).cast({"ts": BAR_SCHEMA["ts"]})


def closes(store: PostgresBarStore, symbol: str) -> dict[datetime, float]:
    """Return the stored closes of ``symbol`` by timestamp."""
    data = store.read_bars(symbol, Interval.M1)
    return dict(zip(data.get_column("ts").to_list(), data.get_column("close"), strict=True))


def is_hypertable(con: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Return whether ``bars`` is a TimescaleDB hypertable."""
    row = con.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('bars')").fetchone()
    return row is not None and row[0] != "p"


def test_partitions_follow_the_years_written(
    store: PostgresBarStore, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    stamps = [datetime(2019, 7, 1, tzinfo=UTC), datetime(2021, 12, 31, 23, 59, tzinfo=UTC)]
    store.write_bars(bars("AAA", [*stamps, datetime(2024, 1, 1, tzinfo=UTC)], 1.0))
    store.write_bars(bars("BBB", [datetime(2021, 1, 1, tzinfo=UTC)], 1.0))

    if is_hypertable(admin):
        chunks = admin.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'bars'"
        ).fetchone()
        assert chunks is not None
        assert chunks[0] >= 3
        return
    children = admin.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('bars') "
        "ORDER BY 1"
    ).fetchall()
    assert [name for name, _ in children] == [
        "bars_default",
        "bars_y2019",
        "bars_y2021",
        "bars_y2024",
    ]
    bounds = dict(children)
    assert bounds["bars_default"] == "DEFAULT"
    assert "2021-01-01 00:00:00+00" in str(bounds["bars_y2021"])
    assert "2022-01-01 00:00:00+00" in str(bounds["bars_y2021"])
    per_partition = admin.execute(
        "SELECT tableoid::regclass::text, count(*) FROM bars GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert per_partition == [("bars_y2019", 1), ("bars_y2021", 2), ("bars_y2024", 1)]


def test_migrate_twice_is_harmless(
    store: PostgresBarStore, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    store.write_bars(bars("AAA", [T0, T0 + MINUTE], 1.0))

    store.migrate()
    second = PostgresBarStore(store_url(admin))
    second.migrate()
    second.close()

    assert closes(store, "AAA") == {T0: 1.0, T0 + MINUTE: 1.0}
    assert admin.execute("SELECT key, value FROM store_meta").fetchall() == [
        ("schema_version", "1")
    ]
    [summary] = store.list_symbols()
    assert summary.bar_count == 2
    store.write_bars(bars("AAA", [datetime(2030, 1, 1, tzinfo=UTC)], 2.0))
    assert len(closes(store, "AAA")) == 3


def store_url(con: psycopg.Connection[tuple[object, ...]]) -> str:
    """Return a SQLAlchemy-style URL pointing at the connection's schema."""
    schema = con.execute("SELECT current_schema()").fetchone()
    assert schema is not None
    info = con.info
    return (
        f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{info.dbname}"
        f"?options=-csearch_path%3D{schema[0]}"
    )


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the table each COPY of a write targets."""
    targets: list[str] = []
    original = postgres._copy_in

    def spy(
        con: psycopg.Connection[tuple[object, ...]], table: sql.Identifier, payload: memoryview
    ) -> None:
        targets.append(table.as_string(con))
        original(con, table, payload)

    monkeypatch.setattr(postgres, "_copy_in", spy)
    return targets


def test_fresh_data_is_copied_straight_into_bars(
    store: PostgresBarStore, copies: list[str]
) -> None:
    store.write_bars(bars("AAA", [T0 + i * MINUTE for i in range(3)], 1.0))
    store.write_bars(bars("AAA", [T0 + i * MINUTE for i in range(3, 5)], 2.0))

    assert copies == ['"bars"', '"bars"']
    assert closes(store, "AAA") == {T0 + i * MINUTE: 1.0 if i < 3 else 2.0 for i in range(5)}
    [summary] = store.list_symbols()
    assert (summary.bar_count, summary.first_ts, summary.last_ts) == (5, T0, T0 + 4 * MINUTE)


def test_overlapping_data_goes_through_staging(store: PostgresBarStore, copies: list[str]) -> None:
    store.write_bars(bars("AAA", [T0 + i * MINUTE for i in range(3)], 1.0))
    store.write_bars(bars("AAA", [T0 + i * MINUTE for i in range(2, 6)], 2.0))

    assert copies == ['"bars"', '"bars_incoming"']
    assert closes(store, "AAA") == {T0 + i * MINUTE: 1.0 if i < 2 else 2.0 for i in range(6)}
    [summary] = store.list_symbols()
    assert (summary.bar_count, summary.first_ts, summary.last_ts) == (6, T0, T0 + 5 * MINUTE)


def test_a_conflict_the_catalogue_missed_falls_back_to_upsert(
    store: PostgresBarStore, admin: psycopg.Connection[tuple[object, ...]], copies: list[str]
) -> None:
    # A row written behind the store's back: the catalogue does not know it, so the write
    # starts on the fast path, hits the duplicate key and must roll back to its savepoint.
    admin.execute(
        "INSERT INTO bars (symbol, interval, ts, close) VALUES ('AAA', '1m', %s, 99.0)",
        [T0 + MINUTE],
    )

    store.write_bars(bars("AAA", [T0 + i * MINUTE for i in range(3)], 1.0))

    assert copies == ['"bars"', '"bars_incoming"']
    assert closes(store, "AAA") == {T0 + i * MINUTE: 1.0 for i in range(3)}
    [summary] = store.list_symbols()
    assert (summary.bar_count, summary.first_ts, summary.last_ts) == (3, T0, T0 + 2 * MINUTE)


def test_concurrent_writers_keep_the_catalogue_exact(postgres_schema: str) -> None:
    adapter = PostgresBarStore(postgres_schema, min_size=0, max_size=4)
    adapter.migrate()
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for round_ in range(5):
                start = offset * 7 + round_ * 3
                stamps = [T0 + (start + i) * MINUTE for i in range(10)]
                adapter.write_bars(bars("AAA", stamps, float(offset)))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    try:
        assert errors == []
        stored = adapter.read_bars("AAA", Interval.M1).get_column("ts").to_list()
        [summary] = adapter.list_symbols()
        assert (summary.bar_count, summary.first_ts, summary.last_ts) == (
            len(stored),
            min(stored),
            max(stored),
        )
    finally:
        adapter.close()


def test_sqlalchemy_style_urls_are_accepted(
    store: PostgresBarStore, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    store.write_bars(bars("AAA", [T0], 3.0))
    other = PostgresBarStore(store_url(admin), min_size=0)
    try:
        assert closes(other, "AAA") == {T0: 3.0}
    finally:
        other.close()


def test_an_unreachable_server_is_a_retryable_storage_error() -> None:
    url = "postgresql://quant:s3cr3t-pw@127.0.0.1:1/market?connect_timeout=2"

    with pytest.raises(StorageError) as caught:
        PostgresBarStore(url)

    assert caught.value.retryable is True
    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "PostgreSQL is running" in message
    assert "quant@127.0.0.1:1/market" in message


def test_a_store_opened_lazily_reports_the_failure_on_use() -> None:
    adapter = PostgresBarStore("postgresql://quant:pw@127.0.0.1:1/market", min_size=0)

    with pytest.raises(StorageError) as caught:
        adapter.ping()

    assert caught.value.retryable is True
    adapter.close()


def test_a_non_postgres_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a PostgreSQL URL"):
        PostgresBarStore("mysql://root@localhost/market")


def test_ping_before_migrate_and_after_close(postgres_schema: str) -> None:
    adapter = PostgresBarStore(postgres_schema)
    with pytest.raises(StorageError, match="not ready"):
        adapter.ping()
    with pytest.raises(StorageError, match="migrate"):
        adapter.write_bars(bars("AAA", [T0], 1.0))
    adapter.migrate()
    adapter.ping()
    adapter.close()

    with pytest.raises(StorageError, match="closed"):
        adapter.ping()
