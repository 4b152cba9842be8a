"""RSS 2.0 and Atom source against recorded feed documents (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from quantdesk.core.errors import ProviderError, RateLimited, ValidationError
from quantdesk.sentiment.ports import NewsSource
from quantdesk.sentiment.sources import RssSource, parse_feed

FIXTURES = Path(__file__).parents[2] / "fixtures" / "news"
FEED_URL = "https://feeds.example-wire.test/markets/rss"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def test_rss20_entries_become_articles_in_utc() -> None:
    content = parse_feed(fixture("markets_rss20.xml"))

    assert content.format == "rss20"
    assert content.title == "Example Wire: Markets"
    # <pubDate> values of the fixture, converted by hand to UTC
    assert [(a.title, a.published_at) for a in content.articles] == [
        (
            "Acme Robotics beats first-quarter estimates, raises outlook",
            datetime(2024, 5, 7, 20, 15, tzinfo=UTC),
        ),
        (
            "Borealis Foods shares slide after profit warning",
            datetime(2024, 5, 7, 13, 42, tzinfo=UTC),
        ),
        (
            "Central bank leaves rates unchanged, as expected",
            datetime(2024, 5, 7, 12, 0, tzinfo=UTC),
        ),
        (
            "Acme Robotics beats first-quarter estimates, raises outlook",
            datetime(2024, 5, 7, 20, 31, tzinfo=UTC),
        ),
        (
            "Crestline Energy to acquire Dunmore Pipelines for $2.4 billion",
            datetime(2024, 5, 6, 21, 10, tzinfo=UTC),
        ),
    ]


def test_rss20_summary_is_plain_text_and_sources_are_named() -> None:
    first, second, *_, deal = parse_feed(fixture("markets_rss20.xml")).articles

    assert first.summary == (
        "Acme Robotics Inc. (NASDAQ: ACMR) reported revenue of $1.21 billion, above the "
        "$1.15 billion analysts expected, and lifted its full-year forecast."
    )
    assert second.summary.startswith("Borealis Foods & its suppliers")
    assert first.source == "Example Wire: Markets"
    assert deal.source == "Partner News"  # the item's <source> element names the publisher
    assert first.url.startswith("https://www.example-wire.test/markets/acme-robotics-q1-2024/")


def test_undated_entry_is_skipped_and_reported() -> None:
    content = parse_feed(fixture("markets_rss20.xml"))

    assert len(content.issues) == 1
    issue = content.issues[0]
    assert (issue.location, issue.row, issue.field) == ("entry 5", 5, "published")
    assert "Market open: futures edge higher" in issue.reason


def test_fetch_deduplicates_sorts_and_reports() -> None:
    source = RssSource.from_file(FIXTURES / "markets_rss20.xml")

    articles = source.fetch()

    assert isinstance(source, NewsSource)
    assert source.name == "Example Wire: Markets"
    # the 20:31 syndicated copy (http, no www, other utm tags) folds into the 20:15 original
    assert [a.published_at.hour * 60 + a.published_at.minute for a in articles] == [
        21 * 60 + 10,
        12 * 60,
        13 * 60 + 42,
        20 * 60 + 15,
    ]
    assert articles[-1].summary.startswith("Acme Robotics Inc.")
    assert source.last_error is not None
    assert [issue.row for issue in source.last_error.issues] == [5]


def test_fetch_since_is_inclusive() -> None:
    source = RssSource.from_file(FIXTURES / "markets_rss20.xml", name="wire")

    articles = source.fetch(since=datetime(2024, 5, 7, 13, 42, tzinfo=UTC))

    assert [a.published_at for a in articles] == [
        datetime(2024, 5, 7, 13, 42, tzinfo=UTC),
        datetime(2024, 5, 7, 20, 15, tzinfo=UTC),
    ]
    assert source.name == "wire"
    assert articles[0].source == "wire"


def test_fetch_rejects_naive_since() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RssSource.from_file(FIXTURES / "markets_rss20.xml").fetch(since=datetime(2024, 5, 7))


def test_atom_uses_published_then_updated_and_skips_untitled() -> None:
    source = RssSource.from_bytes(fixture("company_atom.xml"), symbols=("acmr",))

    articles = source.fetch()

    assert [(a.title, a.published_at) for a in articles] == [
        ("Acme Robotics Declares Quarterly Dividend", datetime(2024, 4, 25, 20, 30, tzinfo=UTC)),
        (
            "Acme Robotics Reports First Quarter 2024 Results & Raises Guidance",
            datetime(2024, 5, 7, 20, 5, tzinfo=UTC),
        ),
        (
            "Acme Robotics to Present at the Automation Investor Conference",
            datetime(2024, 5, 8, 12, 0, tzinfo=UTC),
        ),
    ]
    assert all(a.symbols == ("ACMR",) for a in articles)
    assert articles[1].summary == "Revenue rose 18% to $1.21 billion."
    assert source.name == "Acme Robotics Investor Relations"
    assert source.last_error is not None
    assert [(i.row, i.field) for i in source.last_error.issues] == [(4, "title")]


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(ValidationError, match="not an RSS or Atom feed"):
        RssSource.from_bytes(fixture("not_a_feed.html")).fetch()


def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read feed file"):
        RssSource.from_file(tmp_path / "missing.xml").fetch()


def test_fetch_over_http(router: respx.MockRouter) -> None:
    route = router.get(FEED_URL).mock(
        return_value=httpx.Response(
            200,
            content=fixture("markets_rss20.xml"),
            headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        )
    )
    source = RssSource(FEED_URL, name="Example Wire")

    articles = source.fetch()

    assert len(articles) == 4
    request = route.calls.last.request
    assert "application/rss+xml" in request.headers["Accept"]
    assert request.headers["User-Agent"].startswith("quantdesk")


def test_fetch_with_injected_client_leaves_it_open(router: respx.MockRouter) -> None:
    router.get(FEED_URL).mock(return_value=httpx.Response(200, content=fixture("company_atom.xml")))
    with httpx.Client() as client:
        RssSource(FEED_URL, client=client).fetch()
        assert not client.is_closed


@pytest.mark.parametrize(
    ("status", "retryable", "text"),
    [(404, False, "HTTP 404"), (403, False, "access rights"), (503, True, "server error")],
)
def test_http_errors(router: respx.MockRouter, status: int, retryable: bool, text: str) -> None:
    router.get(FEED_URL).mock(return_value=httpx.Response(status, text="nope"))

    with pytest.raises(ProviderError, match=text) as caught:
        RssSource(FEED_URL, name="wire").fetch()

    assert caught.value.retryable is retryable
    assert caught.value.status_code == status
    assert caught.value.provider == "wire"


def test_http_429_is_rate_limited(router: respx.MockRouter) -> None:
    router.get(FEED_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))

    with pytest.raises(RateLimited) as caught:
        RssSource(FEED_URL).fetch()

    assert caught.value.retry_after == 120.0
    assert caught.value.retryable


def test_timeout_is_retryable(router: respx.MockRouter) -> None:
    router.get(FEED_URL).mock(side_effect=httpx.ConnectTimeout("slow"))

    with pytest.raises(ProviderError, match="timed out") as caught:
        RssSource(FEED_URL, timeout=2).fetch()

    assert caught.value.retryable


def test_connection_error_is_retryable(router: respx.MockRouter) -> None:
    router.get(FEED_URL).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ProviderError, match="could not reach") as caught:
        RssSource(FEED_URL).fetch()

    assert caught.value.retryable


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "feed.xml", ""])
def test_constructor_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        RssSource(url)
