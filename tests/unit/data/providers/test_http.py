"""Retries, backoff, Retry-After and typed errors of the shared HTTP fetcher."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import polars as pl
import pytest
import respx

from quantdesk.core.errors import ProviderError, RateLimited
from quantdesk.data.ports import FetchRequest
from quantdesk.data.providers._http import HttpFetcher, requested_symbols, within
from quantdesk.domain import Interval

BASE = "https://api.example.test"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def make_fetcher(sleeps: list[float], **overrides: object) -> HttpFetcher:
    options: dict[str, object] = {"max_retries": 3, "backoff": 0.5}
    options.update(overrides)
    return HttpFetcher(
        provider="vendor",
        base_url=BASE,
        sleep=sleeps.append,
        **options,  # type: ignore[arg-type]
    )


def test_429_with_retry_after_is_retried_after_the_requested_wait(
    router: respx.MockRouter,
) -> None:
    route = router.get("/data").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, text="Too Many Requests"),
            httpx.Response(200, text="ok"),
        ]
    )
    sleeps: list[float] = []

    response = make_fetcher(sleeps).get("/data", {"q": "1"}, subject="AAPL")

    assert response.text == "ok"
    assert route.call_count == 2
    assert sleeps == [3.0]


def test_429_without_retry_after_backs_off_exponentially(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(
        side_effect=[httpx.Response(429), httpx.Response(429), httpx.Response(200, text="ok")]
    )
    sleeps: list[float] = []

    make_fetcher(sleeps).get("/data", {}, subject="AAPL")

    assert route.call_count == 3
    assert sleeps == [0.5, 1.0]


def test_retry_after_as_http_date_is_measured_against_the_date_header(
    router: respx.MockRouter,
) -> None:
    router.get("/data").mock(
        side_effect=[
            httpx.Response(
                429,
                headers={
                    "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
                    "Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT",
                },
            ),
            httpx.Response(200),
        ]
    )
    sleeps: list[float] = []

    make_fetcher(sleeps).get("/data", {}, subject="AAPL")

    assert sleeps == [5.0]


def test_429_through_every_retry_raises_rate_limited(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    sleeps: list[float] = []

    with pytest.raises(RateLimited) as caught:
        make_fetcher(sleeps, max_retries=2).get("/data", {}, subject="AAPL")

    error = caught.value
    assert route.call_count == 3
    assert sleeps == [1.0, 1.0]
    assert error.retryable is True
    assert error.retry_after == 1.0
    assert error.status_code == 429
    assert error.provider == "vendor"
    assert "AAPL" in str(error)
    assert "wait 1s" in str(error)


def test_retry_after_longer_than_max_wait_is_not_slept_through(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    sleeps: list[float] = []

    with pytest.raises(RateLimited) as caught:
        make_fetcher(sleeps, max_wait=60.0).get("/data", {}, subject="AAPL")

    assert route.call_count == 1
    assert sleeps == []
    assert caught.value.retry_after == 3600.0


def test_5xx_is_retried_up_to_max_retries_then_raises_retryable(
    router: respx.MockRouter,
) -> None:
    route = router.get("/data").mock(return_value=httpx.Response(503, text="unavailable"))
    sleeps: list[float] = []

    with pytest.raises(ProviderError) as caught:
        make_fetcher(sleeps).get("/data", {}, subject="MSFT")

    error = caught.value
    assert not isinstance(error, RateLimited)
    assert route.call_count == 4  # the first attempt and 3 retries
    assert sleeps == [0.5, 1.0, 2.0]
    assert error.retryable is True
    assert error.status_code == 503
    assert "MSFT" in str(error)
    assert "4 attempts" in str(error)
    assert "try again later" in str(error)


def test_5xx_then_success_returns_the_response(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, text="ok")]
    )
    sleeps: list[float] = []

    assert make_fetcher(sleeps).get("/data", {}, subject="AAPL").text == "ok"
    assert route.call_count == 2
    assert sleeps == [0.5]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_4xx_other_than_429_is_not_retried(router: respx.MockRouter, status: int) -> None:
    route = router.get("/data").mock(return_value=httpx.Response(status, text="nope"))
    sleeps: list[float] = []

    with pytest.raises(ProviderError) as caught:
        make_fetcher(sleeps).get("/data", {}, subject="ZZZZ")

    assert route.call_count == 1
    assert sleeps == []
    assert caught.value.retryable is False
    assert caught.value.status_code == status
    assert "ZZZZ" in str(caught.value)


def test_404_message_quotes_the_vendor_explanation(router: respx.MockRouter) -> None:
    router.get("/data").mock(return_value=httpx.Response(404, json={"why": "unknown ticker"}))

    with pytest.raises(ProviderError) as caught:
        make_fetcher([]).get(
            "/data", {}, subject="ZZZZ", describe=lambda response: response.json()["why"]
        )

    message = str(caught.value)
    assert message.startswith("vendor: no data for ZZZZ (HTTP 404: unknown ticker)")
    assert "check the symbol" in message


def test_connection_errors_are_retried(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ConnectError("connection refused"),
            httpx.Response(200, text="ok"),
        ]
    )
    sleeps: list[float] = []

    assert make_fetcher(sleeps).get("/data", {}, subject="AAPL").text == "ok"
    assert route.call_count == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_timeouts_raise_a_retryable_error(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(side_effect=httpx.ReadTimeout("timed out"))
    sleeps: list[float] = []

    with pytest.raises(ProviderError) as caught:
        make_fetcher(sleeps, max_retries=1, timeout=2.5).get("/data", {}, subject="AAPL")

    assert route.call_count == 2
    assert sleeps == [0.5]
    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert "timed out after 2.5s fetching AAPL" in str(caught.value)


def test_unreachable_host_names_the_host(router: respx.MockRouter) -> None:
    router.get("/data").mock(side_effect=httpx.ConnectError("Name or service not known"))

    with pytest.raises(ProviderError) as caught:
        make_fetcher([], max_retries=0).get("/data", {}, subject="AAPL")

    message = str(caught.value)
    assert "could not reach api.example.test fetching AAPL (1 attempt)" in message
    assert "Name or service not known" in message


def test_max_retries_zero_makes_one_attempt(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(return_value=httpx.Response(500))
    sleeps: list[float] = []

    with pytest.raises(ProviderError):
        make_fetcher(sleeps, max_retries=0).get("/data", {}, subject="AAPL")

    assert route.call_count == 1
    assert sleeps == []


def test_secrets_are_blanked_from_errors_and_logs(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "S3CRET-KEY/42"
    router.get("/data").mock(
        side_effect=httpx.ConnectError(f"failed: {BASE}/data?apikey={secret}&x=S3CRET-KEY%2F42")
    )
    fetcher = HttpFetcher(
        provider="vendor", base_url=BASE, max_retries=1, sleep=lambda _: None, secrets=[secret]
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        fetcher.get("/data", {"apikey": secret}, subject="AAPL")

    assert secret not in str(caught.value)
    assert "S3CRET-KEY%2F42" not in str(caught.value)
    assert "apikey=***" in str(caught.value)
    assert caplog.records, "the retry should have been logged"
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_query_parameters_and_headers_are_sent(router: respx.MockRouter) -> None:
    route = router.get("/data").mock(return_value=httpx.Response(200))
    fetcher = HttpFetcher(provider="vendor", base_url=BASE + "/", headers={"X-Test": "yes"})

    fetcher.get("/data", {"symbol": "AAPL", "n": "2"}, subject="AAPL")

    request = route.calls.last.request
    assert dict(request.url.params) == {"symbol": "AAPL", "n": "2"}
    assert request.headers["X-Test"] == "yes"


@pytest.mark.parametrize(
    ("option", "value"),
    [("base_url", " "), ("timeout", 0.0), ("max_retries", -1), ("backoff", -0.1)],
)
def test_invalid_settings_are_refused(option: str, value: object) -> None:
    options: dict[str, object] = {"provider": "vendor", "base_url": BASE, option: value}
    with pytest.raises(ValueError, match=option):
        HttpFetcher(**options)  # type: ignore[arg-type]


def test_injected_client_is_left_open_and_own_client_is_closed() -> None:
    injected = httpx.Client()
    HttpFetcher(provider="vendor", base_url=BASE, client=injected).close()
    assert not injected.is_closed
    injected.close()

    with HttpFetcher(provider="vendor", base_url=BASE) as fetcher:
        own = fetcher._client
    assert own.is_closed


def test_requested_symbols_normalises_and_deduplicates() -> None:
    request = FetchRequest(symbols=(" aapl", "MSFT", "AAPL"))
    assert requested_symbols(request, "vendor") == ("AAPL", "MSFT")


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (FetchRequest(symbols=()), "vendor needs at least one symbol"),
        (FetchRequest(symbols=("AAPL",), start=datetime(2013, 1, 1)), "timezone-aware"),
        (
            FetchRequest(
                symbols=("AAPL",),
                interval=Interval.D1,
                start=datetime(2013, 2, 1, tzinfo=UTC),
                end=datetime(2013, 1, 1, tzinfo=UTC),
            ),
            "must be before end",
        ),
    ],
)
def test_requested_symbols_refuses_bad_requests(request_: FetchRequest, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        requested_symbols(request_, "vendor")


def test_within_is_half_open() -> None:
    days = [datetime(2013, 1, day, tzinfo=UTC) for day in (2, 3, 4)]
    frame = pl.DataFrame({"ts": days}, schema={"ts": pl.Datetime("us", "UTC")})

    kept = within(frame, days[1], days[2])

    assert kept.get_column("ts").to_list() == [days[1]]
    assert within(frame, None, None).height == 3


def test_httpx_request_log_line_is_redacted(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router.get("/data").mock(return_value=httpx.Response(200))
    fetcher = HttpFetcher(provider="vendor", base_url=BASE, secrets=["LOGGED-KEY-7"])

    with caplog.at_level(logging.INFO, logger="httpx"):
        fetcher.get("/data", {"apikey": "LOGGED-KEY-7"}, subject="AAPL")

    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert lines, "httpx should have logged the request line"
    assert all("LOGGED-KEY-7" not in line for line in lines)
    assert any("apikey=***" in line for line in lines)


def test_base_url_without_http_scheme_fails_at_once() -> None:
    sleeps: list[float] = []
    fetcher = HttpFetcher(
        provider="vendor", base_url="ftp://files.example.test", sleep=sleeps.append
    )

    with pytest.raises(ProviderError, match="not an http") as caught:
        fetcher.get("/data", {}, subject="AAPL")

    assert caught.value.retryable is False
    assert sleeps == []
