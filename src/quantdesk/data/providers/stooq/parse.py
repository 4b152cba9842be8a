"""Turn Stooq CSV downloads into bar frames and instruments.

Pure functions: bytes in, a polars frame in the bar schema (plus the ``row`` column) and an
:class:`~quantdesk.domain.Instrument` out, or the typed error a plain-text answer stands for
(Stooq says ``No data`` or reports its daily limit with HTTP 200).
"""

from __future__ import annotations

import io

import polars as pl

from quantdesk.core.errors import ProviderError, RateLimited
from quantdesk.data.frames import ROW_COLUMN, TS_TYPE, conform
from quantdesk.domain import AssetClass, Instrument, Interval

PROVIDER = "stooq"

STOOQ_INTERVALS: dict[Interval, str] = {
    Interval.D1: "d",
    Interval.W1: "w",
    Interval.MO1: "m",
}
"""Stooq's spelling of each interval (``i=`` query parameter)."""

_SUFFIX_CURRENCIES = {"us": "USD", "de": "EUR", "jp": "JPY", "hk": "HKD", "hu": "HUF"}
_NO_DATA = b"no data"
_LIMIT_MARKER = b"exceeded the daily hits limit"
_PRICE_FIELDS = ("open", "high", "low", "close")


def stooq_symbol(symbol: str) -> str:
    """Return Stooq's spelling of ``symbol``.

    A plain ticker is taken to be US-listed (``AAPL`` → ``aapl.us``); a symbol that already
    has an exchange suffix (``VOD.UK``, ``SAP.DE``) or is an index (``^SPX``) is only
    lower-cased.

    Parameters
    ----------
    symbol
        Symbol as the user wrote it.

    Returns
    -------
    str
        The ``s=`` query value.
    """
    lowered = symbol.strip().lower()
    if lowered.startswith("^") or "." in lowered:
        return lowered
    return f"{lowered}.us"


def raise_for_body(body: bytes, *, symbol: str, remote_symbol: str) -> None:
    """Raise the typed error a plain-text Stooq answer stands for.

    Parameters
    ----------
    body
        Raw response body.
    symbol
        Symbol the user asked for.
    remote_symbol
        Stooq's spelling that was requested.

    Raises
    ------
    RateLimited
        If the body reports the exceeded daily hits limit.
    ProviderError
        Not retryable, if Stooq has no data for the symbol.
    """
    text = body.strip().lower()
    if _LIMIT_MARKER in text:
        raise RateLimited(
            f"Stooq's daily download limit is used up (while fetching {symbol}); try again "
            "tomorrow or use another provider",
            provider=PROVIDER,
        )
    if text == _NO_DATA:
        raise ProviderError(
            f"no data for {symbol} (requested as {remote_symbol!r}); check the symbol: Stooq "
            "spells US stocks like aapl.us or brk-b.us, other markets with their suffix "
            "(vod.uk, sap.de) and indices like ^spx",
            provider=PROVIDER,
            retryable=False,
        )


def parse_csv(
    body: bytes,
    *,
    symbol: str,
    remote_symbol: str,
    interval: Interval,
) -> tuple[pl.DataFrame, Instrument]:
    """Return the bars and the instrument of a Stooq ``Date,Open,High,Low,Close,Volume`` CSV.

    Daily bars are stamped at 00:00 UTC of their date; weekly bars on the Monday and monthly
    bars on the first day of their period, whatever day of the period Stooq labels them with.
    A missing ``Volume`` column (indices, currencies) gives null volumes.

    Parameters
    ----------
    body
        Raw CSV; call :func:`raise_for_body` on it first.
    symbol
        Symbol to store the bars under (the one the user asked for).
    remote_symbol
        Stooq's spelling that was requested; its suffix sets the exchange and currency.
    interval
        Interval that was requested.

    Returns
    -------
    tuple[pl.DataFrame, Instrument]
        Bars in the bar schema plus ``row`` (1-based data row of the CSV, header excluded),
        and the instrument (named after the symbol: Stooq sends no metadata).

    Raises
    ------
    ProviderError
        If the body is not a CSV with ``Date`` and ``Close`` columns (not retryable).
    """
    try:
        raw = pl.read_csv(io.BytesIO(body), infer_schema=False)
    except (pl.exceptions.PolarsError, ValueError):
        raw = pl.DataFrame()
    raw = raw.rename({name: name.strip().lstrip("\ufeff").lower() for name in raw.columns})
    if "date" not in raw.columns or "close" not in raw.columns:
        snippet = body[:80].decode("utf-8", "replace").strip()
        raise ProviderError(
            f"unexpected answer for {symbol} (requested as {remote_symbol!r}): {snippet!r}; "
            "expected a Date,Open,High,Low,Close,Volume CSV",
            provider=PROVIDER,
        )
    numbers = [
        (
            pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)
            if name in raw.columns
            else pl.lit(None, dtype=pl.Float64)
        ).alias(name)
        for name in (*_PRICE_FIELDS, "volume")
    ]
    day = pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    ts = day.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if interval == Interval.W1:
        ts = ts.dt.truncate("1w")
    elif interval == Interval.MO1:
        ts = ts.dt.truncate("1mo")
    frame = raw.with_row_index(ROW_COLUMN, offset=1).select(
        pl.col(ROW_COLUMN).cast(pl.Int64),
        pl.lit(symbol).alias("symbol"),
        pl.lit(interval.value).alias("interval"),
        ts.cast(TS_TYPE).alias("ts"),
        *numbers,
    )
    return conform(frame, keep_row=True), _instrument(symbol, remote_symbol)


def _instrument(symbol: str, remote_symbol: str) -> Instrument:
    suffix = remote_symbol.rsplit(".", 1)[1] if "." in remote_symbol else None
    index = remote_symbol.startswith("^")
    return Instrument(
        symbol=symbol,
        name=symbol,
        asset_class=AssetClass.INDEX if index else AssetClass.EQUITY,
        currency=_SUFFIX_CURRENCIES.get(suffix or "", "XXX"),
        exchange=suffix.upper() if suffix else None,
        synthetic=False,
        source=PROVIDER,
    )
