"""The market-data service on real embedded stores (DuckDB file + SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from quantdesk.core.errors import NotFound, ValidationError
from quantdesk.data.service import MarketDataService, decode_cursor, encode_cursor, parse_time
from quantdesk.data.storage.duckdb import DuckDBBarStore
from quantdesk.db import SqlInstrumentStore, make_engine, upgrade
from quantdesk.domain import AssetClass, Instrument, Interval
from quantdesk.testkit import StaticProvider, bars_frame

D0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[MarketDataService]:
    engine = make_engine(f"sqlite:///{tmp_path / 'qd.db'}")
    upgrade(engine)
    store = DuckDBBarStore(tmp_path / "market.duckdb")
    store.migrate()
    yield MarketDataService(store, SqlInstrumentStore(engine))
    store.close()
    engine.dispose()


def _stored_count(service: MarketDataService, symbol: str) -> int:
    return sum(s.bar_count for s in service.series(symbol))


def test_ingest_writes_bars_and_default_instruments(service: MarketDataService) -> None:
    provider = StaticProvider([bars_frame("AAA", [10, 11, 12]), bars_frame("BBB", [5, 6])])
    report = service.ingest(provider)
    assert report.rows_read == 5
    assert report.rows_written == 5
    assert report.symbols == ("AAA", "BBB")
    assert service.resolve("aaa") == Instrument("AAA", "AAA", source="static")
    assert _stored_count(service, "AAA") == 3


def test_reingest_never_duplicates(service: MarketDataService) -> None:
    provider = StaticProvider([bars_frame("AAA", [10, 11, 12])])
    service.ingest(provider)
    service.ingest(provider)
    assert _stored_count(service, "AAA") == 3


def test_provider_instrument_metadata_is_kept(service: MarketDataService) -> None:
    apple = Instrument("AAA", "Triple A Corp", AssetClass.ETF, sector="Tech")
    service.ingest(StaticProvider([bars_frame("AAA", [10, 11])], instruments=[apple]))
    # A later load without metadata must not overwrite the name with the bare symbol.
    service.ingest(StaticProvider([bars_frame("AAA", [10, 11, 12])]))
    assert service.resolve("AAA") == apple


def test_one_bad_row_writes_nothing(service: MarketDataService) -> None:
    good = bars_frame("AAA", [10, 11, 12])
    bad = bars_frame("BBB", [5, 6, 7]).with_columns(
        pl.when(pl.col("ts") == D0 + timedelta(days=1))
        .then(-1.0)
        .otherwise(pl.col("volume"))
        .alias("volume")
    )
    with pytest.raises(ValidationError) as caught:
        service.ingest(StaticProvider([good, bad]))
    (issue,) = caught.value.issues
    assert issue.location == "static:1 row 2"
    assert issue.field == "volume"
    assert "negative" in issue.reason
    assert "nothing was written" in caught.value.message
    assert service.bar_store.list_symbols() == []
    with pytest.raises(NotFound):
        service.resolve("AAA")


def test_skip_invalid_keeps_good_rows(service: MarketDataService) -> None:
    frame = bars_frame("AAA", [10, 11, 12, 13]).with_columns(
        pl.when(pl.col("close") == 12).then(pl.lit(None)).otherwise(pl.col("close")).alias("close")
    )
    report = service.ingest(StaticProvider([frame]), skip_invalid=True)
    assert report.rows_written == 3
    assert report.rejected_rows == 1
    assert [i.row for i in report.issues] == [3]
    closes = service.history("AAA").bars.get_column("close").to_list()
    assert closes == [10.0, 11.0, 13.0]


def test_quote_change_from_previous_close(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [100, 102, 99])]))
    quote = service.quote("AAA")
    assert quote.price == 99.0
    assert quote.previous_close == 102.0
    assert quote.change == pytest.approx(-3.0)
    assert quote.change_pct == pytest.approx(-3 / 102 * 100)
    assert quote.ts == D0 + timedelta(days=2)
    assert quote.interval is Interval.D1
    assert quote.open == 102.0
    assert not quote.close_only


def test_quote_uses_freshest_intraday_bar_and_previous_daily_close(
    service: MarketDataService,
) -> None:
    daily = bars_frame("AAA", [100, 104], start=D0)  # 2024-01-01, 2024-01-02
    intraday = bars_frame(
        "AAA",
        [105, 106, 103],
        start=datetime(2024, 1, 3, 14, 30, tzinfo=UTC),
        step=timedelta(minutes=5),
        interval=Interval.M5,
    )
    service.ingest(StaticProvider([daily, intraday]))
    quote = service.quote("AAA")
    assert quote.interval is Interval.M5
    assert quote.price == 103.0
    assert quote.ts == datetime(2024, 1, 3, 14, 40, tzinfo=UTC)
    assert quote.previous_close == 104.0  # last daily close before 2024-01-03


def test_close_only_quote(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [1, 2], close_only=True)]))
    quote = service.quote("AAA")
    assert quote.close_only
    assert quote.open is None
    assert quote.change == 1.0


def test_quotes_reports_missing_symbols(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [11, 12])]))
    found, missing = service.quotes(["AAA", "ZZZ", "AAA"])
    assert [q.instrument.symbol for q in found] == ["AAA"]
    assert missing == ["ZZZ"]


def test_history_pages_with_cursor(service: MarketDataService) -> None:
    closes = [float(c) for c in range(11, 21)]
    service.ingest(StaticProvider([bars_frame("AAA", closes)]))
    seen: list[float] = []
    cursor = None
    pages = 0
    while True:
        page = service.history("AAA", limit=4, cursor=cursor)
        seen.extend(page.bars.get_column("close").to_list())
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == closes


def test_history_pages_newest_first(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [11, 12, 13, 14, 15])]))
    first = service.history("AAA", limit=2, newest_first=True)
    assert first.bars.get_column("close").to_list() == [15.0, 14.0]
    second = service.history("AAA", limit=2, newest_first=True, cursor=first.next_cursor)
    assert second.bars.get_column("close").to_list() == [13.0, 12.0]
    third = service.history("AAA", limit=2, newest_first=True, cursor=second.next_cursor)
    assert third.bars.get_column("close").to_list() == [11.0]
    assert third.next_cursor is None


def test_history_range_is_inclusive_of_end_date(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [11, 12, 13, 14, 15])]))
    page = service.history(
        "AAA",
        start=parse_time("2024-01-02", "start"),
        end=parse_time("2024-01-04", "end", end=True),
    )
    assert page.bars.get_column("close").to_list() == [12.0, 13.0, 14.0]


def test_history_resamples_from_the_stored_interval(service: MarketDataService) -> None:
    # 2024-01-01 is a Monday: 7 daily bars form one week, the 8th starts the next one.
    service.ingest(StaticProvider([bars_frame("AAA", [10, 12, 11, 15, 14, 13, 16, 20])]))
    page = service.history("AAA", Interval.W1)
    assert page.source_interval is Interval.D1
    weeks = page.bars.to_dicts()
    assert [w["ts"] for w in weeks] == [D0, D0 + timedelta(days=7)]
    # Week 1: open = first open (10), close = last close (16), high = max(high) = 16 + 1,
    # low = min(low) = 10 - 1, volume = 7 * 1000.
    assert (weeks[0]["open"], weeks[0]["high"], weeks[0]["low"], weeks[0]["close"]) == (
        10.0,
        17.0,
        9.0,
        16.0,
    )
    assert weeks[0]["volume"] == 7000.0
    assert weeks[1]["close"] == 20.0


def test_history_refuses_finer_interval_than_stored(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [11, 12])]))
    with pytest.raises(ValidationError) as caught:
        service.history("AAA", Interval.H1)
    assert caught.value.issues[0].location == "interval"
    assert "stored: 1d" in caught.value.issues[0].reason


def test_history_rejects_end_before_start(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [11, 12])]))
    with pytest.raises(ValidationError, match="end must be after start"):
        service.history("AAA", start=D0 + timedelta(days=2), end=D0)


def test_unknown_symbol_suggests_close_matches(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("SPX", [11, 12]), bars_frame("IXIC", [11, 12])]))
    with pytest.raises(NotFound) as caught:
        service.quote("SPY")
    assert caught.value.suggestions == ("SPX",)
    assert "Did you mean: SPX" in caught.value.message


def test_ingest_dataset_is_skipped_when_fingerprint_matches(service: MarketDataService) -> None:
    provider = StaticProvider([bars_frame("AAA", [11, 12])])
    first = service.ingest_dataset("demo", "v1", provider)
    assert not first.skipped
    assert first.rows_written == 2
    assert service.ingest_dataset("demo", "v1", provider).skipped
    assert not service.ingest_dataset("demo", "v2", provider).skipped
    assert not service.ingest_dataset("demo", "v2", provider, force=True).skipped


def test_search_returns_series(service: MarketDataService) -> None:
    service.ingest(StaticProvider([bars_frame("AAA", [11, 12, 13]), bars_frame("BBB", [11])]))
    (info,) = service.search("aa")
    assert info.instrument.symbol == "AAA"
    assert [(s.interval, s.bar_count) for s in info.series] == [(Interval.D1, 3)]


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2024-03-01", False, datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01", True, datetime(2024, 3, 2, tzinfo=UTC)),
        ("2024-03-01T14:30:00Z", True, datetime(2024, 3, 1, 14, 30, tzinfo=UTC)),
        ("2024-03-01T09:30:00-05:00", False, datetime(2024, 3, 1, 14, 30, tzinfo=UTC)),
        ("2024-03-01T14:30:00", False, datetime(2024, 3, 1, 14, 30, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, end: bool, expected: datetime) -> None:
    assert parse_time(text, "start", end=end) == expected


def test_parse_time_names_the_parameter() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_time("31/12/2024", "end")
    assert caught.value.issues[0].location == "end"
    assert "YYYY-MM-DD" in caught.value.issues[0].reason


def test_cursor_round_trip_and_garbage() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment)) == moment
    with pytest.raises(ValidationError) as caught:
        decode_cursor("not-a-cursor!!")
    assert caught.value.issues[0].location == "cursor"
