"""News-source adapters: RSS/Atom feeds, JSON Lines files and a NewsAPI-style search API.

Each implements :class:`quantdesk.sentiment.ports.NewsSource`. This package is an adapter layer
(it does I/O); import it explicitly, it is not re-exported by :mod:`quantdesk.sentiment`.
"""

from __future__ import annotations

from quantdesk.sentiment.sources.jsonl import JsonlContent, JsonlSource, parse_jsonl
from quantdesk.sentiment.sources.newsapi import NewsApiSource
from quantdesk.sentiment.sources.rss import FeedContent, RssSource, parse_feed

__all__ = [
    "FeedContent",
    "JsonlContent",
    "JsonlSource",
    "NewsApiSource",
    "RssSource",
    "parse_feed",
    "parse_jsonl",
]
