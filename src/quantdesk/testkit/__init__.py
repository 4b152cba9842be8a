"""Test helpers that ship with quantdesk: fakes wired into real components instead of mocks.

- :class:`StaticProvider` serves fixed frames through the ``MarketDataProvider`` port.
- :func:`bars_frame` builds a small, hand-checkable bar frame from a list of closes.
- :class:`~quantdesk.core.clock.SimClock` is re-exported for deterministic time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl

from quantdesk.core.clock import SimClock
from quantdesk.data.frames import BAR_SCHEMA, ROW_COLUMN
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.domain import Instrument, Interval

__all__ = ["SimClock", "StaticProvider", "bars_frame"]


def bars_frame(
    symbol: str,
    closes: Sequence[float],
    *,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    step: timedelta = timedelta(days=1),
    interval: Interval = Interval.D1,
    spread: float = 1.0,
    volume: float = 1000.0,
    close_only: bool = False,
) -> pl.DataFrame:
    """Return bars with the given closes: ``open`` = previous close (first: the close),
    ``high`` = max(open, close) + ``spread``, ``low`` = min(open, close) - ``spread``.

    Timestamps start at ``start`` and advance by ``step`` (calendar steps, weekends included).
    """
    rows = []
    previous = closes[0] if closes else 0.0
    for index, close in enumerate(closes):
        open_ = previous
        rows.append(
            {
                "symbol": symbol,
                "interval": interval.value,
                "ts": start + index * step,
                "open": None if close_only else open_,
                "high": None if close_only else max(open_, close) + spread,
                "low": None if close_only else min(open_, close) - spread,
                "close": float(close),
                "volume": None if close_only else volume,
            }
        )
        previous = close
    return pl.DataFrame(rows, schema=BAR_SCHEMA)


class StaticProvider:
    """A provider that serves fixed frames, one batch each, filtered like a real provider."""

    def __init__(
        self,
        frames: Sequence[pl.DataFrame],
        *,
        name: str = "static",
        instruments: Sequence[Instrument] = (),
    ) -> None:
        self._frames = list(frames)
        self._instruments = tuple(instruments)
        self.name = name

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield each frame as a batch named ``<name>:<index>``."""
        for index, frame in enumerate(self._frames):
            selected = frame
            if request.symbols:
                selected = selected.filter(pl.col("symbol").is_in(list(request.symbols)))
            if ROW_COLUMN not in selected.columns:
                selected = selected.with_row_index(ROW_COLUMN, offset=1)
            symbols = set(selected.get_column("symbol").to_list())
            yield BarBatch(
                source=f"{self.name}:{index}",
                bars=selected,
                instruments=tuple(i for i in self._instruments if i.symbol in symbols),
            )
