"""Turn Alpha Vantage time-series responses into bar frames and instruments.

Pure functions: JSON in, a polars frame in the bar schema (plus the ``row`` column) and an
:class:`~quantdesk.domain.Instrument` out, or the typed error an in-band message stands for
(Alpha Vantage reports rate limits and bad calls with HTTP 200).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from quantdesk.core.errors import ProviderError, RateLimited
from quantdesk.data.frames import ROW_COLUMN, TS_TYPE, conform
from quantdesk.domain import AssetClass, Instrument, Interval

PROVIDER = "alphavantage"

DAILY_ADJUSTED = "TIME_SERIES_DAILY_ADJUSTED"
DAILY = "TIME_SERIES_DAILY"
INTRADAY = "TIME_SERIES_INTRADAY"

INTRADAY_INTERVALS: dict[Interval, str] = {
    Interval.M1: "1min",
    Interval.M5: "5min",
    Interval.M15: "15min",
    Interval.H1: "60min",
}
"""Alpha Vantage's spelling of each intraday interval (``interval=`` query parameter)."""

_DEFAULT_ZONE = "US/Eastern"  # documented zone of every Alpha Vantage intraday series
_RATE_LIMIT_MARKERS = ("rate limit", "call frequency", "calls per", "requests per")
_PRICE_FIELDS = ("open", "high", "low", "close")

Redact = Callable[[str], str]


def load_document(body: bytes) -> dict[str, Any]:
    """Return the decoded JSON document of a response.

    Parameters
    ----------
    body
        Raw response body.

    Returns
    -------
    dict[str, Any]
        The decoded object.

    Raises
    ------
    ProviderError
        If the body is not a JSON object (not retryable).
    """
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ProviderError(
            "the API answered with something other than a JSON object; check the base URL",
            provider=PROVIDER,
        )
    return document


def raise_for_message(
    document: Mapping[str, Any],
    *,
    symbol: str,
    function: str,
    redact: Redact = str,
) -> None:
    """Raise the typed error an in-band ``Note``/``Information``/``Error Message`` stands for.

    Parameters
    ----------
    document
        Decoded response.
    symbol
        Requested symbol, quoted in the message.
    function
        The ``function=`` that was called.
    redact
        Function applied to Alpha Vantage's text before it is quoted.

    Raises
    ------
    RateLimited
        For ``Note`` and for ``Information`` about the rate limit (``retry_after`` is 60 s when
        the text speaks of a per-minute limit).
    ProviderError
        Not retryable: for ``Error Message`` (usually an unknown symbol or a bad key), for a
        premium-only function and for any other ``Information``.
    """
    error = document.get("Error Message")
    if error is not None:
        text = redact(str(error)).strip()
        if "apikey" in text.lower():
            hint = "check QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY"
        else:
            hint = (
                f"the symbol {symbol!r} may be wrong; Alpha Vantage spells US stocks like IBM and "
                "others with an exchange suffix like TSCO.LON"
            )
        raise ProviderError(
            f"{function} for {symbol} was rejected ({text}); {hint}",
            provider=PROVIDER,
            retryable=False,
        )
    for key in ("Note", "Information"):
        message = document.get(key)
        if message is None:
            continue
        text = redact(str(message)).strip()
        lowered = text.lower()
        if key == "Note" or any(marker in lowered for marker in _RATE_LIMIT_MARKERS):
            per_minute = "minute" in lowered or "second" in lowered
            raise RateLimited(
                f"rate limit reached fetching {symbol} ({text}); wait "
                f"{'a minute' if per_minute else 'until the daily limit resets'} or use a "
                "premium key",
                provider=PROVIDER,
                retry_after=60.0 if per_minute else None,
            )
        if "premium" in lowered:
            alternative = " or pass adjust=False" if function == DAILY_ADJUSTED else ""
            raise ProviderError(
                f"{function} is a premium endpoint for this key, so {symbol} cannot be fetched "
                f"with it ({text}); use a premium key{alternative}",
                provider=PROVIDER,
                retryable=False,
            )
        raise ProviderError(
            f"{function} for {symbol} returned no data: {text}",
            provider=PROVIDER,
            retryable=False,
        )


