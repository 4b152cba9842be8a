"""Alpha Vantage ``TIME_SERIES_*`` API as a market-data provider."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from quantdesk.core.errors import ConfigError
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.data.providers._http import (
    HttpFetcher,
    HttpProvider,
    Sleep,
    requested_symbols,
    within,
)
from quantdesk.data.providers.alphavantage.parse import (
    DAILY,
    DAILY_ADJUSTED,
    INTRADAY,
    INTRADAY_INTERVALS,
    PROVIDER,
    load_document,
    parse_time_series,
    raise_for_message,
)
from quantdesk.domain import Interval

API_KEY_VARIABLE = "QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY"


class AlphaVantageProvider(HttpProvider):
    """Daily and intraday bars from the Alpha Vantage time-series API.

    One request per symbol; each yields one :class:`~quantdesk.data.ports.BarBatch` (source
    ``alphavantage:<SYMBOL>``) with bars in ``[request.start, request.end)``, sorted ascending.
    Bars are not validated here: run :func:`quantdesk.data.validation.validate_batch` on each
    batch. Intervals served: ``1m``, ``5m``, ``15m``, ``1h`` and ``1d``; fetch ``1d`` and
    resample for weekly or monthly bars.

    Parameters
    ----------
    base_url
        Scheme and host of the API, e.g. ``https://www.alphavantage.co``.
    api_key
        Alpha Vantage API key. It is only checked when :meth:`fetch` runs (so a process that
        never uses Alpha Vantage needs none) and never appears in an error message or log.
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
        Daily bars: when true (the default), call ``TIME_SERIES_DAILY_ADJUSTED`` and multiply
        open, high, low and close of each row by ``adjusted close / close`` so the series is
        adjusted for splits and dividends (volume is left as sent); when false, call
        ``TIME_SERIES_DAILY`` (raw prices). Intraday bars: passed as Alpha Vantage's own
        ``adjusted`` flag.
    """

    name: str = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 15.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        adjust: bool = True,
    ) -> None:
        self.adjust = adjust
        self._api_key = (api_key or "").strip() or None
        self._http = HttpFetcher(
            provider=PROVIDER,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            client=client,
            sleep=sleep,
            headers={"Accept": "application/json"},
            secrets=(api_key, self._api_key),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._http.base_url!r}, adjust={self.adjust})"

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield one batch of bars per requested symbol.

        Parameters
        ----------
        request
            Symbols (Alpha Vantage spelling: ``IBM``, ``TSCO.LON``), interval and optional UTC
            time window.

        Yields
        ------
        BarBatch
            The bars of one symbol and its instrument.

        Raises
        ------
        ConfigError
            If no API key was configured.
        ValueError
            If the request names no symbol, asks for weekly or monthly bars, or has a naive or
            inverted time window.
        RateLimited
            If Alpha Vantage reports its rate limit (in-band or HTTP 429).
        ProviderError
            If Alpha Vantage rejects the call (e.g. an unknown symbol) or keeps failing.
        """
        if self._api_key is None:
            raise ConfigError(
                f"Alpha Vantage needs an API key; set {API_KEY_VARIABLE} (a free key is "
                "available from Alpha Vantage) or use another provider"
            )
        symbols = requested_symbols(request, PROVIDER)
        base_params = self._params(request.interval)
        function = base_params["function"]
        for symbol in symbols:
            params = {**base_params, "symbol": symbol, "apikey": self._api_key}
            response = self._http.get("/query", params, subject=symbol)
            document = load_document(response.content)
            raise_for_message(document, symbol=symbol, function=function, redact=self._http.redact)
            bars, instrument = parse_time_series(
                document, symbol=symbol, interval=request.interval, adjust=self.adjust
            )
            yield BarBatch(
                source=f"{PROVIDER}:{symbol}",
                bars=within(bars, request.start, request.end),
                instruments=(instrument,),
            )

    def _params(self, interval: Interval) -> dict[str, str]:
        common = {"outputsize": "full", "datatype": "json"}
        if interval == Interval.D1:
            return {"function": DAILY_ADJUSTED if self.adjust else DAILY, **common}
        if interval in INTRADAY_INTERVALS:
            return {
                "function": INTRADAY,
                "interval": INTRADAY_INTERVALS[interval],
                "adjusted": "true" if self.adjust else "false",
                **common,
            }
        served = ", ".join(i.value for i in (*INTRADAY_INTERVALS, Interval.D1))
        raise ValueError(
            f"{PROVIDER} serves {served} bars, not {interval.value}; fetch 1d bars and resample"
        )
