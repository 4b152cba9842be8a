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
    """Return ``bars`` conformed to the bar schema, with naive-UTC timestamps, sorted."""
    frame = conform(bars)
    if frame.schema["ts"] == TS_TYPE:
        frame = frame.with_columns(pl.col("ts").dt.replace_time_zone(None))
    return frame.sort(["symbol", "interval", "ts"])


def readable(frame: pl.DataFrame) -> pl.DataFrame:
    """Return a frame read from a store in the bar schema (UTC timestamps, fixed columns)."""
    return conform(frame.select([c for c in BAR_COLUMNS if c in frame.columns]))
