"""Alpha Vantage adapter against recorded responses (no network)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import quantdesk.data.providers.alphavantage as alphavantage_package
from quantdesk.core.errors import ConfigError, ProviderError, QuantdeskError, RateLimited
from quantdesk.data.ports import BarBatch, FetchRequest, MarketDataProvider
from quantdesk.data.providers.alphavantage import AlphaVantageProvider
from quantdesk.data.validation import validate_batch
from quantdesk.domain import AssetClass, Interval

BASE = "https://alphavantage.example.test"
FIXTURES = Path(__file__).parents[3] / "fixtures" / "http" / "alphavantage"
API_KEY = "K3Y-DO-NOT-LEAK-9F2"

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


def provider(sleeps: list[float] | None = None, **options: Any) -> AlphaVantageProvider:
    recorder: list[float] = [] if sleeps is None else sleeps
    options.setdefault("api_key", API_KEY)
    return AlphaVantageProvider(base_url=BASE, sleep=recorder.append, **options)


def fetch_one(av: AlphaVantageProvider, symbol: str = "AAPL", **request: Any) -> BarBatch:
    batches = list(av.fetch(FetchRequest(symbols=(symbol,), **request)))
    assert len(batches) == 1
    return batches[0]


def serve(router: respx.MockRouter, body: bytes, status: int = 200) -> respx.Route:
    return router.get("/query").mock(return_value=httpx.Response(status, content=body))


def test_public_surface() -> None:
    assert alphavantage_package.__all__ == ["AlphaVantageProvider"]
    assert isinstance(provider(), MarketDataProvider)
    assert AlphaVantageProvider.name == "alphavantage"


def test_daily_adjusted_request_and_parameters(router: respx.MockRouter) -> None:
    route = serve(router, fixture("aapl_daily_adjusted.json"))

    fetch_one(provider())

    assert dict(route.calls.last.request.url.params) == {
        "function": "TIME_SERIES_DAILY_ADJUSTED",
        "symbol": "AAPL",
        "outputsize": "full",
        "datatype": "json",
        "apikey": API_KEY,
    }


def test_newest_first_listing_comes_back_ascending(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_daily_adjusted.json"))

    bars = fetch_one(provider()).bars

    assert bars.get_column("ts").to_list() == SESSIONS
    # row numbers keep Alpha Vantage's own order: entry 1 is the newest (2013-01-23)
    assert bars.get_column("row").to_list() == list(range(15, 0, -1))


def test_adjustment_scales_ohlc_by_adjusted_close_over_close(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_daily_adjusted.json"))

    bars = fetch_one(provider(adjust=True)).bars

    # 2013-01-02: close 549.0300, adjusted close 71.1957 -> factor 0.12967360...
    first = bars.row(0, named=True)
    assert first["close"] == pytest.approx(71.1957, rel=1e-12)
    assert first["open"] == pytest.approx(553.82 * 71.1957 / 549.03, rel=1e-12)
    assert first["open"] == pytest.approx(71.816845298071, abs=1e-9)
    assert first["high"] == pytest.approx(71.969862302606, abs=1e-9)
    assert first["low"] == pytest.approx(70.236101835965, abs=1e-9)
    assert first["volume"] == 20018500.0  # "6. volume", not adjusted


def test_unadjusted_daily_uses_time_series_daily(router: respx.MockRouter) -> None:
    route = serve(router, fixture("aapl_daily.json"))

    batch = fetch_one(provider(adjust=False))

    assert route.calls.last.request.url.params["function"] == "TIME_SERIES_DAILY"
    first = batch.bars.row(0, named=True)
    assert first["ts"] == datetime(2013, 1, 2, tzinfo=UTC)
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        553.82,
        555.0,
        541.63,
        549.03,
    )
    assert first["volume"] == 20018500.0  # "5. volume" in this variant
    last = batch.bars.row(-1, named=True)
    assert (last["ts"], last["close"]) == (datetime(2013, 1, 23, tzinfo=UTC), 514.005)


def test_adjust_flag_leaves_unadjusted_series_alone(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_daily.json"))

    bars = fetch_one(provider(adjust=True)).bars

    assert bars.row(0, named=True)["close"] == 549.03


def test_instrument(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_daily_adjusted.json"))

    (instrument,) = fetch_one(provider()).instruments

    assert instrument.symbol == "AAPL"
    assert instrument.name == "AAPL"
    assert instrument.currency == "USD"
    assert instrument.asset_class is AssetClass.EQUITY
    assert instrument.source == "alphavantage"
    assert instrument.synthetic is False


def test_result_passes_validation(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_daily_adjusted.json"))

    report = validate_batch(fetch_one(provider()))

    assert report.issues == ()
    assert report.valid.height == 15


def test_date_range_is_half_open(router: respx.MockRouter) -> None:
    serve(router, fixture("aapl_daily_adjusted.json"))

    bars = fetch_one(
        provider(),
        start=datetime(2013, 1, 15, tzinfo=UTC),
        end=datetime(2013, 1, 22, tzinfo=UTC),
    ).bars

    assert bars.get_column("ts").to_list() == SESSIONS[9:13]  # 15th to 18th


# Hand-built document: only the timestamps matter here, and the prices do not claim to be
# real prints.
INTRADAY = b"""{
    "Meta Data": {
        "1. Information": "Intraday (5min) open, high, low, close prices and volume",
        "2. Symbol": "AAPL",
        "3. Last Refreshed": "2013-07-01 09:35:00",
        "4. Interval": "5min",
        "5. Output Size": "Full size",
        "6. Time Zone": "US/Eastern"
    },
    "Time Series (5min)": {
        "2013-07-01 09:35:00": {"1. open": "2.0", "2. high": "2.5", "3. low": "1.5",
                                "4. close": "2.0", "5. volume": "200"},
        "2013-01-02 09:35:00": {"1. open": "1.0", "2. high": "1.5", "3. low": "0.5",
                                "4. close": "1.0", "5. volume": "100"}
    }
}"""


def test_intraday_times_are_read_in_us_eastern(router: respx.MockRouter) -> None:
    route = serve(router, INTRADAY)

    bars = fetch_one(provider(), interval=Interval.M5).bars

    params = route.calls.last.request.url.params
    assert params["function"] == "TIME_SERIES_INTRADAY"
    assert params["interval"] == "5min"
    assert params["adjusted"] == "true"
    # 09:35 EST (UTC-5) in January, 09:35 EDT (UTC-4) in July
    assert bars.get_column("ts").to_list() == [
        datetime(2013, 1, 2, 14, 35, tzinfo=UTC),
        datetime(2013, 7, 1, 13, 35, tzinfo=UTC),
    ]
    assert bars.get_column("interval").to_list() == ["5m", "5m"]


def test_hourly_is_spelled_60min(router: respx.MockRouter) -> None:
    route = serve(router, INTRADAY)

    fetch_one(provider(adjust=False), interval=Interval.H1)

    assert route.calls.last.request.url.params["interval"] == "60min"
    assert route.calls.last.request.url.params["adjusted"] == "false"


def test_weekly_bars_are_refused_with_advice() -> None:
    with pytest.raises(ValueError, match="fetch 1d bars and resample"):
        fetch_one(provider(), interval=Interval.W1)


def test_invalid_call_is_a_non_retryable_error_blaming_the_symbol(
    router: respx.MockRouter,
) -> None:
    route = serve(router, fixture("error_invalid_call.json"))
    sleeps: list[float] = []

    with pytest.raises(ProviderError) as caught:
        fetch_one(provider(sleeps), symbol="ZZZZ")

    error = caught.value
    assert not isinstance(error, RateLimited)
    assert error.retryable is False
    assert "ZZZZ" in str(error)
    assert "may be wrong" in str(error)
    assert "Invalid API call" in str(error)
    assert route.call_count == 1
    assert sleeps == []


def test_note_is_a_per_minute_rate_limit(router: respx.MockRouter) -> None:
    route = serve(router, fixture("note_rate_limit.json"))

    with pytest.raises(RateLimited) as caught:
        fetch_one(provider())

    assert caught.value.retryable is True
    assert caught.value.retry_after == 60.0
    assert "AAPL" in str(caught.value)
    assert "wait a minute" in str(caught.value)
    assert route.call_count == 1


def test_information_about_the_daily_limit_is_a_rate_limit(router: respx.MockRouter) -> None:
    serve(router, fixture("information_rate_limit.json"))

    with pytest.raises(RateLimited) as caught:
        fetch_one(provider())

    assert caught.value.retryable is True
    assert caught.value.retry_after is None
    assert "25 requests per day" in str(caught.value)


def test_premium_endpoint_suggests_unadjusted_data(router: respx.MockRouter) -> None:
    serve(router, fixture("information_premium.json"))

    with pytest.raises(ProviderError) as caught:
        fetch_one(provider())

    assert not isinstance(caught.value, RateLimited)
    assert caught.value.retryable is False
    assert "premium endpoint" in str(caught.value)
    assert "adjust=False" in str(caught.value)


def test_http_429_is_retried(router: respx.MockRouter) -> None:
    route = router.get("/query").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1.5"}),
            httpx.Response(200, content=fixture("aapl_daily_adjusted.json")),
        ]
    )
    sleeps: list[float] = []

    assert fetch_one(provider(sleeps)).bars.height == 15
    assert route.call_count == 2
    assert sleeps == [1.5]


@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_api_key_is_a_config_error(router: respx.MockRouter, api_key: str | None) -> None:
    route = serve(router, fixture("aapl_daily.json"))

    with pytest.raises(ConfigError, match="QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY"):
        fetch_one(provider(api_key=api_key))

    assert route.call_count == 0


def test_request_without_symbols_is_refused() -> None:
    with pytest.raises(ValueError, match="needs at least one symbol"):
        list(provider().fetch(FetchRequest(symbols=())))


def leak_cases() -> list[tuple[str, Any]]:
    return [
        ("in-band error", httpx.Response(200, content=fixture("error_invalid_call.json"))),
        ("in-band rate limit", httpx.Response(200, content=fixture("note_rate_limit.json"))),
        ("premium", httpx.Response(200, content=fixture("information_premium.json"))),
        ("vendor echoes the key", httpx.Response(200, json={"Information": f"bad {API_KEY}"})),
        ("HTTP 404", httpx.Response(404, text=f"no route /query?apikey={API_KEY}")),
        ("HTTP 500", httpx.Response(500)),
        ("HTTP 429", httpx.Response(429)),
        ("connection", httpx.ConnectError(f"failed GET {BASE}/query?apikey={API_KEY}")),
        ("timeout", httpx.ReadTimeout(f"timed out on {BASE}/query?apikey={API_KEY}")),
        ("not JSON", httpx.Response(200, text="<html></html>")),
    ]


@pytest.mark.parametrize(("case", "answer"), leak_cases(), ids=[c for c, _ in leak_cases()])
def test_api_key_never_appears_in_errors_or_logs(
    router: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    case: str,
    answer: Any,
) -> None:
    if isinstance(answer, Exception):
        router.get("/query").mock(side_effect=answer)
    else:
        router.get("/query").mock(return_value=answer)

    with caplog.at_level(logging.DEBUG), pytest.raises(QuantdeskError) as caught:
        fetch_one(provider(max_retries=1))

    assert API_KEY not in str(caught.value), case
    assert API_KEY not in repr(caught.value), case
    assert all(API_KEY not in record.getMessage() for record in caplog.records), case
    assert API_KEY not in repr(provider())
