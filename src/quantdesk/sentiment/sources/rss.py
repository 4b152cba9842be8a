"""RSS 2.0 and Atom feeds as a news source (parsed with feedparser).

A feed is read from a URL (over httpx), from bytes already in memory, or from a file. Entries
become :class:`~quantdesk.sentiment.articles.Article` values: the publication time is the
entry's ``published`` date (``updated`` when there is none), converted to UTC; HTML in the
summary is reduced to text; the article's source is the publisher an aggregator names in the
entry's ``<source>`` element, else the source's name. Entries that cannot become articles (no
date, no title) are skipped and reported in :attr:`RssSource.last_error`, never silently.
"""

from __future__ import annotations

import calendar
import html
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx

from quantdesk.core.errors import Issue, ProviderError, RateLimited, ValidationError
from quantdesk.sentiment.articles import Article, deduplicate

__all__ = ["FeedContent", "RssSource", "parse_feed"]

logger = logging.getLogger("quantdesk.sentiment.sources")

_TAG = re.compile(r"<[^>]+>")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
USER_AGENT = "quantdesk-news/0.1 (+https://github.com/quantdesk)"


@dataclass(frozen=True, slots=True)
class FeedContent:
    """What one feed document yielded.

    ``articles`` are in document order; ``issues`` name every entry that was skipped and why;
    ``title`` is the feed's own title (empty when it has none); ``format`` is feedparser's
    version tag (``rss20``, ``atom10``...).
    """

    title: str
    format: str
    articles: tuple[Article, ...]
    issues: tuple[Issue, ...]


def _text(value: Any) -> str:
    text = " ".join(html.unescape(_TAG.sub(" ", str(value or ""))).split())
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed is not None:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return None


def parse_feed(
    data: bytes, *, source: str | None = None, symbols: Sequence[str] = ()
) -> FeedContent:
    """Parse an RSS 2.0, RSS 1.0 or Atom document into articles.

    Parameters
    ----------
    data
        The feed document as bytes (the encoding is read from the XML declaration).
    source
        Source name for articles whose entry names no publisher; the feed title (or
        ``"rss"``) when None.
    symbols
        Symbols to tag every article with (for a company-specific feed).

    Returns
    -------
    FeedContent
        The articles and the issues of skipped entries (``location`` ``entry N``, 1-based).

    Raises
    ------
    ValidationError
        If ``data`` is not an RSS or Atom document.
    """
    parsed = feedparser.parse(io.BytesIO(data))
    version = str(parsed.get("version") or "")
    if not version and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f" ({reason})" if reason else ""
        raise ValidationError(
            "the document is not an RSS or Atom feed",
            [Issue("feed", f"no feed elements found{detail}; check the URL or file")],
        )
    if parsed.get("bozo"):
        logger.warning(
            "feed %s is not well-formed (%s); using the entries that could be read",
            source or "rss",
            parsed.get("bozo_exception"),
        )
    title = _text(parsed.feed.get("title"))
    default_source = source or title or "rss"
    articles: list[Article] = []
    issues: list[Issue] = []
    for number, entry in enumerate(parsed.entries, start=1):
        location = f"entry {number}"
        headline = _text(entry.get("title"))
        if not headline:
            issues.append(Issue(location, "entry has no title; skipped", "title", number))
            continue
        published = _entry_time(entry)
        if published is None:
            issues.append(
                Issue(
                    location,
                    f"entry {headline[:60]!r} has no published or updated date, so it cannot "
                    "be placed in time; skipped",
                    "published",
                    number,
                )
            )
            continue
        publisher = entry.get("source")
        publisher_title = _text(publisher.get("title")) if publisher else ""
        articles.append(
            Article(
                source=publisher_title or default_source,
                published_at=published,
                title=headline,
                summary=_text(entry.get("summary")),
                url=str(entry.get("link") or ""),
                symbols=tuple(symbols),
            )
        )
    return FeedContent(title, version, tuple(articles), tuple(issues))


