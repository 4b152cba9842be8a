"""Yahoo Finance chart API (``/v8/finance/chart/{symbol}``) as a market-data provider."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from quantdesk.core.clock import Clock, SystemClock
from quantdesk.core.errors import ProviderError
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.data.providers._http import (
    HttpFetcher,
    HttpProvider,
    Sleep,
    requested_symbols,
    within,
)
from quantdesk.data.providers.yahoo.parse import (
    PROVIDER,
    YAHOO_INTERVALS,
    error_description,
    load_chart,
    parse_chart,
)

# Yahoo's own lower bound for "all history" (1900-01-01); period1=0 would cut pre-1970 data.
_EARLIEST_EPOCH = -2208988800
_DAY_SECONDS = 86_400
# Yahoo answers the default httpx user agent with HTTP 429; a browser-style agent is accepted.
_USER_AGENT = "Mozilla/5.0 (compatible; quantdesk market-data client)"


class YahooProvider(HttpProvider):
    """Daily and intraday bars from the Yahoo Finance chart API.

    One request per symbol; each yields one :class:`~quantdesk.data.ports.BarBatch` (source
    ``yahoo:<SYMBOL>``) with bars in ``[request.start, request.end)``. Bars are not validated
    here: run :func:`quantdesk.data.validation.validate_batch` on each batch.

    Parameters
    ----------
    base_url
        Scheme and host of the API, e.g. ``https://query1.finance.yahoo.com``.
    timeout
        Seconds allowed per HTTP attempt.
    max_retries
        Retries for connection errors, timeouts, HTTP 5xx and 429.
    backoff
        Base of the exponential backoff between retries, in seconds.
    client
        HTTP client to use (left open); a private one is created and closed by :meth:`close`
        when ``None``.
    sleep
        Function used to wait between retries.
    adjust
        When true (the default), open, high, low and close of each row are multiplied by
        ``adjclose / close`` so the series is adjusted for splits and dividends; volume is left
        as sent. When false, prices are Yahoo's raw ones (split- but not dividend-adjusted).
    clock
        Source of "now", used as the end of the requested period when ``request.end`` is
        ``None``.
    """

    name: str = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float = 15.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        adjust: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.adjust = adjust
        self._clock = clock if clock is not None else SystemClock()
        self._http = HttpFetcher(
            provider=PROVIDER,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            client=client,
            sleep=sleep,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield one batch of bars per requested symbol.

        Parameters
        ----------
        request
            Symbols (Yahoo spelling: ``AAPL``, ``BRK-B``, ``^GSPC``, ``EURUSD=X``, ``BTC-USD``),
            interval and optional UTC time window.

        Yields
        ------
        BarBatch
            The bars of one symbol and its instrument.

        Raises
        ------
        ValueError
            If the request names no symbol or has a naive or inverted time window.
        RateLimited
            If Yahoo keeps answering HTTP 429.
        ProviderError
            If Yahoo has no data for a symbol or keeps failing.
        """
        symbols = requested_symbols(request, PROVIDER)
        # Daily bars carry the session's opening instant, which for Asian exchanges falls on
        # the previous UTC day: ask for a day more on each side and cut to the window here.
        margin = 0 if request.interval.is_intraday else _DAY_SECONDS
        period1 = _epoch(request.start) - margin if request.start else _EARLIEST_EPOCH
        period2 = _epoch(request.end or self._clock.now()) + margin
        params = {
            "period1": str(period1),
            "period2": str(period2),
            "interval": YAHOO_INTERVALS[request.interval],
            "events": "div,split",
            "includeAdjustedClose": "true",
        }
        for symbol in symbols:
            response = self._http.get(
                f"/v8/finance/chart/{quote(symbol, safe='')}",
                params,
                subject=symbol,
                describe=_describe,
            )
            document = load_chart(response.content)
            bars, instrument = parse_chart(
                document, symbol=symbol, interval=request.interval, adjust=self.adjust
            )
            yield BarBatch(
                source=f"{PROVIDER}:{symbol}",
                bars=within(bars, request.start, request.end),
                instruments=(instrument,),
            )


def _describe(response: httpx.Response) -> str | None:
    try:
        return error_description(load_chart(response.content))
    except ProviderError:
        return None


def _epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())
