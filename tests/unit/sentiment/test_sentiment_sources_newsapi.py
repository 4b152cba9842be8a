"""NewsAPI-style search source against recorded JSON responses (no network)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from quantdesk.core.errors import ConfigError, ProviderError, RateLimited
from quantdesk.sentiment.sources import NewsApiSource

FIXTURES = Path(__file__).parents[2] / "fixtures" / "news"
BASE = "https://newsapi.example.test"
API_KEY = "nk-9f8e7d6c5b4a-DO-NOT-LEAK"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def source(**options: Any) -> NewsApiSource:
    options.setdefault("api_key", API_KEY)
    options.setdefault("page_size", 3)
    return NewsApiSource('"Acme Robotics" OR ACMR', base_url=BASE, **options)


def pages(router: respx.MockRouter, *responses: httpx.Response) -> respx.Route:
    return router.get("/v2/everything").mock(side_effect=list(responses))


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture(name))


def test_pages_are_followed_and_articles_parsed(router: respx.MockRouter) -> None:
    route = pages(router, ok("newsapi_everything_page1.json"), ok("newsapi_everything_page2.json"))
    news = source(symbols=("acmr",))

    articles = news.fetch(since=datetime(2024, 5, 7, 16, 0, tzinfo=UTC))

    assert route.call_count == 2
    first, second = (call.request for call in route.calls)
    assert dict(first.url.params) == {
        "q": '"Acme Robotics" OR ACMR',
        "sortBy": "publishedAt",
        "pageSize": "3",
        "page": "1",
        "from": "2024-05-07T16:00:00",
        "language": "en",
    }
    assert second.url.params["page"] == "2"
    assert first.headers["X-Api-Key"] == API_KEY
    assert API_KEY not in str(first.url)
    # "[Removed]" is dropped; the record with a bad publishedAt is skipped and reported
    assert [(a.source, a.title, a.published_at) for a in articles] == [
        (
            "Example Wire",
            "Acme Robotics beats first-quarter estimates, raises outlook",
            datetime(2024, 5, 7, 20, 15, tzinfo=UTC),
        ),
        (
            "Example Business Daily",
            "Acme Robotics stock jumps after hours on upbeat guidance",
            datetime(2024, 5, 7, 21, 2, 11, tzinfo=UTC),
        ),
        (
            "Robotics Weekly",
            "Analysts weigh Acme Robotics margin outlook",
            datetime(2024, 5, 8, 7, 45, tzinfo=UTC),
        ),
    ]
    assert articles[1].summary == ""
    assert all(a.symbols == ("ACMR",) for a in articles)
    assert news.last_error is not None
    assert [(i.location, i.field) for i in news.last_error.issues] == [
        ("page 2, article 2", "publishedAt")
    ]
    assert not news.truncated


def test_short_first_page_stops_paging(router: respx.MockRouter) -> None:
    route = pages(router, ok("newsapi_everything_page2.json"))

    articles = source().fetch()

    assert route.call_count == 1
    assert "from" not in route.calls.last.request.url.params
    assert len(articles) == 1


def test_total_results_stops_paging(router: respx.MockRouter) -> None:
    payload = fixture("newsapi_everything_page1.json")
    payload["totalResults"] = 3
    route = pages(router, httpx.Response(200, json=payload))

    source().fetch()

    assert route.call_count == 1


def test_max_pages_truncates(router: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    route = pages(router, ok("newsapi_everything_page1.json"))
    news = source(max_pages=1)

    with caplog.at_level(logging.WARNING):
        articles = news.fetch()

    assert route.call_count == 1
    assert news.truncated
    assert len(articles) == 2
    assert "max_pages=1" in caplog.text


def test_result_cap_on_later_page_ends_paging(router: respx.MockRouter) -> None:
    pages(
        router,
        ok("newsapi_everything_page1.json"),
        httpx.Response(426, json=fixture("newsapi_error_maximum_results.json")),
    )
    news = source()

    articles = news.fetch()

    assert news.truncated
    assert len(articles) == 2


@pytest.mark.parametrize(
    ("status", "name", "kind", "retryable", "text"),
    [
        (429, "newsapi_error_rate_limited.json", RateLimited, True, "rateLimited"),
        (401, "newsapi_error_api_key_invalid.json", ProviderError, False, "check the API key"),
        (426, "newsapi_error_parameter_invalid.json", ProviderError, False, "check the query"),
        (500, "newsapi_error_unexpected.json", ProviderError, True, "unexpectedError"),
        (426, "newsapi_error_maximum_results.json", ProviderError, False, "maximumResultsReached"),
    ],
)
def test_error_payloads_map_to_typed_errors(
    router: respx.MockRouter,
    status: int,
    name: str,
    kind: type[ProviderError],
    retryable: bool,
    text: str,
) -> None:
    pages(router, httpx.Response(status, json=fixture(name), headers={"Retry-After": "30"}))

    with pytest.raises(kind, match=text) as caught:
        source().fetch()

    error = caught.value
    assert type(error) is kind
    assert error.retryable is retryable
    assert error.status_code == status
    assert fixture(name)["message"][:40] in error.message
    if isinstance(error, RateLimited):
        assert error.retry_after == 30.0


def test_rate_limit_payload_with_http_200_is_still_an_error(router: respx.MockRouter) -> None:
    pages(router, httpx.Response(200, json=fixture("newsapi_error_rate_limited.json")))
    with pytest.raises(RateLimited):
        source().fetch()


@pytest.mark.parametrize(("status", "retryable"), [(502, True), (404, False), (200, True)])
def test_non_json_responses(router: respx.MockRouter, status: int, retryable: bool) -> None:
    pages(router, httpx.Response(status, text="<html>gateway</html>"))
    with pytest.raises(ProviderError) as caught:
        source().fetch()
    assert caught.value.retryable is retryable


def test_plain_429_without_payload(router: respx.MockRouter) -> None:
    pages(router, httpx.Response(429, text="slow down"))
    with pytest.raises(RateLimited):
        source().fetch()


def test_missing_articles_list(router: respx.MockRouter) -> None:
    pages(router, httpx.Response(200, json={"status": "ok", "totalResults": 0}))
    with pytest.raises(ProviderError, match="articles"):
        source().fetch()


def test_missing_api_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="API key"):
        source(api_key=None).fetch()
    with pytest.raises(ConfigError):
        source(api_key="   ").fetch()


def test_api_key_never_logged_or_shown(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    leaky = fixture("newsapi_error_api_key_invalid.json")
    leaky["message"] = f"Your API key {API_KEY} is invalid."
    pages(router, ok("newsapi_everything_page1.json"), httpx.Response(401, json=leaky))
    news = source()

    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        news.fetch()

    assert API_KEY not in caught.value.message
    assert "***" in caught.value.message
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(news)


def test_transport_errors_are_retryable(router: respx.MockRouter) -> None:
    router.get("/v2/everything").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderError, match="timed out") as caught:
        source().fetch()
    assert caught.value.retryable

    router.get("/v2/everything").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderError, match="could not reach") as caught:
        source().fetch()
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"max_pages": 0}, "max_pages"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_constructor_validation(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        source(**options)
    with pytest.raises(ValueError, match="query"):
        NewsApiSource(" ", api_key=API_KEY)


def test_language_can_be_left_out(router: respx.MockRouter) -> None:
    route = pages(router, ok("newsapi_everything_page2.json"))
    source(language=None).fetch()
    assert "language" not in route.calls.last.request.url.params
