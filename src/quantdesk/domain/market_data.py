"""Market data value objects: intervals, OHLCV bars, L1 quotes and trades.

All timestamps are timezone-aware UTC. A bar's ``ts`` is the start of its interval; daily bars
are stamped at 00:00 UTC of their session date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from quantdesk.domain.instruments import normalize_symbol


class Interval(StrEnum):
    """Bar interval. ``1w`` and ``1mo`` are mostly produced by resampling daily bars."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    D1 = "1d"
    W1 = "1w"
    MO1 = "1mo"

    @classmethod
    def parse(cls, value: str | Interval) -> Interval:
        """Return the interval named by ``value`` or raise ``ValueError`` listing valid ones.

        Common spellings are accepted: ``1min``, ``60m``, ``daily``, ``1wk``, ``monthly``.
        """
        if isinstance(value, Interval):
            return value
        key = value.strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            valid = ", ".join(i.value for i in cls)
            raise ValueError(f"unknown interval {value!r}; use one of {valid}") from None

    @property
    def is_intraday(self) -> bool:
        """Return whether bars of this interval are shorter than a day."""
        return self in (Interval.M1, Interval.M5, Interval.M15, Interval.H1)

    @property
    def nominal(self) -> timedelta:
        """Return the nominal length (a month counts as 30 days)."""
        return _NOMINAL[self]

    def can_resample_to(self, target: Interval) -> bool:
        """Return whether bars of this interval aggregate exactly into ``target`` buckets."""
        if target == self:
            return True
        if target == Interval.MO1:
            return self != Interval.W1
        if self == Interval.MO1:
            return False
        return target.nominal > self.nominal and target.nominal % self.nominal == timedelta(0)


_ALIASES = {
    "1min": "1m",
    "5min": "5m",
    "15min": "15m",
    "60m": "1h",
    "60min": "1h",
    "d": "1d",
    "1day": "1d",
    "daily": "1d",
    "w": "1w",
    "1wk": "1w",
    "weekly": "1w",
    "1month": "1mo",
    "monthly": "1mo",
}

_NOMINAL = {
    Interval.M1: timedelta(minutes=1),
    Interval.M5: timedelta(minutes=5),
    Interval.M15: timedelta(minutes=15),
    Interval.H1: timedelta(hours=1),
    Interval.D1: timedelta(days=1),
    Interval.W1: timedelta(weeks=1),
    Interval.MO1: timedelta(days=30),
}


def _utc(ts: datetime, what: str) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (UTC)")
    return ts.astimezone(UTC)


def _finite_positive(value: float, field: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{field} must be a finite positive number, got {value!r}")


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar.

    ``open``, ``high`` and ``low`` are ``None`` together for close-only series (datasets that
    publish only closing prices); quantdesk never invents them. ``volume`` is ``None`` when the
    source has none.
    """

    symbol: str
    interval: Interval
    ts: datetime
    open: float | None
    high: float | None
    low: float | None
    close: float
    volume: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "interval", Interval.parse(self.interval))
        object.__setattr__(self, "ts", _utc(self.ts, "bar timestamp"))
        _finite_positive(self.close, "close")
        ohl = (self.open, self.high, self.low)
        if any(v is None for v in ohl):
            if not all(v is None for v in ohl):
                raise ValueError("open, high and low must all be set, or all be None (close-only)")
        else:
            open_, high, low = (float(v) for v in ohl if v is not None)
            for name, value in (("open", open_), ("high", high), ("low", low)):
                _finite_positive(value, name)
            if high < max(open_, self.close, low):
                raise ValueError(f"high {high} is below open, low or close")
            if low > min(open_, self.close):
                raise ValueError(f"low {low} is above open or close")
        if self.volume is not None and (not math.isfinite(self.volume) or self.volume < 0):
            raise ValueError(f"volume must be a finite non-negative number, got {self.volume!r}")

    @property
    def close_only(self) -> bool:
        """Return whether the bar carries a close but no open, high or low."""
        return self.open is None


class TradeSide(StrEnum):
    """Aggressor side of a trade."""

    BUY = "buy"
    SELL = "sell"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Quote:
    """A top-of-book (L1) quote."""

    symbol: str
    ts: datetime
    bid: float
    ask: float
    bid_size: float
    ask_size: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "ts", _utc(self.ts, "quote timestamp"))
        _finite_positive(self.bid, "bid")
        _finite_positive(self.ask, "ask")
        if self.ask < self.bid:
            raise ValueError(f"crossed quote: ask {self.ask} is below bid {self.bid}")
        for name, size in (("bid_size", self.bid_size), ("ask_size", self.ask_size)):
            if not math.isfinite(size) or size < 0:
                raise ValueError(f"{name} must be a finite non-negative number, got {size!r}")

    @property
    def mid(self) -> float:
        """Return the mid price."""
        return (self.bid + self.ask) / 2.0

    @property
    def spread(self) -> float:
        """Return the quoted spread."""
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class Trade:
    """One printed trade."""

    symbol: str
    ts: datetime
    price: float
    size: float
    side: TradeSide = TradeSide.UNKNOWN
    trade_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "ts", _utc(self.ts, "trade timestamp"))
        object.__setattr__(self, "side", TradeSide(self.side))
        _finite_positive(self.price, "price")
        _finite_positive(self.size, "size")
