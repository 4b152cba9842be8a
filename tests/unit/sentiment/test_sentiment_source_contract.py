"""The NewsSource contract, run against every adapter (recorded data, no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from quantdesk.sentiment.ports import NewsSource
from quantdesk.sentiment.sources import JsonlSource, NewsApiSource, RssSource

FIXTURES = Path(__file__).parents[2] / "fixtures" / "news"
NEWSAPI = "https://newsapi.contract.test"


@pytest.fixture
def newsapi_router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=NEWSAPI, assert_all_called=False) as mock:
        mock.get("/v2/everything").mock(
            side_effect=lambda request: httpx.Response(
                200,
                content=(
                    FIXTURES / f"newsapi_everything_page{request.url.params['page']}.json"
                ).read_bytes(),
            )
        )
        yield mock


def rss() -> NewsSource:
    return RssSource.from_file(FIXTURES / "markets_rss20.xml")


def atom() -> NewsSource:
    return RssSource.from_file(FIXTURES / "company_atom.xml")


def jsonl() -> NewsSource:
    return JsonlSource(FIXTURES / "articles.jsonl")


def newsapi() -> NewsSource:
    return NewsApiSource("acme", api_key="contract-key", base_url=NEWSAPI, page_size=3)


ADAPTERS: dict[str, Callable[[], NewsSource]] = {
    "rss": rss,
    "atom": atom,
    "jsonl": jsonl,
    "newsapi": newsapi,
}


@pytest.fixture(params=sorted(ADAPTERS))
def make_source(
    request: pytest.FixtureRequest, newsapi_router: respx.MockRouter
) -> Callable[[], NewsSource]:
    return ADAPTERS[request.param]


def test_is_a_news_source(make_source: Callable[[], NewsSource]) -> None:
    source = make_source()
    assert isinstance(source, NewsSource)
    assert isinstance(source.name, str)
    assert source.name


def test_articles_are_utc_sorted_and_unique(make_source: Callable[[], NewsSource]) -> None:
    articles = make_source().fetch()

    assert articles
    assert all(a.published_at.utcoffset() is not None for a in articles)
    assert all(a.published_at.tzinfo == UTC for a in articles)
    times = [a.published_at for a in articles]
    assert times == sorted(times)
    assert len({a.id for a in articles}) == len(articles)


def test_since_is_an_inclusive_lower_bound(make_source: Callable[[], NewsSource]) -> None:
    everything = make_source().fetch()
    pivot = everything[len(everything) // 2].published_at

    later = make_source().fetch(since=pivot)

    assert later
    assert later[0].published_at == pivot
    assert all(a.published_at >= pivot for a in later)
    assert {a.id for a in later} == {a.id for a in everything if a.published_at >= pivot}


def test_since_after_everything_is_empty(make_source: Callable[[], NewsSource]) -> None:
    assert make_source().fetch(since=datetime(2100, 1, 1, tzinfo=UTC)) == []


def test_naive_since_is_rejected(make_source: Callable[[], NewsSource]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_source().fetch(since=datetime(2024, 5, 7))
