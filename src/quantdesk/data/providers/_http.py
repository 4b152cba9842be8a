"""The HTTP plumbing shared by the web market-data adapters.

:class:`HttpFetcher` wraps one ``httpx.Client`` and adds what every adapter needs: a timeout,
retries with exponential backoff for transient failures (connection errors, timeouts, HTTP 5xx
and 429, honouring ``Retry-After``), an injectable ``sleep`` so tests never wait, and typed
errors (:class:`~quantdesk.core.errors.ProviderError`,
:class:`~quantdesk.core.errors.RateLimited`) whose messages name the symbol, say what happened
and what to do. Secrets handed to the fetcher (API keys) are blanked out of every message and
log line it writes, and out of the request lines httpx itself logs (``HTTP Request: GET ...``),
since a key sent as a query parameter would otherwise appear there.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self
from urllib.parse import quote, quote_plus, urlsplit

import httpx
import polars as pl

from quantdesk.core.errors import ProviderError, RateLimited
from quantdesk.data.ports import FetchRequest
from quantdesk.domain import normalize_symbol

logger = logging.getLogger("quantdesk.data.providers")

DEFAULT_MAX_WAIT = 60.0
"""Longest ``Retry-After`` (seconds) the fetcher sleeps through before giving up instead."""

_DETAIL_LIMIT = 300

Sleep = Callable[[float], None]
Describe = Callable[[httpx.Response], str | None]


class HttpFetcher:
    """Send GET requests to one vendor with timeouts, retries and typed errors.

    Parameters
    ----------
    provider
        Provider name used in errors and logs (``"yahoo"``).
    base_url
        Scheme and host (plus an optional path prefix) every request path is joined to.
    timeout
        Seconds allowed for each attempt.
    max_retries
        Retries after the first attempt for connection errors, timeouts, HTTP 5xx and 429.
    backoff
        Base delay in seconds; retry ``n`` (1-based) waits ``backoff * 2 ** (n - 1)`` unless the
        server sent ``Retry-After``, which is then waited instead.
    client
        Client to send requests with; the fetcher creates (and later closes) its own when
        ``None``. An injected client is left open for its owner to close.
    sleep
        Function called to wait between attempts.
    headers
        Extra headers sent with every request.
    secrets
        Strings (API keys) that must never appear in an error message or a log line.
    max_wait
        A ``Retry-After`` longer than this many seconds is not slept through: the fetcher raises
        :class:`RateLimited` at once so the caller can decide.

    Raises
    ------
    ValueError
        If ``base_url`` is empty or a numeric setting is out of range.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        timeout: float = 15.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        if not base_url.strip():
            raise ValueError(f"{provider}: base_url must not be empty")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"{provider}: timeout must be a positive number of seconds")
        if max_retries < 0:
            raise ValueError(f"{provider}: max_retries must be 0 or more")
        if not (backoff >= 0 and math.isfinite(backoff)):
            raise ValueError(f"{provider}: backoff must be 0 or more seconds")
        self.provider = provider
        self.base_url = base_url.strip().rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._headers = dict(headers or {})
        self._secrets = _secret_spellings(secrets)
        if self._secrets:
            _HTTPX_LOG_REDACTOR.protect(self._secrets)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(follow_redirects=True)

    def get(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        subject: str,
        describe: Describe | None = None,
    ) -> httpx.Response:
        """Return the successful (2xx) response to ``GET {base_url}{path}?{params}``.

        Parameters
        ----------
        path
            Request path starting with ``/``.
        params
            Query parameters.
        subject
            What is being fetched (the symbol), quoted in every error message.
        describe
            Function extracting the vendor's own explanation from an error response; its text
            is appended to the error message.

        Returns
        -------
        httpx.Response
            The first 2xx response.

        Raises
        ------
        RateLimited
            HTTP 429 persisted through every retry, or ``Retry-After`` asked for a longer wait
            than ``max_wait``.
        ProviderError
            A transient failure persisted through every retry (``retryable=True``), or the
            server rejected the request with another non-2xx status (``retryable=False``; such
            responses are never retried).
        """
        url = self.base_url + path
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = self._client.get(
                    url, params=dict(params), headers=self._headers, timeout=self.timeout
                )
            except httpx.TimeoutException:
                if last:
                    raise ProviderError(
                        f"timed out after {self.timeout:g}s fetching {subject} "
                        f"({attempts} attempt{_plural(attempts)}); check the network or raise "
                        "the provider timeout",
                        provider=self.provider,
                        retryable=True,
                    ) from None
                self._wait(attempt, None, subject, "timed out")
                continue
            except httpx.UnsupportedProtocol:
                raise ProviderError(
                    f"cannot fetch {subject}: the base URL {self.base_url!r} is not an http(s) "
                    "URL; fix the provider base URL setting",
                    provider=self.provider,
                    retryable=False,
                ) from None
            except httpx.TransportError as exc:
                if last:
                    host = urlsplit(self.base_url).netloc or self.base_url
                    raise ProviderError(
                        f"could not reach {host} fetching {subject} "
                        f"({attempts} attempt{_plural(attempts)}): "
                        f"{self.redact(_exception_text(exc))}; check the network, proxy settings "
                        "and the provider base URL",
                        provider=self.provider,
                        retryable=True,
                    ) from None
                self._wait(attempt, None, subject, type(exc).__name__)
                continue
            status = response.status_code
            if 200 <= status < 300:
                return response
            detail = self._detail(response, describe)
            if status == 429:
                retry_after = _retry_after(response)
                if last or (retry_after is not None and retry_after > self.max_wait):
                    wait = f"wait {retry_after:g}s" if retry_after is not None else "wait a while"
                    raise RateLimited(
                        f"rate limit hit fetching {subject} (HTTP 429{detail}, "
                        f"{attempt} attempt{_plural(attempt)}); {wait} before fetching again or "
                        "request fewer symbols at a time",
                        provider=self.provider,
                        retry_after=retry_after,
                        status_code=status,
                    )
                self._wait(attempt, retry_after, subject, "HTTP 429")
                continue
            if status >= 500:
                if last:
                    raise ProviderError(
                        f"server error fetching {subject} (HTTP {status}{detail}) after "
                        f"{attempts} attempt{_plural(attempts)}; the service is having trouble, "
                        "try again later",
                        provider=self.provider,
                        retryable=True,
                        status_code=status,
                    )
                self._wait(attempt, _retry_after(response), subject, f"HTTP {status}")
                continue
            raise ProviderError(
                _client_error_message(status, subject, detail),
                provider=self.provider,
                retryable=False,
                status_code=status,
            )
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced by ``***``.

        Parameters
        ----------
        text
            Text that may quote a URL or a vendor message.

        Returns
        -------
        str
            The text, safe to show or log.
        """
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Close the HTTP client if the fetcher created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _wait(self, attempt: int, retry_after: float | None, subject: str, reason: str) -> None:
        delay = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        logger.warning(
            "%s: %s fetching %s; retrying in %.2fs (retry %d of %d)",
            self.provider,
            self.redact(reason),
            subject,
            delay,
            attempt,
            self.max_retries,
        )
        self._sleep(delay)

    def _detail(self, response: httpx.Response, describe: Describe | None) -> str:
        text: str | None = None
        if describe is not None:
            try:
                text = describe(response)
            except (ValueError, TypeError, KeyError, AttributeError):
                text = None
        if not text:
            return ""
        text = " ".join(self.redact(text).split())
        if len(text) > _DETAIL_LIMIT:
            text = text[: _DETAIL_LIMIT - 3] + "..."
        return f": {text}"


class _RedactingFilter(logging.Filter):
    """Blank registered secrets out of the records of the logger it is attached to."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def protect(self, secrets: Iterable[str]) -> None:
        merged = set(self._secrets).union(secrets)
        self._secrets = tuple(sorted(merged, key=len, reverse=True))
        # httpx logs every request line, URL and query included, on the "httpx" logger.
        logger = logging.getLogger("httpx")
        if self not in logger.filters:
            logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_HTTPX_LOG_REDACTOR = _RedactingFilter()


