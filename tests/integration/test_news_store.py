"""The news migration and ``SqlNewsStore`` on SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from quantdesk.db import make_engine, upgrade
from quantdesk.db.migrate import alembic_config
from quantdesk.db.models import Base
from quantdesk.db.news import SqlNewsStore
from quantdesk.sentiment import Article, Label, SentimentScore
from quantdesk.sentiment.ports import DailySentiment, StoredArticle

T0 = datetime(2024, 5, 7, 13, 30, tzinfo=UTC)
INGESTED = datetime(2024, 6, 1, 9, tzinfo=UTC)
NEWS_TABLES = {"news_articles", "news_article_symbols", "daily_sentiment"}


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qd.db'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    created = make_engine(url)
    yield created
    created.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlNewsStore:
    upgrade(engine)
    return SqlNewsStore(engine)


def _stored(
    key: str,
    minutes: int,
    symbols: tuple[str, ...] = ("AAPL",),
    score: float = 0.5,
    scorer: str = "lexicon",
) -> StoredArticle:
    article = Article(
        source="Example Wire",
        published_at=T0 + timedelta(minutes=minutes),
        title=f"Headline {key}",
        summary=f"Summary of {key}.",
        url=f"https://news.example.com/{key}",
        symbols=symbols,
        id=key,
    )
    label: Label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    return StoredArticle(article, SentimentScore(score, label, abs(score)), scorer, INGESTED)


def test_articles_round_trip_and_duplicates_are_skipped(store: SqlNewsStore) -> None:
    first = store.add_articles(
        [_stored("a", 0, ("AAPL", "MSFT"), 0.25), _stored("b", 5, ("MSFT",), -0.5)]
    )
    assert first.new == ("a", "b")
    assert first.duplicates == 0
    # "a" is already stored; "c" appears twice in the batch: stored once, counted once
    second = store.add_articles(
        [_stored("a", 0, score=0.9), _stored("c", 10), _stored("c", 10, score=0.1)]
    )
    assert second.new == ("c",)
    assert second.duplicates == 2
    assert store.known_ids(["a", "c", "zzz"]) == {"a", "c"}

    by_id = {item.article.id: item for item in store.list_articles()}
    assert set(by_id) == {"a", "b", "c"}
    kept = by_id["a"]  # the first copy is kept: its score, not the repeat's 0.9
    assert kept.sentiment == SentimentScore(0.25, "positive", 0.25)
    assert kept.article.symbols == ("AAPL", "MSFT")
    assert kept.article.summary == "Summary of a."
    assert kept.article.url == "https://news.example.com/a"
    assert kept.article.published_at == T0
    assert kept.article.published_at.tzinfo is not None
    assert kept.ingested_at == INGESTED
    assert kept.scorer == "lexicon"
    assert by_id["c"].sentiment.score == 0.5


def test_listing_is_newest_first_by_symbol_range_and_limit(store: SqlNewsStore) -> None:
    store.add_articles(
        [
            _stored("m1", 0, ("MSFT",)),
            _stored("a1", 10, ("AAPL",)),
            _stored("both", 20, ("AAPL", "MSFT")),
            _stored("a2", 30, ("AAPL",)),
            _stored("none", 40, ()),
        ]
    )
    assert [i.article.id for i in store.list_articles()] == ["none", "a2", "both", "a1", "m1"]
    assert [i.article.id for i in store.list_articles(symbol="AAPL")] == ["a2", "both", "a1"]
    assert [i.article.id for i in store.list_articles(symbol="MSFT")] == ["both", "m1"]
    assert [i.article.id for i in store.list_articles(symbol="AAPL", limit=2)] == ["a2", "both"]
    # [start, end): a1 (T0+10) is in, a2 (T0+30) is the excluded end
    window = store.list_articles(
        symbol="AAPL", start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=30)
    )
    assert [i.article.id for i in window] == ["both", "a1"]
    # bounds in another offset mean the same instants
    eastern = timezone(timedelta(hours=-4))
    shifted = store.list_articles(start=(T0 + timedelta(minutes=35)).astimezone(eastern))
    assert [i.article.id for i in shifted] == ["none"]
    assert store.list_articles(symbol="IBM") == []


def test_daily_rows_are_upserted_per_symbol_day_and_scorer(store: SqlNewsStore) -> None:
    rows = [
        DailySentiment("AAPL", date(2024, 5, 7), "lexicon", 0.25, 2, 0.25),
        DailySentiment("AAPL", date(2024, 5, 8), "lexicon", -0.5, 1, 0.0),
        DailySentiment("AAPL", date(2024, 5, 6), "lexicon", 0.1, 1, 0.0),
        DailySentiment("AAPL", date(2024, 5, 7), "embedding", 0.6, 2, 0.1),
        DailySentiment("MSFT", date(2024, 5, 7), "lexicon", 0.3, 1, 0.0),
    ]
    assert store.upsert_daily(rows) == 5
    replaced = DailySentiment("AAPL", date(2024, 5, 7), "lexicon", 0.125, 3, 0.5)
    assert store.upsert_daily([replaced]) == 1

    lexicon = store.daily("AAPL", scorer="lexicon")
    assert [r.day for r in lexicon] == [date(2024, 5, 6), date(2024, 5, 7), date(2024, 5, 8)]
    assert lexicon[1] == replaced
    assert store.daily("AAPL", scorer="embedding") == [rows[3]]
    inclusive = store.daily("AAPL", scorer="lexicon", start=date(2024, 5, 7), end=date(2024, 5, 8))
    assert [r.day for r in inclusive] == [date(2024, 5, 7), date(2024, 5, 8)]
    assert store.daily("AAPL", scorer="lexicon", end=date(2024, 5, 6)) == [rows[2]]
    assert store.daily("IBM", scorer="lexicon") == []


def test_models_match_the_migration(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    def touches_news(diff: object) -> bool:
        return any(name in repr(diff) for name in NEWS_TABLES)

    assert [d for d in differences if touches_news(d)] == []


def test_migration_downgrades_to_0004(engine: Engine) -> None:
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= NEWS_TABLES
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    tables = set(inspect(engine).get_table_names())
    assert not NEWS_TABLES & tables
    assert "backtest_runs" in tables
    upgrade(engine)  # and back up again
    assert set(inspect(engine).get_table_names()) >= NEWS_TABLES
