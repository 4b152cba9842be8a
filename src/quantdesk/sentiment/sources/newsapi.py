"""NewsAPI-style ``/v2/everything`` search as a news source.

One fetch sends ``GET {base_url}/v2/everything?q=...&from=...&sortBy=publishedAt&pageSize=...
&page=N`` and follows the pages until it has ``totalResults`` articles, a page comes back short,
or ``max_pages`` is reached. A page looks like::

    {"status": "ok", "totalResults": 2,
     "articles": [{"source": {"id": null, "name": "Example Wire"}, "title": "...",
                   "description": "...", "url": "https://...",
                   "publishedAt": "2024-05-07T13:30:00Z", ...}]}

and an error like ``{"status": "error", "code": "rateLimited", "message": "..."}``; each code
maps to a typed error (:class:`~quantdesk.core.errors.RateLimited` for ``rateLimited`` and
``apiKeyExhausted``, :class:`~quantdesk.core.errors.ProviderError` otherwise, ``retryable``
only for ``unexpectedError`` and server errors). ``maximumResultsReached`` past the first page
(the free plan's cap) ends paging early and sets :attr:`NewsApiSource.truncated`.

The API key is sent in the ``X-Api-Key`` header, which the API accepts in place of the
``apiKey`` query parameter, so it never appears in a URL, and URLs are what HTTP clients,
proxies and error messages write down. It is blanked out of every message this module builds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import httpx

from quantdesk.core.errors import ConfigError, Issue, ProviderError, RateLimited, ValidationError
from quantdesk.sentiment.articles import Article, deduplicate

__all__ = ["NewsApiSource"]

logger = logging.getLogger("quantdesk.sentiment.sources")

DEFAULT_BASE_URL = "https://newsapi.org"
_REMOVED = "[Removed]"
_KEY_CODES = {"apiKeyMissing", "apiKeyInvalid", "apiKeyDisabled"}
_QUOTA_CODES = {"rateLimited", "apiKeyExhausted"}
_REQUEST_CODES = {"parameterInvalid", "parametersMissing", "sourcesTooMany", "sourceDoesNotExist"}
_MAX_PAGE_SIZE = 100


class NewsApiSource:
    """Articles matching a search query from a NewsAPI-compatible ``/v2/everything`` endpoint.

    Parameters
    ----------
    query
        Search expression (``q``), e.g. ``'"Acme Corp" OR ACME'``.
    api_key
        API key. Checked when :meth:`fetch` runs; never logged or put in a URL or message.
    base_url
        Scheme and host of the API.
    language
        Two-letter language filter; None for all languages.
    page_size
        Articles per page, 1-100.
    max_pages
        Most pages requested per fetch.
    symbols
        Symbols to tag every article with (the query usually targets one company).
    client
        HTTP client (left open); a private one is created per fetch when None.
    timeout
        Seconds allowed per request.
    name
        Source name.

    Raises
    ------
    ValueError
        If the query is empty or a numeric setting is out of range.
    """

    def __init__(
        self,
        query: str,
        *,
        api_key: str | None,
        base_url: str = DEFAULT_BASE_URL,
        language: str | None = "en",
        page_size: int = 100,
        max_pages: int = 5,
        symbols: Sequence[str] = (),
        client: httpx.Client | None = None,
        timeout: float = 15.0,
        name: str = "newsapi",
    ) -> None:
        if not query.strip():
            raise ValueError("NewsApiSource needs a non-empty search query")
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must lie in 1..{_MAX_PAGE_SIZE}, got {page_size}")
        if max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.query = query.strip()
        self.base_url = base_url.strip().rstrip("/")
        self.language = language
        self.page_size = page_size
        self.max_pages = max_pages
        self.symbols = tuple(symbols)
        self.timeout = timeout
        self.name = name
        self._api_key = (api_key or "").strip() or None
        self._client = client
        self.truncated = False
        self.last_error: ValidationError | None = None

    def __repr__(self) -> str:
        return f"NewsApiSource(query={self.query!r}, base_url={self.base_url!r})"

    def fetch(self, since: datetime | None = None) -> list[Article]:
        """Return the matching articles published at or after ``since``, oldest first.

        Parameters
        ----------
        since
            Timezone-aware inclusive lower bound, sent as ``from`` (UTC, second precision)
            and applied again to the results; None leaves it to the API's default window.

        Returns
        -------
        list[Article]
            The articles, de-duplicated. Records that cannot become articles are skipped and
            listed in :attr:`last_error`; removed articles (title ``[Removed]``) are dropped.

        Raises
        ------
        ConfigError
            If no API key was given.
        ValueError
            If ``since`` is naive.
        RateLimited
            If the API reports ``rateLimited`` or ``apiKeyExhausted`` (or HTTP 429).
        ProviderError
            If the API rejects the key or the request, cannot be reached, or fails.
        """
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware (UTC)")
        if self._api_key is None:
            raise ConfigError(
                f"{self.name} needs an API key; pass api_key (keys are issued by the news API "
                "provider)"
            )
        params: dict[str, str] = {
            "q": self.query,
            "sortBy": "publishedAt",
            "pageSize": str(self.page_size),
        }
        if since is not None:
            params["from"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if self.language:
            params["language"] = self.language
        self.truncated = False
        articles: list[Article] = []
        issues: list[Issue] = []
        client = self._client if self._client is not None else httpx.Client(follow_redirects=True)
        try:
            received = 0
            for page in range(1, self.max_pages + 1):
                payload = self._get(client, {**params, "page": str(page)}, page)
                if payload is None:
                    self.truncated = True
                    break
                records = payload.get("articles")
                if not isinstance(records, list):
                    raise ProviderError(
                        f"page {page} has no 'articles' list; the endpoint does not speak the "
                        "/v2/everything format",
                        provider=self.name,
                    )
                total = payload.get("totalResults")
                received += len(records)
                for index, record in enumerate(records, start=1):
                    article = self._article(record, page, index, issues)
                    if article is not None:
                        articles.append(article)
                if len(records) < self.page_size or (isinstance(total, int) and received >= total):
                    break
            else:
                self.truncated = True
                logger.warning(
                    "%s: stopped after max_pages=%d pages; more articles match %r",
                    self.name,
                    self.max_pages,
                    self.query,
                )
        finally:
            if self._client is None:
                client.close()
        self.last_error = (
            ValidationError(f"{self.name}: {len(issues)} articles skipped", issues)
            if issues
            else None
        )
        if self.last_error is not None:
            logger.warning("%s", self.last_error.message)
        kept = [a for a in articles if since is None or a.published_at >= since]
        return deduplicate(kept)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _get(self, client: httpx.Client, params: Mapping[str, str], page: int) -> Any:
        """Return page ``page``'s JSON payload, or None when the plan's result cap ends paging."""
        subject = f"{self.query!r} (page {page})"
        headers = {"X-Api-Key": self._api_key or "", "Accept": "application/json"}
        try:
            response = client.get(
                f"{self.base_url}/v2/everything",
                params=dict(params),
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise ProviderError(
                f"timed out after {self.timeout:g}s searching {subject}; try again later",
                provider=self.name,
                retryable=True,
            ) from None
        except httpx.TransportError as exc:
            raise ProviderError(
                f"could not reach {self.base_url} searching {subject} "
                f"({type(exc).__name__}: {self._redact(str(exc))}); check the network and "
                "base_url",
                provider=self.name,
                retryable=True,
            ) from None
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("status") == "error":
            code = str(payload.get("code") or "")
            if code == "maximumResultsReached" and page > 1:
                logger.warning(
                    "%s: the API's result cap ended paging at page %d for %r",
                    self.name,
                    page,
                    self.query,
                )
                return None
            self._raise_for_code(code, str(payload.get("message") or ""), status, subject, response)
        if not 200 <= status < 300 or not isinstance(payload, dict):
            if status == 429:
                raise RateLimited(
                    f"HTTP 429 searching {subject}; wait before fetching again",
                    provider=self.name,
                    retry_after=_retry_after(response),
                    status_code=status,
                )
            retryable = status >= 500 or 200 <= status < 300
            what = "an unreadable response" if 200 <= status < 300 else f"HTTP {status}"
            raise ProviderError(
                f"{what} searching {subject}"
                + ("; try again later" if retryable else "; check base_url and the request"),
                provider=self.name,
                retryable=retryable,
                status_code=status,
            )
        return payload

    def _raise_for_code(
        self, code: str, message: str, status: int, subject: str, response: httpx.Response
    ) -> NoReturn:
        said = f"{code}: {self._redact(message)}".strip(": ") if (code or message) else "error"
        if code in _QUOTA_CODES or status == 429:
            raise RateLimited(
                f"rate limit or request quota reached searching {subject} ({said}); wait "
                "before fetching again or upgrade the plan",
                provider=self.name,
                retry_after=_retry_after(response),
                status_code=status,
            )
        if code in _KEY_CODES or status == 401:
            hint = "check the API key passed to the source"
        elif code in _REQUEST_CODES or 400 <= status < 500:
            hint = "check the query and parameters"
        else:
            hint = "try again later"
        raise ProviderError(
            f"the API refused searching {subject} ({said}); {hint}",
            provider=self.name,
            retryable=code == "unexpectedError" or status >= 500,
            status_code=status,
        )

    def _article(self, record: Any, page: int, index: int, issues: list[Issue]) -> Article | None:
        location = f"page {page}, article {index}"
        if not isinstance(record, dict):
            issues.append(Issue(location, "not a JSON object; skipped"))
            return None
        title = record.get("title")
        if title == _REMOVED:
            return None
        if not isinstance(title, str) or not title.strip():
            issues.append(Issue(location, "no title; skipped", "title"))
            return None
        raw_time = record.get("publishedAt")
        try:
            published = datetime.fromisoformat(str(raw_time).strip())
        except ValueError:
            published = None
        if published is None or published.tzinfo is None:
            issues.append(
                Issue(
                    location,
                    f"publishedAt {raw_time!r} is not an ISO 8601 UTC time; skipped",
                    "publishedAt",
                )
            )
            return None
        publisher = record.get("source")
        publisher_name = publisher.get("name") if isinstance(publisher, dict) else None
        description = record.get("description")
        url = record.get("url")
        return Article(
            source=publisher_name
            if isinstance(publisher_name, str) and publisher_name.strip()
            else self.name,
            published_at=published,
            title=title,
            summary=description if isinstance(description, str) else "",
            url=url if isinstance(url, str) else "",
            symbols=self.symbols,
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
