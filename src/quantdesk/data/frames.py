"""The canonical in-memory shape of bar data: a polars frame with a fixed schema.

Bars move between providers, validation and stores as frames, never row by row, so a ten-year
intraday load stays a handful of vectorised operations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

import pandas as pd
import polars as pl

from quantdesk.domain import Bar, Interval

TS_TYPE = pl.Datetime("us", "UTC")

BAR_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "interval": pl.String(),
    "ts": TS_TYPE,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}
BAR_COLUMNS: tuple[str, ...] = tuple(BAR_SCHEMA)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
ROW_COLUMN = "row"


def empty_bars() -> pl.DataFrame:
    """Return an empty frame with the bar schema."""
    return pl.DataFrame(schema=BAR_SCHEMA)


def conform(frame: pl.DataFrame, *, keep_row: bool = False) -> pl.DataFrame:
    """Return ``frame`` with exactly the bar columns, in order, cast to the bar schema.

    Missing ``open/high/low/volume`` columns become nulls (close-only data). ``keep_row`` keeps
    the source row-number column used for error messages.
    """
    exprs: list[pl.Expr] = []
    for name, dtype in BAR_SCHEMA.items():
        if name in frame.columns:
            column = pl.col(name)
            if name == "ts" and frame.schema[name] != TS_TYPE:
                column = _to_utc(frame.schema[name], column)
            exprs.append(column.cast(dtype, strict=False).alias(name))
        elif name in ("symbol", "interval", "ts", "close"):
            raise ValueError(f"bar frame lacks the required column {name!r}")
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    if keep_row and ROW_COLUMN in frame.columns:
        exprs.append(pl.col(ROW_COLUMN).cast(pl.Int64))
    return frame.select(exprs)


def _to_utc(dtype: pl.DataType, column: pl.Expr) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if isinstance(dtype, pl.Date):
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return column


def bars_to_frame(bars: Iterable[Bar]) -> pl.DataFrame:
    """Return a bar frame holding ``bars``."""
    rows = [
        {
            "symbol": bar.symbol,
            "interval": bar.interval.value,
            "ts": bar.ts,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
        }
        for bar in bars
    ]
    if not rows:
        return empty_bars()
    return pl.DataFrame(rows, schema=BAR_SCHEMA)


def frame_to_bars(frame: pl.DataFrame) -> list[Bar]:
    """Return the rows of a bar frame as :class:`Bar` objects."""
    return [
        Bar(
            symbol=row["symbol"],
            interval=Interval(row["interval"]),
            ts=_aware(row["ts"]),
            open=row["open"],
            high=row["high"],
            low=row["low"],
            close=row["close"],
            volume=row["volume"],
        )
        for row in conform(frame).iter_rows(named=True)
    ]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def utc_midnight(day: date | None) -> datetime | None:
    """Return the start of ``day`` in UTC (``None`` stays ``None``), for ``[start, end)`` reads."""
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def bars_to_pandas(bars: pl.DataFrame) -> pd.DataFrame:
    """Return stored bars as a pandas OHLCV frame indexed by UTC ``ts``.

    Columns that are null on every row are left out rather than invented: ``open``/``high``/
    ``low`` of a close-only series and ``volume`` of a series without volume.
    """
    columns = ["open", "high", "low", "close", "volume"]
    frame = bars.select(["ts", *columns]).to_pandas().set_index("ts")
    frame.index = pd.DatetimeIndex(frame.index).tz_convert(UTC)
    if frame[["open", "high", "low"]].isna().all(axis=None):
        frame = frame.drop(columns=["open", "high", "low"])
    if frame["volume"].isna().all():
        frame = frame.drop(columns=["volume"])
    return frame
