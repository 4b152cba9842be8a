"""Ports of the news subsystem: where articles come from and where they are kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from quantdesk.sentiment.articles import Article
from quantdesk.sentiment.scoring import SentimentScore

__all__ = ["AddedArticles", "DailySentiment", "NewsSource", "NewsStore", "StoredArticle"]


@runtime_checkable
class NewsSource(Protocol):
    """A source of news articles (a feed, a file, a news API).

    Every adapter passes the same contract suite (``tests/unit/sentiment/
    test_sentiment_source_contract.py``): :meth:`fetch` returns articles with timezone-aware UTC
    ``published_at``, published at or after ``since``, sorted oldest first, without two
    articles sharing an ``id``. Vendor details (payload shapes, paging, error codes) stay inside
    the adapter.
    """

    name: str

    def fetch(self, since: datetime | None = None) -> list[Article]:
        """Return the articles published at or after ``since`` (all available when ``None``).

        Parameters
        ----------
        since
            Timezone-aware lower bound on the publication time, inclusive.

        Returns
        -------
        list[Article]
            The articles, oldest first.
        """
        ...


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as kept: its text, its tags and the sentiment it was given when ingested.

    ``scorer`` names the scorer that produced ``sentiment`` (``"lexicon"``, ``"embedding"``);
    ``ingested_at`` is when the article was first stored (UTC).
    """

    article: Article
    sentiment: SentimentScore
    scorer: str
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class DailySentiment:
    """The news sentiment of one symbol on one day, by one scorer.

    ``day`` follows :mod:`quantdesk.sentiment.aggregation` (16:00 New York cut-off); ``mean`` is
    the average article score, ``count`` the number of articles, ``dispersion`` the population
    standard deviation of their scores (0.0 for a single article).
    """

    symbol: str
    day: date
    scorer: str
    mean: float
    count: int
    dispersion: float


@dataclass(frozen=True, slots=True)
class AddedArticles:
    """What :meth:`NewsStore.add_articles` did: ``new`` ids stored, ``duplicates`` skipped."""

    new: tuple[str, ...]
    duplicates: int


class NewsStore(Protocol):
    """Relational store of ingested articles and of the daily sentiment derived from them.

    Every method is one transaction. Articles are never rewritten: an id that is already
    stored is skipped. Daily rows are keyed by (symbol, day, scorer) and replaced on upsert.
    """

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Return the ids among ``ids`` that are already stored."""
        ...

    def add_articles(self, articles: Sequence[StoredArticle]) -> AddedArticles:
        """Store the articles whose id is not stored yet; skip (and count) the others."""
        ...

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
        ...

    def upsert_daily(self, rows: Sequence[DailySentiment]) -> int:
        """Insert or replace daily rows keyed by (symbol, day, scorer); return how many."""
        ...

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
        ...
