"""Turn Yahoo Finance chart-API responses into bar frames and instruments.

Pure functions: JSON in, a polars frame in the bar schema (plus the ``row`` column) and an
:class:`~quantdesk.domain.Instrument` out. Nothing here performs I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from quantdesk.core.errors import ProviderError
from quantdesk.data.frames import ROW_COLUMN, TS_TYPE, conform
from quantdesk.domain import AssetClass, Instrument, Interval

PROVIDER = "yahoo"

YAHOO_INTERVALS: dict[Interval, str] = {
    Interval.M1: "1m",
    Interval.M5: "5m",
    Interval.M15: "15m",
    Interval.H1: "60m",
    Interval.D1: "1d",
    Interval.W1: "1wk",
    Interval.MO1: "1mo",
}
"""Yahoo's spelling of each interval (``interval=`` query parameter)."""

_ASSET_CLASSES: dict[str, AssetClass] = {
    "EQUITY": AssetClass.EQUITY,
    "ETF": AssetClass.ETF,
    "INDEX": AssetClass.INDEX,
    "CRYPTOCURRENCY": AssetClass.CRYPTO,
    "CURRENCY": AssetClass.FX,
    "FUTURE": AssetClass.FUTURE,
}

# Yahoo quotes some markets in minor units; prices are converted to the major currency.
_MINOR_CURRENCIES: dict[str, tuple[str, float]] = {
    "GBp": ("GBP", 0.01),
    "GBX": ("GBP", 0.01),
    "ZAc": ("ZAR", 0.01),
    "ZAC": ("ZAR", 0.01),
    "ILA": ("ILS", 0.01),
}

_UNKNOWN_CURRENCY = "XXX"  # ISO 4217 "no currency": Yahoo did not say.
_PRICE_FIELDS = ("open", "high", "low", "close")


def load_chart(body: bytes) -> dict[str, Any]:
    """Return the decoded JSON document of a chart response.

    Parameters
    ----------
    body
        Raw response body.

    Returns
    -------
    dict[str, Any]
        The document (``{"chart": {...}}``).

    Raises
    ------
    ProviderError
        If the body is not a JSON object (not retryable: an HTML consent or block page).
    """
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ProviderError(
            "the chart API answered with something other than a JSON object; the API may have "
            "changed or be blocking this client",
            provider=PROVIDER,
        )
    return document


def error_description(document: Mapping[str, Any]) -> str | None:
    """Return Yahoo's own error text from a chart (or finance) error document, if any.

    Parameters
    ----------
    document
        Decoded response, e.g. ``{"chart": {"result": null, "error": {"code": "Not Found",
        "description": "No data found, symbol may be delisted"}}}``.

    Returns
    -------
    str | None
        ``"Not Found: No data found, symbol may be delisted"``, or ``None`` without an error.
    """
    for key in ("chart", "finance"):
        section = document.get(key)
        if not isinstance(section, Mapping):
            continue
        error = section.get("error")
        if isinstance(error, Mapping):
            code = str(error.get("code") or "").strip()
            description = str(error.get("description") or "").strip()
            return ": ".join(part for part in (code, description) if part) or None
    return None


