"""Stooq CSV-download adapter against recorded responses (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import quantdesk.data.providers.stooq as stooq_package
from quantdesk.core.errors import ProviderError, RateLimited
from quantdesk.data.ports import BarBatch, FetchRequest, MarketDataProvider
from quantdesk.data.providers.stooq import StooqProvider
from quantdesk.data.providers.stooq.parse import parse_csv, stooq_symbol
from quantdesk.data.validation import validate_batch
from quantdesk.domain import AssetClass, Interval

BASE = "https://stooq.example.test"
FIXTURES = Path(__file__).parents[3] / "fixtures" / "http" / "stooq"
DOWNLOAD = "/q/d/l/"

SESSIONS = [
    datetime(2013, 1, day, tzinfo=UTC)
    for day in (2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 22, 23)
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def provider(sleeps: list[float] | None = None, **options: Any) -> StooqProvider:
    recorder: list[float] = [] if sleeps is None else sleeps
    return StooqProvider(base_url=BASE, sleep=recorder.append, **options)


def fetch_one(stooq: StooqProvider, symbol: str = "AAPL", **request: Any) -> BarBatch:
    batches = list(stooq.fetch(FetchRequest(symbols=(symbol,), **request)))
    assert len(batches) == 1
    return batches[0]


def serve(router: respx.MockRouter, body: bytes, status: int = 200) -> respx.Route:
    return router.get(DOWNLOAD).mock(return_value=httpx.Response(status, content=body))


def test_public_surface() -> None:
    assert stooq_package.__all__ == ["StooqProvider"]
    assert isinstance(provider(), MarketDataProvider)
    assert StooqProvider.name == "stooq"


def test_daily_csv_is_parsed_under_the_requested_symbol(router: respx.MockRouter) -> None:
    route = serve(router, fixture("aapl_us_d.csv"))

    batch = fetch_one(provider(), symbol="AAPL")

    assert dict(route.calls.last.request.url.params) == {"s": "aapl.us", "i": "d"}
    bars = batch.bars
    assert batch.source == "stooq:AAPL"
    assert bars.get_column("symbol").unique().to_list() == ["AAPL"]
    assert bars.get_column("interval").unique().to_list() == ["1d"]
    assert bars.get_column("ts").to_list() == SESSIONS
    assert bars.get_column("row").to_list() == list(range(1, 16))
    first = bars.row(0, named=True)
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (
        553.82,
        555.0,
        541.63,
        549.03,
        20018500.0,
    )
    last = bars.row(-1, named=True)
    assert (last["open"], last["close"], last["volume"]) == (508.81, 514.005, 30768200.0)


def test_instrument(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_us_d.csv"))

    (instrument,) = fetch_one(provider()).instruments

    assert instrument.symbol == "AAPL"
    assert instrument.currency == "USD"
    assert instrument.exchange == "US"
    assert instrument.asset_class is AssetClass.EQUITY
    assert instrument.source == "stooq"
    assert instrument.synthetic is False


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("AAPL", "aapl.us"),
        ("aapl.us", "aapl.us"),
        ("BRK-B", "brk-b.us"),
        ("VOD.UK", "vod.uk"),
        ("^SPX", "^spx"),
    ],
)
def test_symbol_spelling(symbol: str, expected: str) -> None:
    assert stooq_symbol(symbol) == expected


def test_suffixed_symbol_is_requested_as_given(router: respx.MockRouter) -> None:
    route = serve(router, fixture("aapl_us_d.csv"))

    batch = fetch_one(provider(), symbol="aapl.us")

    assert route.calls.last.request.url.params["s"] == "aapl.us"
    assert batch.bars.get_column("symbol").unique().to_list() == ["AAPL.US"]


def test_weekly_bars_are_stamped_on_monday(router: respx.MockRouter) -> None:
    route = serve(router, fixture("aapl_us_w.csv"))

    bars = fetch_one(provider(), interval=Interval.W1).bars

    assert route.calls.last.request.url.params["i"] == "w"
    # Stooq labels weeks 2013-01-04, -11, -18 and -25 (Fridays); bars start on Mondays
    assert bars.get_column("ts").to_list() == [
        datetime(2012, 12, 31, tzinfo=UTC),
        datetime(2013, 1, 7, tzinfo=UTC),
        datetime(2013, 1, 14, tzinfo=UTC),
        datetime(2013, 1, 21, tzinfo=UTC),
    ]
    first = bars.row(0, named=True)
    # week of 2012-12-31: open of the 31st, high of the 2nd, low of the 31st, close of the 4th,
    # volume 23553300 + 20018500 + 12605900 + 21226200
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        510.53,
        555.0,
        509.0,
        527.0,
    )
    assert first["volume"] == 77403900.0
    assert validate_batch(BarBatch(source="stooq", bars=bars)).issues == ()


def test_monthly_is_requested_as_m(router: respx.MockRouter) -> None:
    route = serve(router, b"Date,Open,High,Low,Close,Volume\n2013-01-31,1,2,0.5,1.5,10\n")

    bars = fetch_one(provider(), interval=Interval.MO1).bars

    assert route.calls.last.request.url.params["i"] == "m"
    assert bars.get_column("ts").to_list() == [datetime(2013, 1, 1, tzinfo=UTC)]


def test_intraday_is_refused() -> None:
    with pytest.raises(ValueError, match="serves 1d, 1w, 1mo bars, not 5m"):
        fetch_one(provider(), interval=Interval.M5)


def test_result_passes_validation(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_us_d.csv"))

    report = validate_batch(fetch_one(provider()))

    assert report.issues == ()
    assert report.valid.height == 15


def test_date_range_is_half_open(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_us_d.csv"))

    bars = fetch_one(
        provider(),
        start=datetime(2013, 1, 4, tzinfo=UTC),
        end=datetime(2013, 1, 9, tzinfo=UTC),
    ).bars

    assert bars.get_column("ts").to_list() == SESSIONS[2:5]  # 4th, 7th, 8th
    assert bars.get_column("row").to_list() == [3, 4, 5]


def test_no_data_is_a_non_retryable_error(router: respx.MockRouter) -> None:
    route = serve(router, fixture("no_data.txt"))
    sleeps: list[float] = []

    with pytest.raises(ProviderError) as caught:
        fetch_one(provider(sleeps), symbol="ZZZZ")

    error = caught.value
    assert not isinstance(error, RateLimited)
    assert error.retryable is False
    assert "ZZZZ" in str(error)
    assert "'zzzz.us'" in str(error)
    assert "check the symbol" in str(error)
    assert route.call_count == 1
    assert sleeps == []


def test_daily_hits_limit_is_a_rate_limit(router: respx.MockRouter) -> None:
    route = serve(router, fixture("daily_limit.txt"))
    sleeps: list[float] = []

    with pytest.raises(RateLimited) as caught:
        fetch_one(provider(sleeps))

    assert caught.value.retryable is True
    assert "daily download limit" in str(caught.value)
    assert "AAPL" in str(caught.value)
    assert route.call_count == 1  # waiting seconds cannot lift a daily limit
    assert sleeps == []


def test_server_errors_are_retried(router: respx.MockRouter) -> None:
    route = router.get(DOWNLOAD).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(502),
            httpx.Response(200, content=fixture("aapl_us_d.csv")),
        ]
    )
    sleeps: list[float] = []

    assert fetch_one(provider(sleeps, backoff=1.0)).bars.height == 15
    assert route.call_count == 3
    assert sleeps == [1.0, 2.0]


def test_html_instead_of_csv_is_reported(router: respx.MockRouter) -> None:
    serve(router, b"<html><body>Service unavailable</body></html>")

    with pytest.raises(ProviderError, match="expected a Date,Open,High,Low,Close,Volume CSV"):
        fetch_one(provider())


def test_index_without_volume_column() -> None:
    # S&P 500 closing levels of the first two sessions of 2013
    body = (
        b"Date,Open,High,Low,Close\n"
        b"2013-01-02,1426.19,1462.43,1426.19,1462.42\n"
        b"2013-01-03,1462.42,1465.47,1455.53,1459.37\n"
    )

    bars, instrument = parse_csv(body, symbol="^SPX", remote_symbol="^spx", interval=Interval.D1)

    assert bars.get_column("close").to_list() == [1462.42, 1459.37]
    assert bars.get_column("volume").to_list() == [None, None]
    assert instrument.asset_class is AssetClass.INDEX
    assert instrument.currency == "XXX"  # Stooq does not say; unknown rather than guessed
    assert validate_batch(BarBatch(source="stooq", bars=bars)).issues == ()


def test_request_without_symbols_is_refused() -> None:
    with pytest.raises(ValueError, match="needs at least one symbol"):
        list(provider().fetch(FetchRequest(symbols=())))