class RssSource:
    """A news source reading one RSS or Atom feed.

    Build it with a URL (``RssSource("https://...")``), or with :meth:`from_bytes` /
    :meth:`from_file` for a feed already at hand. :meth:`fetch` reads the feed afresh on every
    call; entries it had to skip are reported in :attr:`last_error` (None when there were none)
    and logged as a warning.

    Parameters
    ----------
    url
        Feed URL (http or https); kept as :attr:`location` (the file path, or ``<bytes>``,
        for the other constructors).
    name
        Source name; the feed title when None.
    symbols
        Symbols to tag every article with.
    client
        HTTP client (left open); a private one is created per fetch when None.
    timeout
        Seconds allowed for the request.
    headers
        Extra request headers.

    Raises
    ------
    ValueError
        If the URL is not http(s) or ``timeout`` is not positive.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        symbols: Sequence[str] = (),
        client: httpx.Client | None = None,
        timeout: float = 15.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not url.strip().lower().startswith(("http://", "https://")):
            raise ValueError(f"feed URL must start with http:// or https://, got {url!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._setup(url.strip(), name, symbols)
        self.timeout = timeout
        self._client = client
        self._headers = {"Accept": _ACCEPT, "User-Agent": USER_AGENT, **(headers or {})}
        self._read: Callable[[], bytes] = self._download

    def _setup(self, location: str, name: str | None, symbols: Sequence[str]) -> None:
        self.location = location
        self._configured_name = name
        self.name = name or "rss"
        self.symbols = tuple(symbols)
        self.last_error: ValidationError | None = None

    @classmethod
    def from_bytes(
        cls, data: bytes, *, name: str | None = None, symbols: Sequence[str] = ()
    ) -> RssSource:
        """Return a source serving the feed document ``data``.

        Parameters
        ----------
        data
            The feed document.
        name
            Source name; the feed title when None.
        symbols
            Symbols to tag every article with.

        Returns
        -------
        RssSource
            The source.
        """
        source = cls.__new__(cls)
        source._setup("<bytes>", name, symbols)
        source._read = lambda: data
        return source

    @classmethod
    def from_file(
        cls, path: str | Path, *, name: str | None = None, symbols: Sequence[str] = ()
    ) -> RssSource:
        """Return a source reading the feed document stored in ``path`` on every fetch.

        Parameters
        ----------
        path
            File holding an RSS or Atom document.
        name
            Source name; the feed title when None.
        symbols
            Symbols to tag every article with.

        Returns
        -------
        RssSource
            The source.
        """
        file = Path(path)

        def read() -> bytes:
            try:
                return file.read_bytes()
            except OSError as exc:
                raise ValidationError(
                    f"cannot read feed file {file}",
                    [Issue(str(file), f"{exc.strerror or exc}; check the path")],
                ) from None

        source = cls.__new__(cls)
        source._setup(file.as_posix(), name, symbols)
        source._read = read
        return source

    def __repr__(self) -> str:
        return f"RssSource({self.location!r}, name={self.name!r})"

    def fetch(self, since: datetime | None = None) -> list[Article]:
        """Return the feed's articles published at or after ``since``, oldest first.

        Parameters
        ----------
        since
            Timezone-aware inclusive lower bound; None returns every entry.

        Returns
        -------
        list[Article]
            The articles, de-duplicated within the feed.

        Raises
        ------
        ValueError
            If ``since`` is naive.
        ValidationError
            If the document is not a feed (or the file cannot be read).
        RateLimited
            If the server answers HTTP 429.
        ProviderError
            If the server cannot be reached or answers with an error status.
        """
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware (UTC)")
        content = parse_feed(self._read(), source=self._configured_name, symbols=self.symbols)
        if self._configured_name is None and content.title:
            self.name = content.title
        self.last_error = (
            ValidationError(
                f"feed {self.name}: {len(content.issues)} entries skipped", content.issues
            )
            if content.issues
            else None
        )
        if self.last_error is not None:
            logger.warning("%s", self.last_error.message)
        articles = [
            article
            for article in content.articles
            if since is None or article.published_at >= since
        ]
        return deduplicate(articles)

    def _download(self) -> bytes:
        subject = f"feed {self.location}"
        client = self._client if self._client is not None else httpx.Client(follow_redirects=True)
        try:
            response = client.get(self.location, headers=self._headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise ProviderError(
                f"timed out after {self.timeout:g}s reading {subject}; try again later or raise "
                "the timeout",
                provider=self.name,
                retryable=True,
            ) from None
        except httpx.TransportError as exc:
            raise ProviderError(
                f"could not reach {subject} ({type(exc).__name__}: {exc}); check the network "
                "and the URL",
                provider=self.name,
                retryable=True,
            ) from None
        finally:
            if self._client is None:
                client.close()
        status = response.status_code
        if 200 <= status < 300:
            return response.content
        if status == 429:
            raise RateLimited(
                f"HTTP 429 reading {subject}; wait before polling the feed again",
                provider=self.name,
                retry_after=_retry_after(response),
                status_code=status,
            )
        if status >= 500:
            raise ProviderError(
                f"server error (HTTP {status}) reading {subject}; try again later",
                provider=self.name,
                retryable=True,
                status_code=status,
            )
        hint = "check the URL" if status in (404, 410) else "check the URL and access rights"
        raise ProviderError(
            f"HTTP {status} reading {subject}; {hint}",
            provider=self.name,
            retryable=False,
            status_code=status,
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
