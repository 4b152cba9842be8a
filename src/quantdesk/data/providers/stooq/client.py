"""Stooq CSV download (``/q/d/l/``) as a market-data provider."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.data.providers._http import (
    HttpFetcher,
    HttpProvider,
    Sleep,
    requested_symbols,
    within,
)
from quantdesk.data.providers.stooq.parse import (
    PROVIDER,
    STOOQ_INTERVALS,
    parse_csv,
    raise_for_body,
    stooq_symbol,
)


class StooqProvider(HttpProvider):
    """Daily, weekly and monthly bars from Stooq's CSV download.

    One request per symbol; each yields one :class:`~quantdesk.data.ports.BarBatch` (source
    ``stooq:<SYMBOL>``) with bars in ``[request.start, request.end)``. A plain ticker is
    requested as a US listing (``AAPL`` → ``aapl.us``); the bars are stored under the symbol
    the user asked for. Stooq publishes one price series per symbol, so there is no ``adjust``
    switch. Bars are not validated here: run :func:`quantdesk.data.validation.validate_batch`
    on each batch.

    Parameters
    ----------
    base_url
        Scheme and host of the site, e.g. ``https://stooq.com``.
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
    ) -> None:
        self._http = HttpFetcher(
            provider=PROVIDER,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            client=client,
            sleep=sleep,
            headers={"Accept": "text/csv"},
        )

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield one batch of bars per requested symbol.

        Parameters
        ----------
        request
            Symbols (``AAPL``, or Stooq spellings with a suffix such as ``VOD.UK`` or an index
            such as ``^SPX``), interval (``1d``, ``1w`` or ``1mo``) and optional UTC window.

        Yields
        ------
        BarBatch
            The bars of one symbol and its instrument.

        Raises
        ------
        ValueError
            If the request names no symbol, asks for intraday bars, or has a naive or inverted
            time window.
        RateLimited
            If Stooq's daily hits limit is exceeded or it answers HTTP 429.
        ProviderError
            If Stooq has no data for a symbol or keeps failing.
        """
        symbols = requested_symbols(request, PROVIDER)
        frequency = STOOQ_INTERVALS.get(request.interval)
        if frequency is None:
            served = ", ".join(interval.value for interval in STOOQ_INTERVALS)
            raise ValueError(f"{PROVIDER} serves {served} bars, not {request.interval.value}")
        for symbol in symbols:
            remote = stooq_symbol(symbol)
            response = self._http.get("/q/d/l/", {"s": remote, "i": frequency}, subject=symbol)
            raise_for_body(response.content, symbol=symbol, remote_symbol=remote)
            bars, instrument = parse_csv(
                response.content, symbol=symbol, remote_symbol=remote, interval=request.interval
            )
            yield BarBatch(
                source=f"{PROVIDER}:{symbol}",
                bars=within(bars, request.start, request.end),
                instruments=(instrument,),
            )
