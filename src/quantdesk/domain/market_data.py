"""Market data value objects: intervals, OHLCV bars, L1 quotes and trades.

All timestamps are timezone-aware UTC. A bar's ``ts`` is the start of its interval; daily bars
are stamped at 00:00 UTC of their session date.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

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


def _finite_non_negative(value: float, field: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{field} must be a finite non-negative number, got {value!r}")


_INF = math.inf
_SYMBOLS: dict[str, str] = {}
_SYMBOLS_LIMIT = 65_536


def _remember_symbol(symbol: str) -> str:
    # normalize_symbol is pure, so its result per raw spelling can be memoised (bounded).
    normal = normalize_symbol(symbol)
    if type(symbol) is str:
        if len(_SYMBOLS) >= _SYMBOLS_LIMIT:
            _SYMBOLS.clear()
        _SYMBOLS[symbol] = normal
    return normal


@dataclass(frozen=True, slots=True, init=False)
class Bar:
    """One OHLCV bar.

    ``open``, ``high`` and ``low`` are ``None`` together for close-only series (datasets that
    publish only closing prices); quantdesk never invents them. ``volume`` is ``None`` when the
    source has none.

    Raises ``ValueError`` for a malformed symbol or interval, a naive time, a non-finite or
    non-positive price, inconsistent OHLC or a negative volume.
    """

    symbol: str
    interval: Interval
    ts: datetime
    open: float | None
    high: float | None
    low: float | None
    close: float
    volume: float | None = None

    def __init__(
        self,
        symbol: str,
        interval: Interval,
        ts: datetime,
        open: float | None,
        high: float | None,
        low: float | None,
        close: float,
        volume: float | None = None,
    ) -> None:
        # Engines build one Bar per row, so already-normal inputs (a known symbol, an Interval,
        # a UTC datetime, float prices) take the shortest path; anything else goes through the
        # general conversions, and every value is still checked. Each field is written once
        # through its slot (a frozen dataclass's generated __init__ costs several times more).
        normal = _SYMBOLS.get(symbol) if type(symbol) is str else None
        if normal is None:
            normal = _remember_symbol(symbol)
        if type(interval) is not Interval:
            interval = Interval.parse(interval)
        if type(ts) is not datetime or ts.tzinfo is not UTC:
            ts = _utc(ts, "bar timestamp")
        if not (type(close) is float and 0.0 < close < _INF):
            _finite_positive(close, "close")
        if open is None or high is None or low is None:
            if open is not None or high is not None or low is not None:
                raise ValueError("open, high and low must all be set, or all be None (close-only)")
        else:
            open_, high_, low_ = float(open), float(high), float(low)
            if not 0.0 < open_ < _INF:
                _finite_positive(open_, "open")
            if not 0.0 < high_ < _INF:
                _finite_positive(high_, "high")
            if not 0.0 < low_ < _INF:
                _finite_positive(low_, "low")
            if high_ < open_ or high_ < close or high_ < low_:
                raise ValueError(f"high {high_} is below open, low or close")
            if low_ > open_ or low_ > close:
                raise ValueError(f"low {low_} is above open or close")
        if volume is not None and not (type(volume) is float and 0.0 <= volume < _INF):
            _finite_non_negative(volume, "volume")
        _SET_SYMBOL(self, normal)
        _SET_INTERVAL(self, interval)
        _SET_TS(self, ts)
        _SET_OPEN(self, open)
        _SET_HIGH(self, high)
        _SET_LOW(self, low)
        _SET_CLOSE(self, close)
        _SET_VOLUME(self, volume)

    @property
    def close_only(self) -> bool:
        """Return whether the bar carries a close but no open, high or low."""
        return self.open is None


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    setter: Callable[[Any, Any], None] = vars(cls)[name].__set__
    return setter


(
    _SET_SYMBOL,
    _SET_INTERVAL,
    _SET_TS,
    _SET_OPEN,
    _SET_HIGH,
    _SET_LOW,
    _SET_CLOSE,
    _SET_VOLUME,
) = (
    _slot_setter(Bar, name)
    for name in ("symbol", "interval", "ts", "open", "high", "low", "close", "volume")
)


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