def parse_time_series(
    document: Mapping[str, Any],
    *,
    symbol: str,
    interval: Interval,
    adjust: bool = True,
) -> tuple[pl.DataFrame, Instrument]:
    """Return the bars and the instrument of a ``TIME_SERIES_*`` document.

    Alpha Vantage lists bars newest first; they come back sorted ascending by time. Daily bars
    are stamped at 00:00 UTC of their date; intraday timestamps are read in the zone named by
    ``Meta Data`` (``US/Eastern``) and converted to UTC.

    Parameters
    ----------
    document
        Decoded response; call :func:`raise_for_message` on it first.
    symbol
        Symbol to store the bars under (the one the user asked for).
    interval
        Interval that was requested.
    adjust
        When the series has ``5. adjusted close`` (``TIME_SERIES_DAILY_ADJUSTED``), scale open,
        high, low and close of each row by ``adjusted close / close`` (volume is unchanged).

    Returns
    -------
    tuple[pl.DataFrame, Instrument]
        Bars in the bar schema plus ``row`` (1-based position of the entry in Alpha Vantage's
        newest-first listing), and the instrument. Alpha Vantage sends no name, currency or
        exchange: the name is the symbol, plain tickers are taken to be US-listed in USD and
        suffixed ones (``TSCO.LON``) get currency ``XXX`` (unknown).

    Raises
    ------
    ProviderError
        If the document holds no time series (not retryable).
    """
    meta = document.get("Meta Data")
    meta = meta if isinstance(meta, Mapping) else {}
    series_key = next((key for key in document if str(key).startswith("Time Series")), None)
    series = document.get(series_key) if series_key is not None else None
    if not isinstance(series, Mapping):
        keys = ", ".join(sorted(map(str, document))) or "none"
        raise ProviderError(
            f"the response for {symbol} holds no time series (keys: {keys}); the API may have "
            "changed",
            provider=PROVIDER,
        )
    names = (*_PRICE_FIELDS, "volume", "adjusted close")
    stamps: list[str] = []
    columns: dict[str, list[str | None]] = {name: [] for name in names}
    for stamp, entry in series.items():
        stamps.append(str(stamp))
        # "1. open" -> "open", "5. adjusted close" -> "adjusted close"
        values = {str(key).split(". ", 1)[-1]: value for key, value in _items(entry)}
        for name, column in columns.items():
            value = values.get(name)
            column.append(None if value is None else str(value).strip())
    frame = pl.DataFrame(
        {
            ROW_COLUMN: pl.Series(range(1, len(stamps) + 1), dtype=pl.Int64),
            "stamp": pl.Series(stamps, dtype=pl.String),
            **{
                name: pl.Series(column, dtype=pl.String).cast(pl.Float64, strict=False)
                for name, column in columns.items()
            },
        }
    )
    if adjust and any(value is not None for value in columns["adjusted close"]):
        frame = frame.with_columns(
            pl.col(name) * (pl.col("adjusted close") / pl.col("close")) for name in _PRICE_FIELDS
        )
    frame = frame.with_columns(
        _timestamps(meta, interval).alias("ts"),
        pl.lit(symbol).alias("symbol"),
        pl.lit(interval.value).alias("interval"),
    ).sort("ts", nulls_last=True, maintain_order=True)
    return conform(frame, keep_row=True), _instrument(symbol)


def _timestamps(meta: Mapping[str, Any], interval: Interval) -> pl.Expr:
    stamp = pl.col("stamp").str.strip_chars()
    if not interval.is_intraday:
        day = stamp.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return day.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(TS_TYPE)
    zone = next(
        (str(value) for key, value in meta.items() if str(key).endswith("Time Zone") and value),
        _DEFAULT_ZONE,
    )
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = _DEFAULT_ZONE
    local = stamp.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False)
    # The repeated hour when clocks go back is read as its first occurrence; the skipped hour
    # when they go forward cannot occur and becomes null (validation then reports it).
    return (
        local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(TS_TYPE)
    )


def _items(entry: Any) -> list[tuple[Any, Any]]:
    return list(entry.items()) if isinstance(entry, Mapping) else []


def _instrument(symbol: str) -> Instrument:
    suffix = symbol.rsplit(".", 1)[1] if "." in symbol else None
    return Instrument(
        symbol=symbol,
        name=symbol,
        asset_class=AssetClass.EQUITY,
        currency="USD" if suffix is None else "XXX",
        exchange=suffix,
        synthetic=False,
        source=PROVIDER,
    )