def parse_chart(
    document: Mapping[str, Any],
    *,
    symbol: str,
    interval: Interval,
    adjust: bool = True,
) -> tuple[pl.DataFrame, Instrument]:
    """Return the bars and the instrument described by a chart-API document.

    Placeholder rows (every price null, as Yahoo sends for non-trading slots) are dropped.
    Daily, weekly and monthly bars are stamped at 00:00 UTC of their session date in the
    exchange's time zone (``meta.exchangeTimezoneName``, else ``meta.gmtoffset``), weekly bars
    on the Monday and monthly bars on the first of the month; intraday bars keep their epoch
    timestamp in UTC. Prices quoted in minor units (``GBp``, ``ZAc``, ``ILA``) are converted to
    the major currency.

    Parameters
    ----------
    document
        Decoded chart response.
    symbol
        Symbol to store the bars under (the one the user asked for).
    interval
        Interval that was requested.
    adjust
        Scale open, high, low and close of each row by ``adjclose / close`` so the series is
        adjusted for splits and dividends (volume is unchanged). Yahoo's unadjusted prices are
        already split-adjusted; intraday responses carry no ``adjclose`` and stay as sent.

    Returns
    -------
    tuple[pl.DataFrame, Instrument]
        Bars in the bar schema plus ``row`` (1-based position in Yahoo's arrays), ascending as
        sent, and the instrument built from ``meta``.

    Raises
    ------
    ProviderError
        If the document carries an error or does not have the chart shape (not retryable).
    """
    result = _result(document, symbol)
    meta = result.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    instrument, price_scale = _instrument(meta, symbol)

    timestamps = result.get("timestamp") or []
    indicators = result.get("indicators")
    indicators = indicators if isinstance(indicators, Mapping) else {}
    quote = _first(indicators.get("quote"))
    columns: dict[str, Sequence[Any]] = {
        name: quote.get(name) or [None] * len(timestamps) for name in (*_PRICE_FIELDS, "volume")
    }
    adjclose = _first(indicators.get("adjclose")).get("adjclose")
    if adjclose is not None:
        columns["adjclose"] = adjclose
    for name, values in columns.items():
        if not isinstance(values, Sequence) or len(values) != len(timestamps):
            raise ProviderError(
                f"malformed chart for {symbol}: {len(timestamps)} timestamps but the "
                f"'{name}' array does not match; the API may have changed",
                provider=PROVIDER,
            )

    raw = pl.DataFrame(
        {
            ROW_COLUMN: pl.Series(range(1, len(timestamps) + 1), dtype=pl.Int64),
            "epoch": pl.Series(timestamps, dtype=pl.Int64),
            **{name: pl.Series(values, dtype=pl.Float64) for name, values in columns.items()},
        }
    )
    frame = raw.filter(~pl.all_horizontal([pl.col(name).is_null() for name in _PRICE_FIELDS]))
    if adjust and "adjclose" in frame.columns:
        factor = (pl.col("adjclose") / pl.col("close")).alias("_factor")
        # The factor only changes at corporate actions, so a missing adjclose borrows its
        # neighbour's factor rather than leaving one unadjusted row in an adjusted series.
        frame = frame.with_columns(
            factor.fill_null(strategy="backward").fill_null(strategy="forward").fill_null(1.0)
        ).with_columns(pl.col(name) * pl.col("_factor") for name in _PRICE_FIELDS)
    frame = frame.with_columns(
        *(pl.col(name) * price_scale for name in _PRICE_FIELDS),
        _timestamps(meta, interval).alias("ts"),
        pl.lit(instrument.symbol).alias("symbol"),
        pl.lit(interval.value).alias("interval"),
    )
    return conform(frame, keep_row=True), instrument


def _result(document: Mapping[str, Any], symbol: str) -> Mapping[str, Any]:
    description = error_description(document)
    if description is not None:
        raise ProviderError(
            f"no usable data for {symbol} ({description}); check the symbol's Yahoo spelling "
            "(e.g. BRK-B, ^GSPC, EURUSD=X) and the date range",
            provider=PROVIDER,
        )
    chart = document.get("chart")
    results = chart.get("result") if isinstance(chart, Mapping) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], Mapping):
        raise ProviderError(
            f"the chart response for {symbol} has no result; check the symbol or try again later",
            provider=PROVIDER,
        )
    result: Mapping[str, Any] = results[0]
    return result


def _first(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        first: Mapping[str, Any] = value[0]
        return first
    return {}


def _instrument(meta: Mapping[str, Any], symbol: str) -> tuple[Instrument, float]:
    currency = str(meta.get("currency") or "").strip()
    currency, scale = _MINOR_CURRENCIES.get(currency, (currency, 1.0))
    if len(currency) != 3 or not currency.isalpha():
        currency = _UNKNOWN_CURRENCY
    name = str(meta.get("longName") or meta.get("shortName") or symbol).strip() or symbol
    kind = str(meta.get("instrumentType") or "").upper()
    exchange = meta.get("exchangeName")
    instrument = Instrument(
        symbol=symbol,
        name=name,
        asset_class=_ASSET_CLASSES.get(kind, AssetClass.OTHER),
        currency=currency,
        exchange=str(exchange) if exchange else None,
        synthetic=False,
        source=PROVIDER,
    )
    return instrument, scale


def _timestamps(meta: Mapping[str, Any], interval: Interval) -> pl.Expr:
    instant = pl.from_epoch(pl.col("epoch"), time_unit="s").dt.replace_time_zone("UTC")
    if interval.is_intraday:
        return instant.cast(TS_TYPE)
    zone = _zone_name(meta.get("exchangeTimezoneName"))
    if zone is not None:
        session = instant.dt.convert_time_zone(zone).dt.date()
    else:
        offset = meta.get("gmtoffset")
        seconds = int(offset) if isinstance(offset, int | float) else 0
        session = pl.from_epoch(pl.col("epoch") + seconds, time_unit="s").dt.date()
    day = session.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if interval == Interval.W1:
        day = day.dt.truncate("1w")
    elif interval == Interval.MO1:
        day = day.dt.truncate("1mo")
    return day.cast(TS_TYPE)


def _zone_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value
