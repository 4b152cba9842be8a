"""Port of the news subsystem: where articles come from."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from quantdesk.sentiment.articles import Article

__all__ = ["NewsSource"]


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
