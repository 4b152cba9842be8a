"""Article value object, canonical URLs and de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.sentiment.articles import (
    Article,
    article_id,
    canonical_url,
    deduplicate,
    normalized_title,
)

T0 = datetime(2024, 5, 7, 13, 30, tzinfo=UTC)


def make(title: str, minutes: int = 0, url: str = "", symbols: tuple[str, ...] = ()) -> Article:
    return Article("wire", T0 + timedelta(minutes=minutes), title, url=url, symbols=symbols)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.Example.COM/news/Story-1/?utm_source=rss&utm_medium=feed",
            "https://example.com/news/Story-1",
        ),
        ("http://example.com/a/b/#comments", "https://example.com/a/b"),
        ("https://example.com:443/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a?id=7&fbclid=XYZ&gclid=1&ref=home", "https://example.com/a?id=7"),
        ("https://example.com/A/Path", "https://example.com/A/Path"),
        ("https://example.com/", "https://example.com"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("", ""),
        ("/relative/path/", "/relative/path/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_normalized_title_folds_case_punctuation_and_spaces() -> None:
    assert normalized_title("  Acme’s Q1:  BEATS estimates -- shares JUMP! ") == (
        "acmes q1 beats estimates shares jump"
    )
    assert normalized_title("Ａｃｍｅ") == "acme"  # full-width letters fold (NFKC)


def test_article_converts_to_utc_and_cleans_fields() -> None:
    paris = timezone(timedelta(hours=2))
    article = Article(
        " Example Wire ",
        datetime(2024, 5, 7, 15, 30, tzinfo=paris),
        "  Acme   beats\nestimates ",
        summary=" Revenue  rose. ",
        url=" https://example.com/a ",
        symbols=("acme", "ACME", " bor "),
    )
    assert article.published_at == T0
    assert article.published_at.tzinfo == UTC
    assert (article.source, article.title, article.summary) == (
        "Example Wire",
        "Acme beats estimates",
        "Revenue rose.",
    )
    assert article.url == "https://example.com/a"
    assert article.symbols == ("ACME", "BOR")
    assert article.text == "Acme beats estimates. Revenue rose."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"published_at": datetime(2024, 5, 7, 13, 30)}, "timezone-aware"),
        ({"title": "   "}, "title"),
        ({"source": ""}, "source"),
    ],
)
def test_article_rejects_broken_invariants(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"source": "wire", "published_at": T0, "title": "Headline"}
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Article(**fields)  # type: ignore[arg-type]


def test_id_is_stable_across_tracking_variants_of_a_url() -> None:
    first = make("A", url="https://www.example.com/story/?utm_source=x")
    second = make("B", minutes=5, url="http://example.com/story#top")
    assert first.id == second.id
    assert len(first.id) == 24
    assert first.id == article_id("https://example.com/story", "anything", T0.date())


def test_id_without_url_depends_on_title_and_date() -> None:
    assert make("Acme beats").id == make("ACME beats!", minutes=60).id
    assert make("Acme beats").id != make("Acme beats", minutes=24 * 60).id
    assert make("Acme beats").id != make("Acme misses").id


def test_explicit_id_is_kept() -> None:
    assert Article("wire", T0, "Headline", id="wire-123").id == "wire-123"


def test_text_without_summary_is_the_title() -> None:
    assert make("Acme beats estimates").text == "Acme beats estimates"
    assert Article("w", T0, "Is it over?", summary="No.").text == "Is it over? No."


def test_deduplicate_keeps_earliest_and_merges_symbols_by_url() -> None:
    late = make("Syndicated copy", 30, "http://example.com/s?utm_campaign=a", ("BOR",))
    early = make("Original story", 0, "https://www.example.com/s/", ("ACME",))
    other = make("Different story", 10, "https://example.com/other")
    kept = deduplicate([late, other, early])
    assert [article.title for article in kept] == ["Original story", "Different story"]
    assert kept[0].symbols == ("ACME", "BOR")
    assert kept[0].published_at == early.published_at


def test_deduplicate_matches_titles_on_the_same_utc_day_only() -> None:
    a = make("Acme beats estimates", 0, "https://a.example.com/1", ("ACME",))
    b = make("ACME beats estimates!", 90, "https://b.example.com/2", ("ACMR",))
    next_day = make("Acme beats estimates", 24 * 60, "https://c.example.com/3")
    kept = deduplicate([b, next_day, a])
    assert [article.url for article in kept] == [a.url, next_day.url]
    assert kept[0].symbols == ("ACME", "ACMR")


def test_deduplicate_ties_keep_input_order() -> None:
    first = make("Same", 0, symbols=("A1",))
    second = make("Same", 0, symbols=("B1",))
    kept = deduplicate([first, second])
    assert len(kept) == 1
    assert kept[0].symbols == ("A1", "B1")
    assert kept[0].id == first.id


def test_deduplicate_empty() -> None:
    assert deduplicate([]) == []


def same_story(first: Article, second: Article) -> bool:
    if first.url and canonical_url(first.url) == canonical_url(second.url):
        return True
    return (normalized_title(first.title), first.published_at.date()) == (
        normalized_title(second.title),
        second.published_at.date(),
    )


titles = st.sampled_from(["Acme beats", "Acme misses", "Fed holds rates", "Oil jumps"])
urls = st.sampled_from(
    ["", "https://example.com/1", "http://www.example.com/1?utm_source=x", "https://example.com/2"]
)
tags = st.lists(st.sampled_from(["ACME", "OIL", "FED"]), max_size=2).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(titles, st.integers(min_value=0, max_value=3 * 24 * 60), urls, tags),
        max_size=12,
    )
)
def test_deduplicate_properties(rows: list[tuple[str, int, str, tuple[str, ...]]]) -> None:
    articles = [make(title, minutes, url, symbols) for title, minutes, url, symbols in rows]
    kept = deduplicate(articles)
    # sorted by time, no two kept articles share a URL key or a (title, day) key
    assert [a.published_at for a in kept] == sorted(a.published_at for a in kept)
    url_keys = [canonical_url(a.url) for a in kept if a.url]
    assert len(url_keys) == len(set(url_keys))
    title_keys = [(normalized_title(a.title), a.published_at.date()) for a in kept]
    assert len(title_keys) == len(set(title_keys))
    # no symbol is lost and nothing is invented
    assert {s for a in kept for s in a.symbols} == {s for a in articles for s in a.symbols}
    # no two kept articles are the same story
    for i, first in enumerate(kept):
        for second in kept[i + 1 :]:
            assert not same_story(first, second)
    # every dropped input is a copy of an input published no later than itself
    kept_ids = {(a.id, a.published_at) for a in kept}
    for index, article in enumerate(articles):
        if (article.id, article.published_at) in kept_ids:
            continue
        assert any(
            other_index != index
            and other.published_at <= article.published_at
            and same_story(other, article)
            for other_index, other in enumerate(articles)
        )
    # kept articles are inputs (symbols aside)
    inputs = {(a.id, a.published_at, a.title) for a in articles}
    assert all((a.id, a.published_at, a.title) in inputs for a in kept)
    # idempotent
    assert deduplicate(kept) == kept
