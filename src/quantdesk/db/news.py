"""The news store on SQLite or PostgreSQL (SQLAlchemy): articles, their tags, daily sentiment."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from quantdesk.db.models import DailySentimentRecord, NewsArticleRecord, NewsArticleSymbolRecord
from quantdesk.db.session import aware as _aware
from quantdesk.db.session import make_session_factory, transaction
from quantdesk.sentiment.articles import Article
from quantdesk.sentiment.ports import AddedArticles, DailySentiment, StoredArticle
from quantdesk.sentiment.scoring import LABELS, Label, SentimentScore

__all__ = ["SqlNewsStore"]

_WHAT = "news store"
# Rows per INSERT statement: 12 columns x 200 rows stays far below every driver's limit of
# bound parameters (SQLite's is 32,766; psycopg's 65,535).
_CHUNK = 200

_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"the news store needs timezone-aware times, got naive {moment}")
    return moment.astimezone(UTC)


def _label(value: str) -> Label:
    for label in LABELS:
        if label == value:
            return label
    raise ValueError(f"stored sentiment label {value!r} is not one of {LABELS}")


def _stored(row: NewsArticleRecord) -> StoredArticle:
    published = _aware(row.published_at)
    ingested = _aware(row.ingested_at)
    assert published is not None
    assert ingested is not None
    article = Article(
        source=row.source,
        published_at=published,
        title=row.title,
        summary=row.summary,
        url=row.url,
        symbols=tuple(row.symbols),
        id=row.id,
    )
    sentiment = SentimentScore(row.score, _label(row.label), row.confidence)
    return StoredArticle(article, sentiment, row.scorer, ingested)


def _daily(row: DailySentimentRecord) -> DailySentiment:
    return DailySentiment(
        symbol=row.symbol,
        day=row.day,
        scorer=row.scorer,
        mean=row.mean,
        count=row.count,
        dispersion=row.dispersion,
    )


class SqlNewsStore:
    """The :class:`~quantdesk.sentiment.ports.NewsStore` on SQLAlchemy.

    Inserts use ``ON CONFLICT DO NOTHING`` (articles) and ``ON CONFLICT DO UPDATE`` (daily
    rows), so two processes ingesting the same story at once store it once instead of failing.
    """

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self._engine = engine
        self._sessions = sessions or make_session_factory(engine)

    def _insert(self, table: type[Any]) -> Any:
        if self._engine.dialect.name == "postgresql":
            return pg_insert(table)
        return sqlite_insert(table)

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Return the ids among ``ids`` that are already stored."""
        wanted = sorted(set(ids))
        found: set[str] = set()
        with transaction(self._sessions, _WHAT) as session:
            for chunk in _chunks(wanted, 500):
                query = select(NewsArticleRecord.id).where(NewsArticleRecord.id.in_(chunk))
                found.update(session.scalars(query))
        return found

    def add_articles(self, articles: Sequence[StoredArticle]) -> AddedArticles:
        """Store the articles whose id is not stored yet; skip (and count) the others.

        An id repeated within ``articles`` is stored once (the first) and counted as a
        duplicate.
        """
        unique: dict[str, StoredArticle] = {}
        for item in articles:
            unique.setdefault(item.article.id, item)
        rows = [
            {
                "id": item.article.id,
                "source": item.article.source,
                "published_at": _utc(item.article.published_at),
                "title": item.article.title,
                "summary": item.article.summary,
                "url": item.article.url,
                "symbols": list(item.article.symbols),
                "score": item.sentiment.score,
                "label": item.sentiment.label,
                "confidence": item.sentiment.confidence,
                "scorer": item.scorer,
                "ingested_at": _utc(item.ingested_at),
            }
            for item in unique.values()
        ]
        new: list[str] = []
        with transaction(self._sessions, _WHAT) as session:
            for chunk in _chunks(rows):
                statement = (
                    self._insert(NewsArticleRecord)
                    .values(list(chunk))
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(NewsArticleRecord.id)
                )
                new.extend(session.scalars(statement))
            inserted = set(new)
            tags = [
                {
                    "symbol": symbol,
                    "article_id": item.article.id,
                    "published_at": _utc(item.article.published_at),
                }
                for item in unique.values()
                if item.article.id in inserted
                for symbol in item.article.symbols
            ]
            for chunk in _chunks(tags):
                session.execute(self._insert(NewsArticleSymbolRecord).values(list(chunk)))
        ordered = tuple(item.article.id for item in unique.values() if item.article.id in inserted)
        return AddedArticles(new=ordered, duplicates=len(articles) - len(ordered))

    def list_articles(
        self,
        *,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[StoredArticle]:
        """Return articles (tagged with ``symbol``) published in ``[start, end)``, newest first.

        ``None`` leaves a bound open; ``limit`` caps the number returned (all when ``None``).
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query = select(NewsArticleRecord)
        published = NewsArticleRecord.published_at
        if symbol is not None:
            # Filter and order on the tag table's (symbol, published_at) index.
            published = NewsArticleSymbolRecord.published_at
            query = query.join(
                NewsArticleSymbolRecord, NewsArticleSymbolRecord.article_id == NewsArticleRecord.id
            ).where(NewsArticleSymbolRecord.symbol == symbol)
        if start is not None:
            query = query.where(published >= _utc(start))
        if end is not None:
            query = query.where(published < _utc(end))
        query = query.order_by(published.desc(), NewsArticleRecord.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with transaction(self._sessions, _WHAT) as session:
            return [_stored(row) for row in session.scalars(query)]

    def upsert_daily(self, rows: Sequence[DailySentiment]) -> int:
        """Insert or replace daily rows keyed by (symbol, day, scorer); return how many."""
        unique = {(row.symbol, row.day, row.scorer): row for row in rows}
        values = [
            {
                "symbol": row.symbol,
                "date": row.day,
                "scorer": row.scorer,
                "mean": row.mean,
                "count": row.count,
                "dispersion": row.dispersion,
            }
            for row in unique.values()
        ]
        with transaction(self._sessions, _WHAT) as session:
            for chunk in _chunks(values):
                insert = self._insert(DailySentimentRecord)
                statement = insert.values(list(chunk)).on_conflict_do_update(
                    index_elements=["symbol", "date", "scorer"],
                    set_={
                        "mean": insert.excluded["mean"],
                        "count": insert.excluded["count"],
                        "dispersion": insert.excluded["dispersion"],
                    },
                )
                session.execute(statement)
        return len(values)

    def daily(
        self,
        symbol: str,
        *,
        scorer: str,
        start: date | None = None,
        end: date | None = None,
    ) -> list[DailySentiment]:
        """Return the daily rows of ``symbol`` by ``scorer`` from ``start`` to ``end``
        (inclusive; ``None`` leaves a bound open), oldest first."""
        query = select(DailySentimentRecord).where(
            DailySentimentRecord.symbol == symbol, DailySentimentRecord.scorer == scorer
        )
        if start is not None:
            query = query.where(DailySentimentRecord.day >= start)
        if end is not None:
            query = query.where(DailySentimentRecord.day <= end)
        with transaction(self._sessions, _WHAT) as session:
            return [
                _daily(row) for row in session.scalars(query.order_by(DailySentimentRecord.day))
            ]
