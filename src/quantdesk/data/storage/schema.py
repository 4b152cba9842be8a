"""What every bar-store adapter shares: table names, columns and resampling rules."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from quantdesk.data.frames import BAR_COLUMNS, TS_TYPE, conform
from quantdesk.domain import Interval

BARS_TABLE = "bars"
SERIES_TABLE = "bar_series"
META_TABLE = "store_meta"
SCHEMA_VERSION = 1

#: Weekly buckets start on Mondays; 2000-01-03 was one.
WEEK_ORIGIN = datetime(2000, 1, 3)

VALUE_COLUMNS = ("open", "high", "low", "close", "volume")


def check_resample(source: Interval, target: Interval) -> None:
    """Raise ``ValueError`` unless ``source`` bars aggregate exactly into ``target`` buckets."""
    if not source.can_resample_to(target):
        raise ValueError(
            f"cannot resample {source.value} bars to {target.value}: the target interval must "
            "be a whole multiple of the stored one"
        )


def to_naive_utc(moment: datetime | None) -> datetime | None:
    """Return ``moment`` as a naive UTC datetime (how stores keep timestamps)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def writable(bars: pl.DataFrame) -> pl.DataFrame:
    """Return ``bars`` conformed to the bar schema, with naive-UTC timestamps, sorted.

    Stores append rows in this order, which keeps per-row-group min/max statistics tight for
    symbol and time-range reads. Validated batches are already sorted, so the (costly) sort
    only runs when a cheap vectorised check finds rows out of order or repeated; a key given
    twice keeps its last row.
    """
    frame = conform(bars)
    if frame.schema["ts"] == TS_TYPE:
        frame = frame.with_columns(pl.col("ts").dt.replace_time_zone(None))
    if not _is_sorted(frame):
        # Stable sort, then keep the last row given for a key: within one write, last wins.
        frame = frame.sort(["symbol", "interval", "ts"], maintain_order=True).unique(
            subset=["symbol", "interval", "ts"], keep="last", maintain_order=True
        )
    return frame


def _is_sorted(frame: pl.DataFrame) -> bool:
    if frame.height < 2:
        return True
    symbol, interval, ts = pl.col("symbol"), pl.col("interval"), pl.col("ts")
    same_symbol = symbol == symbol.shift()
    same_series = same_symbol & (interval == interval.shift())
    in_order = (
        (symbol > symbol.shift())
        | (same_symbol & (interval > interval.shift()))
        | (same_series & (ts > ts.shift()))
    )
    result = frame.select(in_order.slice(1).all()).item()
    return bool(result)


def readable(frame: pl.DataFrame) -> pl.DataFrame:
    """Return a frame read from a store in the bar schema (UTC timestamps, fixed columns)."""
    return conform(frame.select([c for c in BAR_COLUMNS if c in frame.columns]))