class HttpProvider:
    """Lifecycle shared by the HTTP providers: close the client, usable as a context manager."""

    _http: HttpFetcher

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def requested_symbols(request: FetchRequest, provider: str) -> tuple[str, ...]:
    """Return the normalised, de-duplicated symbols of ``request``.

    Parameters
    ----------
    request
        The fetch request.
    provider
        Provider name for the error message.

    Returns
    -------
    tuple[str, ...]
        Upper-cased symbols in request order.

    Raises
    ------
    ValueError
        If the request names no symbol, a symbol is malformed, or ``start``/``end`` are naive
        or out of order.
    """
    if not request.symbols:
        raise ValueError(f"{provider} needs at least one symbol in the fetch request")
    for bound, value in (("start", request.start), ("end", request.end)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{provider}: request {bound} must be timezone-aware (UTC)")
    if request.start is not None and request.end is not None and request.start >= request.end:
        raise ValueError(
            f"{provider}: request start {request.start.isoformat()} must be before end "
            f"{request.end.isoformat()}"
        )
    return tuple(dict.fromkeys(normalize_symbol(symbol) for symbol in request.symbols))


def within(bars: pl.DataFrame, start: datetime | None, end: datetime | None) -> pl.DataFrame:
    """Return the rows of ``bars`` whose ``ts`` lies in ``[start, end)``.

    Parameters
    ----------
    bars
        Frame with a UTC ``ts`` column.
    start, end
        Timezone-aware bounds; ``None`` leaves that side open.

    Returns
    -------
    pl.DataFrame
        The rows inside the window, in their original order.
    """
    if start is not None:
        bars = bars.filter(pl.col("ts") >= start.astimezone(UTC))
    if end is not None:
        bars = bars.filter(pl.col("ts") < end.astimezone(UTC))
    return bars


def _client_error_message(status: int, subject: str, detail: str) -> str:
    if status == 404:
        return (
            f"no data for {subject} (HTTP 404{detail}); check the symbol's spelling for this "
            "provider"
        )
    if status in (401, 403):
        return (
            f"request for {subject} was refused (HTTP {status}{detail}); check the API key and "
            "whether the service blocks this network"
        )
    return (
        f"request for {subject} was rejected (HTTP {status}{detail}); check the symbol, interval "
        "and date range"
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        date_header = response.headers.get("Date")
        now = datetime.now(UTC)
        if date_header is not None:
            try:
                now = parsedate_to_datetime(date_header)
            except (TypeError, ValueError, IndexError):
                now = datetime.now(UTC)
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _secret_spellings(secrets: Iterable[str | None]) -> tuple[str, ...]:
    spellings: set[str] = set()
    for secret in secrets:
        if secret:
            spellings.update({secret, quote(secret, safe=""), quote_plus(secret)})
    # Longest first so a secret that contains another is blanked whole.
    return tuple(sorted(spellings, key=len, reverse=True))


def _exception_text(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _plural(count: int) -> str:
    return "" if count == 1 else "s"
