"""Feed to features: read, de-duplicate, tag, score and aggregate recorded news."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from quantdesk.sentiment import (
    LexiconScorer,
    SymbolTagger,
    daily_sentiment,
    deduplicate,
    score_articles,
)
from quantdesk.sentiment.sources import JsonlSource, RssSource

FIXTURES = Path(__file__).parents[2] / "fixtures" / "news"

UNIVERSE = [
    ("ACMR", "Acme Robotics Inc.", ()),
    ("BORF", "Borealis Foods Corp.", ()),
    ("CRSE", "Crestline Energy", ()),
    ("DNMP", "Dunmore Pipelines", ()),
]


def test_feed_to_daily_features() -> None:
    articles = [
        *RssSource.from_file(FIXTURES / "markets_rss20.xml").fetch(),
        *RssSource.from_file(FIXTURES / "company_atom.xml").fetch(),
        *JsonlSource(FIXTURES / "articles.jsonl").fetch(),
    ]
    unique = deduplicate(articles)
    tagged = SymbolTagger(UNIVERSE).tag_articles(unique)
    daily = daily_sentiment(score_articles(tagged, LexiconScorer()))

    # 4 RSS + 3 Atom + 3 JSONL articles, none repeated across the sources
    assert len(unique) == 10
    by_title = {a.title: a.symbols for a in tagged}
    assert by_title["Crestline Energy to acquire Dunmore Pipelines for $2.4 billion"] == (
        "CRSE",
        "DNMP",
    )
    assert by_title["Central bank leaves rates unchanged, as expected"] == ()
    # "Acme Robotics beats ..." was published 20:15 UTC = 16:15 New York on May 7: it counts
    # for May 8, together with the Atom results release (16:05 New York) and the conference
    # notice (08:00 New York on May 8); the dividend notice (20:30 UTC = 16:30 New York on
    # April 25) counts for April 26
    acme = daily.filter(pl.col("symbol") == "ACMR")
    assert acme.get_column("date").to_list() == [
        date(2024, 4, 26),
        date(2024, 5, 7),
        date(2024, 5, 8),
    ]
    assert acme.get_column("count").to_list() == [1, 1, 3]
    assert acme.row(2, named=True)["mean"] > 0
    borealis = daily.filter(pl.col("symbol") == "BORF")
    assert borealis.get_column("count").to_list() == [1, 1]
    assert borealis.row(1, named=True)["mean"] < 0  # "shares slide after profit warning"
