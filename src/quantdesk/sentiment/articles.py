"""News articles as immutable values, and how duplicates are recognised.

An :class:`Article` is what every news source returns. The same story often arrives twice: from
two feeds, with tracking parameters on its link, or re-published with a new URL. Two articles
are duplicates when their **canonical URLs** are equal (see :func:`canonical_url`) or when their
**normalised titles** (see :func:`normalized_title`) are equal and they were published on the
same UTC date. :func:`deduplicate` keeps the earliest copy of each story and merges the symbol
tags of the copies it drops into it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMETERS",
    "Article",
    "article_id",
    "canonical_url",
    "deduplicate",
    "normalized_title",
]

TRACKING_PARAMETERS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ocid",
        "cmpid",
        "ncid",
        "sr_share",
        "taid",
        "ref",
        "ref_src",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "feedtype",
        "rss",
        "cid",
    }
)
"""Query parameters that only track where a click came from; dropped from canonical URLs.

Every parameter starting with ``utm_`` is dropped as well.
"""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TITLE_DROP = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def _normalize_symbols(symbols: Iterable[str]) -> tuple[str, ...]:
    cleaned = {symbol.strip().upper() for symbol in symbols}
    cleaned.discard("")
    return tuple(sorted(cleaned))


@dataclass(frozen=True, slots=True)
class Article:
    """One news item: where it came from, when, what it says and which symbols it concerns.

    Parameters
    ----------
    source
        Publisher or feed the article came from (``"Reuters"``, ``"newsapi"``).
    published_at
        Publication time. Must be timezone-aware; it is stored converted to UTC.
    title
        Headline; surrounding whitespace is removed and it must not be empty.
    summary
        Teaser or description (may be empty).
    url
        Link to the article (may be empty when a source has none).
    symbols
        Ticker symbols the article concerns; stored upper-cased, de-duplicated and sorted.
    id
        Stable identifier. When empty, :func:`article_id` derives one from the canonical URL
        (or, without a URL, from the normalised title and the publication date).

    Raises
    ------
    ValueError
        If ``published_at`` is naive or the title or source is empty.
    """

    source: str
    published_at: datetime
    title: str
    summary: str = ""
    url: str = ""
    symbols: tuple[str, ...] = ()
    id: str = ""

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None or self.published_at.utcoffset() is None:
            raise ValueError(
                f"Article.published_at must be timezone-aware (got naive {self.published_at}); "
                "attach a UTC offset"
            )
        title = " ".join(self.title.split())
        if not title:
            raise ValueError("Article.title must not be empty")
        source = self.source.strip()
        if not source:
            raise ValueError("Article.source must not be empty")
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "summary", " ".join(self.summary.split()))
        object.__setattr__(self, "url", self.url.strip())
        object.__setattr__(self, "published_at", self.published_at.astimezone(UTC))
        object.__setattr__(self, "symbols", _normalize_symbols(self.symbols))
        if not self.id.strip():
            object.__setattr__(
                self, "id", article_id(self.url, self.title, self.published_at.date())
            )

    @property
    def text(self) -> str:
        """Return the title and summary joined into one text for scoring and tagging."""
        if not self.summary:
            return self.title
        separator = " " if self.title.endswith((".", "!", "?")) else ". "
        return f"{self.title}{separator}{self.summary}"

    def with_symbols(self, symbols: Iterable[str]) -> Article:
        """Return a copy tagged with the union of its symbols and ``symbols``.

        Parameters
        ----------
        symbols
            Extra symbols to tag the article with.

        Returns
        -------
        Article
            The copy (``self`` when nothing is added).
        """
        merged = _normalize_symbols((*self.symbols, *symbols))
        return self if merged == self.symbols else replace(self, symbols=merged)


def canonical_url(url: str) -> str:
    """Return the form of ``url`` used to recognise the same article behind different links.

    The scheme is folded to ``https`` (``http`` and ``https`` links to one story are the same
    story), the host is lower-cased with a leading ``www.`` and a default port removed, the
    fragment is dropped, tracking parameters (``utm_*`` and :data:`TRACKING_PARAMETERS`) are
    removed, the remaining query parameters are sorted, and trailing slashes of the path are
    stripped. The path keeps its case: paths are case-sensitive on most servers.

    Parameters
    ----------
    url
        An absolute URL. Anything without a host is returned stripped but otherwise unchanged.

    Returns
    -------
    str
        The canonical URL; ``""`` for an empty input.

    Examples
    --------
    >>> canonical_url("HTTP://WWW.Example.com:80/news/Story-1/?utm_source=rss&b=2&a=1#top")
    'https://example.com/news/Story-1?a=1&b=2'
    """
    text = url.strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    if not parts.hostname:
        return text
    scheme = parts.scheme.lower() or "https"
    host = parts.hostname.lower()
    host = host.removeprefix("www.")
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if scheme == "http":
        scheme = "https"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMETERS
    ]
    query.sort()
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def normalized_title(title: str) -> str:
    """Return ``title`` reduced to case-folded words for duplicate detection.

    Unicode compatibility forms are folded (NFKC), punctuation is removed, and runs of
    whitespace become single spaces.

    Parameters
    ----------
    title
        A headline.

    Returns
    -------
    str
        The normalised title.

    Examples
    --------
    >>> normalized_title("  Acme Corp.  BEATS estimates -- shares jump! ")
    'acme corp beats estimates shares jump'
    """
    folded = unicodedata.normalize("NFKC", title).casefold()
    folded = folded.replace("’", "").replace("'", "")
    return _SPACES.sub(" ", _TITLE_DROP.sub(" ", folded)).strip()


def article_id(url: str, title: str, published_on: date) -> str:
    """Return a stable identifier for an article.

    Parameters
    ----------
    url
        The article link; when it has a canonical form the identifier depends on it alone.
    title
        Headline, used with ``published_on`` when there is no URL.
    published_on
        UTC publication date.

    Returns
    -------
    str
        24 hexadecimal characters of a SHA-256 digest.
    """
    canonical = canonical_url(url)
    key = f"url:{canonical}" if canonical else f"title:{normalized_title(title)}|{published_on}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def deduplicate(articles: Sequence[Article]) -> list[Article]:
    """Drop repeated copies of the same story, keeping the earliest and merging symbol tags.

    Two articles are the same story when their canonical URLs (:func:`canonical_url`) are
    equal, or when their normalised titles (:func:`normalized_title`) are equal and they were
    published on the same UTC date. Articles are visited from the earliest publication time
    (ties keep input order). An article matching any article visited before it (by URL first,
    then by title and day) is folded into the kept article that one belongs to, whose symbols
    become the union of both; otherwise it is kept. Kept articles are never merged with each
    other, so no two kept articles are the same story.

    Parameters
    ----------
    articles
        Articles from one or several sources, in any order.

    Returns
    -------
    list[Article]
        The kept articles, earliest first.
    """
    ordered = sorted(articles, key=lambda article: article.published_at)
    kept: list[Article] = []
    by_url: dict[str, int] = {}
    by_title: dict[tuple[str, date], int] = {}
    for article in ordered:
        url_key = canonical_url(article.url)
        title_key = (normalized_title(article.title), article.published_at.date())
        index = by_url.get(url_key) if url_key else None
        if index is None:
            index = by_title.get(title_key)
        if index is None:
            index = len(kept)
            kept.append(article)
        else:
            kept[index] = kept[index].with_symbols(article.symbols)
        if url_key:
            by_url.setdefault(url_key, index)
        by_title.setdefault(title_key, index)
    return kept
