"""News sentiment: articles, symbol tagging, sentiment scoring and daily aggregation.

The typical flow::

    from quantdesk.sentiment import (
        LexiconScorer, SymbolTagger, daily_sentiment, deduplicate, score_articles,
    )
    from quantdesk.sentiment.sources import RssSource

    articles = deduplicate(RssSource("https://example.com/feed.xml").fetch(since))
    tagged = SymbolTagger([("AAPL", "Apple Inc.", ())]).tag_articles(articles)
    features = daily_sentiment(score_articles(tagged, LexiconScorer()))

Importing this package loads neither torch nor scikit-learn: :class:`EmbeddingScorer` imports
them the first time it runs. The news-source adapters live in :mod:`quantdesk.sentiment.sources`.
"""

from __future__ import annotations

from quantdesk.sentiment.aggregation import (
    DAILY_SCHEMA,
    DEFAULT_CUTOFF,
    DEFAULT_TIMEZONE,
    SCORED_SCHEMA,
    daily_sentiment,
    sentiment_frame,
)
from quantdesk.sentiment.articles import (
    Article,
    article_id,
    canonical_url,
    deduplicate,
    normalized_title,
)
from quantdesk.sentiment.ports import NewsSource
from quantdesk.sentiment.scoring import (
    LABELS,
    EmbeddingScorer,
    Label,
    LexiconScorer,
    ScoredArticle,
    SentimentScore,
    SentimentScorer,
    load_training_headlines,
    score_articles,
)
from quantdesk.sentiment.tagging import AMBIGUOUS_TICKERS, Company, SymbolMatch, SymbolTagger

__all__ = [
    "AMBIGUOUS_TICKERS",
    "DAILY_SCHEMA",
    "DEFAULT_CUTOFF",
    "DEFAULT_TIMEZONE",
    "LABELS",
    "SCORED_SCHEMA",
    "Article",
    "Company",
    "EmbeddingScorer",
    "Label",
    "LexiconScorer",
    "NewsSource",
    "ScoredArticle",
    "SentimentScore",
    "SentimentScorer",
    "SymbolMatch",
    "SymbolTagger",
    "article_id",
    "canonical_url",
    "daily_sentiment",
    "deduplicate",
    "load_training_headlines",
    "normalized_title",
    "score_articles",
    "sentiment_frame",
]
