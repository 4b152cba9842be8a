"""Public surface of quantdesk.sentiment and what importing it loads."""

from __future__ import annotations

import subprocess
import sys

import quantdesk.sentiment as sentiment
import quantdesk.sentiment.sources as sources


def test_public_surface_is_pinned() -> None:
    assert sentiment.__all__ == [
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
    assert sources.__all__ == [
        "FeedContent",
        "JsonlContent",
        "JsonlSource",
        "NewsApiSource",
        "RssSource",
        "parse_feed",
        "parse_jsonl",
    ]
    for name in (*sentiment.__all__, *sources.__all__):
        assert getattr(sentiment, name, None) is not None or getattr(sources, name) is not None


def test_importing_the_package_stays_light() -> None:
    heavy = ("torch", "sentence_transformers", "transformers", "sklearn", "feedparser", "httpx")
    code = (
        "import sys\n"
        "import quantdesk.sentiment\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
