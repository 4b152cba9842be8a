"""Yahoo Finance chart-API adapter against recorded responses (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import quantdesk.data.providers.yahoo as yahoo_package
from quantdesk.core.clock import SimClock
from quantdesk.core.errors import ProviderError, RateLimited
from quantdesk.data.ports import BarBatch, FetchRequest, MarketDataProvider
from quantdesk.data.providers.yahoo import YahooProvider
from quantdesk.data.providers.yahoo.parse import parse_chart
from quantdesk.data.validation import validate_batch
from quantdesk.domain import AssetClass, Interval

BASE = "https://yahoo.example.test"
FIXTURES = Path(__file__).parents[3] / "fixtures" / "http" / "yahoo"
DAILY = (FIXTURES / "aapl_1d_2013-01.json").read_bytes()
CHART = "/v8/finance/chart/AAPL"

# The 15 AAPL sessions of the fixture; 2013-01-21 (a holiday) is a null placeholder there.
SESSIONS = [
    datetime(2013, 1, day, tzinfo=UTC) for day in (2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18)
] + [datetime(2013, 1, 22, tzinfo=UTC), datetime(2013, 1, 23, tzinfo=UTC)]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def provider(sleeps: list[float] | None = None, **options: Any) -> YahooProvider:
    recorder: list[float] = [] if sleeps is None else sleeps
    clock = SimClock(datetime(2013, 1, 24, tzinfo=UTC))
    return YahooProvider(base_url=BASE, sleep=recorder.append, clock=clock, **options)


def fetch_one(yahoo: YahooProvider, **request: Any) -> BarBatch:
    batches = list(yahoo.fetch(FetchRequest(symbols=("AAPL",), **request)))
    assert len(batches) == 1
    return batches[0]


def test_public_surface() -> None:
    assert yahoo_package.__all__ == ["YahooProvider"]
    assert isinstance(YahooProvider(base_url=BASE), MarketDataProvider)
    assert YahooProvider.name == "yahoo"


def test_daily_bars_are_parsed_with_session_dates_and_nulls_dropped(
    router: respx.MockRouter,
) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    batch = fetch_one(provider(adjust=False))

    bars = batch.bars
    assert batch.source == "yahoo:AAPL"
    assert bars.columns == [
        "symbol", "interval", "ts", "open", "high", "low", "close", "volume", "row",
    ]  # fmt: skip
    assert bars.height == 15  # 16 entries, the 2013-01-21 placeholder dropped
    assert bars.get_column("ts").to_list() == SESSIONS
    # row numbers point into Yahoo's arrays: entry 13 was the placeholder
    assert bars.get_column("row").to_list() == [*range(1, 13), 14, 15, 16]
    first = bars.row(0, named=True)
    assert first["symbol"] == "AAPL"
    assert first["interval"] == "1d"
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        553.82,
        555.0,
        541.63,
        549.03,
    )
    assert first["volume"] == 20018500.0
    last = bars.row(-1, named=True)
    assert (last["open"], last["close"], last["volume"]) == (508.81, 514.005, 30768200.0)


def test_instrument_comes_from_meta(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    (instrument,) = fetch_one(provider()).instruments

    assert instrument.symbol == "AAPL"
    assert instrument.name == "Apple Inc."
    assert instrument.currency == "USD"
    assert instrument.exchange == "NMS"
    assert instrument.asset_class is AssetClass.EQUITY
    assert instrument.source == "yahoo"
    assert instrument.synthetic is False


def test_adjustment_scales_ohlc_by_adjclose_over_close(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    bars = fetch_one(provider(adjust=True)).bars

    # 2013-01-02: close 549.03, adjclose 71.195747808479 -> factor 0.1296755...
    first = bars.row(0, named=True)
    assert first["close"] == pytest.approx(71.195747808479, rel=1e-12)
    assert first["open"] == pytest.approx(553.82 * 71.195747808479 / 549.03, rel=1e-12)
    assert first["open"] == pytest.approx(71.816893523654, abs=1e-9)
    assert first["high"] == pytest.approx(71.969910630942, abs=1e-9)
    assert first["low"] == pytest.approx(70.236149000066, abs=1e-9)
    assert first["volume"] == 20018500.0  # volume is not adjusted
    # 2013-01-23: open 508.81 * 66.65386290785 / 514.005
    last = bars.row(-1, named=True)
    assert last["open"] == pytest.approx(65.980198609241, abs=1e-9)
    assert last["close"] == pytest.approx(66.65386290785, rel=1e-12)


def test_request_parameters(router: respx.MockRouter) -> None:
    route = router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))
    start = datetime(2013, 1, 7, tzinfo=UTC)
    end = datetime(2013, 1, 14, tzinfo=UTC)

    fetch_one(provider(), start=start, end=end)

    params = dict(route.calls.last.request.url.params)
    # a day's margin on each side: 1357516800 is 2013-01-07 00:00 UTC, 1358121600 2013-01-14
    assert params == {
        "period1": str(1357516800 - 86400),
        "period2": str(1358121600 + 86400),
        "interval": "1d",
        "events": "div,split",
        "includeAdjustedClose": "true",
    }
    assert "Mozilla" in route.calls.last.request.headers["User-Agent"]


def test_open_ended_request_runs_from_1900_to_the_clock(router: respx.MockRouter) -> None:
    route = router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    fetch_one(provider())

    params = route.calls.last.request.url.params
    assert params["period1"] == "-2208988800"  # 1900-01-01 00:00 UTC
    assert params["period2"] == str(1358985600 + 86400)  # SimClock 2013-01-24 + margin


@pytest.mark.parametrize(
    ("interval", "spelling"),
    [(Interval.M5, "5m"), (Interval.H1, "60m"), (Interval.W1, "1wk"), (Interval.MO1, "1mo")],
)
def test_interval_spelling(router: respx.MockRouter, interval: Interval, spelling: str) -> None:
    route = router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    fetch_one(provider(), interval=interval)

    assert route.calls.last.request.url.params["interval"] == spelling


def test_date_range_is_half_open(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    bars = fetch_one(
        provider(),
        start=datetime(2013, 1, 7, tzinfo=UTC),
        end=datetime(2013, 1, 14, tzinfo=UTC),
    ).bars

    assert bars.get_column("ts").to_list() == SESSIONS[3:8]  # 7th to 11th; the 14th is excluded


def test_result_passes_validation(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))

    report = validate_batch(fetch_one(provider()))

    assert report.issues == ()
    assert report.rejected_rows == 0
    assert report.valid.height == 15


def test_one_batch_per_symbol(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, content=DAILY))
    msft = router.get("/v8/finance/chart/MSFT").mock(
        return_value=httpx.Response(200, content=DAILY)
    )

    batches = list(provider().fetch(FetchRequest(symbols=("aapl", "MSFT"))))

    assert [batch.source for batch in batches] == ["yahoo:AAPL", "yahoo:MSFT"]
    assert batches[1].bars.get_column("symbol").unique().to_list() == ["MSFT"]
    assert msft.call_count == 1


def test_unknown_symbol_is_a_non_retryable_error(router: respx.MockRouter) -> None:
    route = router.get("/v8/finance/chart/ZZZZ").mock(
        return_value=httpx.Response(404, content=(FIXTURES / "not_found.json").read_bytes())
    )
    sleeps: list[float] = []

    with pytest.raises(ProviderError) as caught:
        list(provider(sleeps).fetch(FetchRequest(symbols=("ZZZZ",))))

    error = caught.value
    assert route.call_count == 1
    assert sleeps == []
    assert error.retryable is False
    assert error.status_code == 404
    assert "ZZZZ" in str(error)
    assert "No data found, symbol may be delisted" in str(error)


def test_error_document_with_http_200_is_a_provider_error(router: respx.MockRouter) -> None:
    router.get(CHART).mock(
        return_value=httpx.Response(200, content=(FIXTURES / "not_found.json").read_bytes())
    )

    with pytest.raises(ProviderError, match=r"AAPL.*No data found") as caught:
        fetch_one(provider())

    assert caught.value.retryable is False


def test_html_instead_of_json_is_reported(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(200, text="<html>consent</html>"))

    with pytest.raises(ProviderError, match="other than a JSON object"):
        fetch_one(provider())


def test_rate_limit_is_retried_then_succeeds(router: respx.MockRouter) -> None:
    route = router.get(CHART).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, text="Too Many Requests"),
            httpx.Response(429, text="Too Many Requests"),
            httpx.Response(200, content=DAILY),
        ]
    )
    sleeps: list[float] = []

    bars = fetch_one(provider(sleeps, backoff=0.25)).bars

    assert route.call_count == 3
    assert sleeps == [2.0, 0.5]  # Retry-After, then backoff 0.25 * 2
    assert bars.height == 15


def test_rate_limit_through_every_retry(router: respx.MockRouter) -> None:
    router.get(CHART).mock(return_value=httpx.Response(429, text="Too Many Requests"))
    sleeps: list[float] = []

    with pytest.raises(RateLimited) as caught:
        fetch_one(provider(sleeps, max_retries=2))

    assert sleeps == [0.5, 1.0]
    assert caught.value.retryable is True
    assert caught.value.status_code == 429


def test_request_without_symbols_is_refused() -> None:
    with pytest.raises(ValueError, match="needs at least one symbol"):
        list(provider().fetch(FetchRequest(symbols=())))


def chart(meta: dict[str, Any], timestamps: list[int], **quote: list[Any]) -> dict[str, Any]:
    return {
        "chart": {
            "result": [{"meta": meta, "timestamp": timestamps, "indicators": {"quote": [quote]}}],
            "error": None,
        }
    }


# Hand-built documents: only the timestamps matter in the next tests, and the prices are kept
# consistent (low <= open, close <= high) without claiming to be real prints.
def test_daily_session_date_is_taken_in_the_exchange_zone() -> None:
    # A Tokyo session of 2013-01-04 opens at 09:00 JST = 2013-01-04 00:00 JST, i.e. epoch
    # 1357225200 = 2013-01-03 15:00 UTC: the bar belongs to the 4th, not the 3rd.
    meta = {"currency": "JPY", "exchangeTimezoneName": "Asia/Tokyo", "gmtoffset": 32400}
    document = chart(
        meta, [1357225200], open=[10.0], high=[11.0], low=[9.0], close=[10.5], volume=[100]
    )

    bars, instrument = parse_chart(document, symbol="7203.T", interval=Interval.D1)

    assert bars.get_column("ts").to_list() == [datetime(2013, 1, 4, tzinfo=UTC)]
    assert instrument.currency == "JPY"
    assert instrument.name == "7203.T"


def test_gmtoffset_is_used_when_the_zone_name_is_missing() -> None:
    meta = {"currency": "JPY", "gmtoffset": 32400}
    document = chart(
        meta, [1357225200], open=[10.0], high=[11.0], low=[9.0], close=[10.5], volume=[100]
    )

    bars, _ = parse_chart(document, symbol="7203.T", interval=Interval.D1)

    assert bars.get_column("ts").to_list() == [datetime(2013, 1, 4, tzinfo=UTC)]


def test_intraday_bars_keep_their_epoch_timestamp() -> None:
    meta = {"currency": "USD", "exchangeTimezoneName": "America/New_York", "gmtoffset": -18000}
    # 1357137000 = 2013-01-02 14:30:00 UTC, 1357137300 = 14:35:00 UTC; the middle entry is a
    # null placeholder
    document = chart(
        meta,
        [1357137000, 1357137150, 1357137300],
        open=[553.0, None, 552.0],
        high=[554.0, None, 553.0],
        low=[552.0, None, 551.0],
        close=[553.5, None, 552.5],
        volume=[1000, None, 900],
    )

    bars, _ = parse_chart(document, symbol="AAPL", interval=Interval.M5, adjust=True)

    assert bars.get_column("ts").to_list() == [
        datetime(2013, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2013, 1, 2, 14, 35, tzinfo=UTC),
    ]
    assert bars.get_column("interval").to_list() == ["5m", "5m"]
    # no adjclose in intraday answers: prices stay as sent even with adjust=True
    assert bars.get_column("close").to_list() == [553.5, 552.5]
    assert bars.get_column("row").to_list() == [1, 3]


def test_monthly_bars_are_stamped_on_the_first_of_the_month() -> None:
    meta = {"currency": "USD", "exchangeTimezoneName": "America/New_York"}
    # 1357016400 = 2013-01-01 05:00 UTC = midnight in New York
    document = chart(meta, [1357016400], open=[1.0], high=[2.0], low=[0.5], close=[1.5])

    bars, _ = parse_chart(document, symbol="AAPL", interval=Interval.MO1)

    assert bars.get_column("ts").to_list() == [datetime(2013, 1, 1, tzinfo=UTC)]
    assert bars.get_column("volume").to_list() == [None]


@pytest.mark.parametrize(
    ("kind", "asset_class"),
    [
        ("EQUITY", AssetClass.EQUITY),
        ("ETF", AssetClass.ETF),
        ("INDEX", AssetClass.INDEX),
        ("CRYPTOCURRENCY", AssetClass.CRYPTO),
        ("CURRENCY", AssetClass.FX),
        ("MUTUALFUND", AssetClass.OTHER),
    ],
)
def test_asset_class_comes_from_instrument_type(kind: str, asset_class: AssetClass) -> None:
    document = chart({"currency": "USD", "instrumentType": kind, "shortName": "X"}, [])

    _, instrument = parse_chart(document, symbol="X", interval=Interval.D1)

    assert instrument.asset_class is asset_class


def test_pence_are_converted_to_pounds() -> None:
    meta = {"currency": "GBp", "exchangeTimezoneName": "Europe/London", "exchangeName": "LSE"}
    # 1357117200 = 2013-01-02 09:00 UTC
    document = chart(meta, [1357117200], open=[120.0], high=[125.0], low=[110.0], close=[118.0])

    bars, instrument = parse_chart(document, symbol="VOD.L", interval=Interval.D1)

    assert instrument.currency == "GBP"
    assert bars.row(0, named=True)["close"] == pytest.approx(1.18)
    assert bars.row(0, named=True)["low"] == pytest.approx(1.10)


def test_missing_currency_is_marked_unknown() -> None:
    _, instrument = parse_chart(chart({}, []), symbol="X", interval=Interval.D1)
    assert instrument.currency == "XXX"


def test_mismatched_arrays_are_reported() -> None:
    document = chart({"currency": "USD"}, [1357137000, 1357223400], open=[1.0], close=[1.0])

    with pytest.raises(ProviderError, match="malformed chart for AAPL"):
        parse_chart(document, symbol="AAPL", interval=Interval.D1)


def test_fixture_is_a_chart_document() -> None:
    document = json.loads(DAILY)
    result = document["chart"]["result"][0]
    assert result["meta"]["gmtoffset"] == -18000
    assert result["meta"]["exchangeTimezoneName"] == "America/New_York"
    assert len(result["timestamp"]) == 16
    # every timestamp is 14:30 UTC
    assert all(ts % 86400 == 14 * 3600 + 30 * 60 for ts in result["timestamp"])
