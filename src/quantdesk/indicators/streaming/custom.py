"""Streaming quantdesk indicators TA-Lib lacks: session VWAP, Supertrend, Keltner and Donchian.

Each follows the definition in the indicator plan exactly (the batch kernels register the same
definitions), O(1) per bar; Donchian's rolling max/min use monotonic deques (amortised O(1)).
"""

from __future__ import annotations

from quantdesk.indicators.streaming._base import NAN, StreamingIndicator, period, real
from quantdesk.indicators.streaming._cores import AtrCore, EmaCore, RollingExtreme

_MICROSECONDS_PER_DAY = 86_400_000_000
_NAN3 = (NAN, NAN, NAN)
_NAN4 = (NAN, NAN, NAN, NAN)


class VwapStream(StreamingIndicator):
    """Session VWAP: Σ(typical·volume)/Σvolume since the start of the bar's UTC calendar day.

    The typical price is ``(high + low + close)/3``; the value is NaN while the session's volume
    is 0. Needs ``ts`` (epoch microseconds, UTC) on every update.
    """

    __slots__ = ("_day", "_turnover", "_volume")
    kind = "vwap"

    def __init__(self) -> None:
        self._setup({})
        self._day: int | None = None
        self._turnover = 0.0
        self._volume = 0.0

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the session VWAP.

        Raises
        ------
        ValueError
            If ``ts`` is missing: the session cannot be told without it.
        """
        if ts is None:
            raise ValueError("vwap needs the bar time ts (epoch microseconds, UTC)")
        self._count += 1
        day = ts // _MICROSECONDS_PER_DAY
        if day != self._day:
            self._day = day
            self._turnover = 0.0
            self._volume = 0.0
        turnover = self._turnover + ((high + low + close) / 3.0) * volume
        total = self._volume + volume
        self._turnover = turnover
        self._volume = total
        value = turnover / total if total != 0.0 else NAN
        self._value = value
        return value


class SupertrendStream(StreamingIndicator):
    """Supertrend on Wilder's ATR; outputs (supertrend, direction, upper, lower).

    Bands ``hl2 ± multiplier·ATR`` ratchet: the upper band only falls (unless the previous close
    broke above it), the lower only rises; the direction turns +1 when the close crosses above
    the previous upper band and −1 below the previous lower band, and the supertrend is the
    lower band in an uptrend, the upper band in a downtrend. Defined from bar ``timeperiod``.
    """

    __slots__ = ("_atr", "_direction", "_lower", "_multiplier", "_previous_close", "_upper")
    kind = "supertrend"
    outputs = ("supertrend", "direction", "upper", "lower")
    PARAMS = (period("timeperiod", 10, 1), real("multiplier", 3.0, 0.01, 100.0))

    def __init__(self, timeperiod: int = 10, multiplier: float = 3.0) -> None:
        params = self._setup({"timeperiod": timeperiod, "multiplier": multiplier})
        n = int(params["timeperiod"])
        self._multiplier = float(params["multiplier"])
        self._atr = AtrCore(n)
        self._lookback = n
        self._previous_close = NAN
        self._upper = NAN
        self._lower = NAN
        self._direction = 0.0

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> tuple[float, float, float, float]:
        """Advance by one bar and return (supertrend, direction, upper, lower)."""
        count = self._count
        self._count = count + 1
        atr = self._atr.push(high, low, close)
        previous_close = self._previous_close
        self._previous_close = close
        if atr != atr:
            return _NAN4
        middle = (high + low) / 2
        band_upper = middle + self._multiplier * atr
        band_lower = middle - self._multiplier * atr
        if count == self._lookback:
            upper = band_upper
            lower = band_lower
            direction = 1.0 if close >= middle else -1.0
        else:
            previous_upper = self._upper
            previous_lower = self._lower
            upper = (
                band_upper
                if band_upper < previous_upper or previous_close > previous_upper
                else previous_upper
            )
            lower = (
                band_lower
                if band_lower > previous_lower or previous_close < previous_lower
                else previous_lower
            )
            if close > previous_upper:
                direction = 1.0
            elif close < previous_lower:
                direction = -1.0
            else:
                direction = self._direction
        self._upper = upper
        self._lower = lower
        self._direction = direction
        value = (lower if direction == 1.0 else upper, direction, upper, lower)
        self._value = value
        return value


class KeltnerStream(StreamingIndicator):
    """Keltner channel ``EMA(close) ± multiplier·ATR``; outputs (upper, middle, lower).

    The EMA is ``talib.EMA`` over ``timeperiod``, the ATR ``talib.ATR`` over ``atr_period``; all
    three are NaN until both are defined (bar ``max(timeperiod - 1, atr_period)``).
    """

    __slots__ = ("_atr", "_average", "_multiplier")
    kind = "keltner"
    outputs = ("upper", "middle", "lower")
    PARAMS = (
        period("timeperiod", 20),
        real("multiplier", 2.0, 0.01, 100.0),
        period("atr_period", 10, 1),
    )

    def __init__(self, timeperiod: int = 20, multiplier: float = 2.0, atr_period: int = 10) -> None:
        params = self._setup(
            {"timeperiod": timeperiod, "multiplier": multiplier, "atr_period": atr_period}
        )
        n = int(params["timeperiod"])
        atr_n = int(params["atr_period"])
        self._multiplier = float(params["multiplier"])
        self._average = EmaCore(n)
        self._atr = AtrCore(atr_n)
        self._lookback = max(n - 1, atr_n)

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> tuple[float, float, float]:
        """Advance by one bar and return (upper, middle, lower), NaN while warming up."""
        count = self._count
        self._count = count + 1
        middle = self._average.push(close)
        atr = self._atr.push(high, low, close)
        if count < self._lookback:
            return _NAN3
        width = self._multiplier * atr
        value = (middle + width, middle, middle - width)
        self._value = value
        return value


class DonchianStream(StreamingIndicator):
    """Donchian channel: highest high and lowest low of the last ``timeperiod`` bars and their
    midpoint; outputs (upper, middle, lower)."""

    __slots__ = ("_highest", "_lowest")
    kind = "donchian"
    outputs = ("upper", "middle", "lower")
    PARAMS = (period("timeperiod", 20, 1),)

    def __init__(self, timeperiod: int = 20) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._highest = RollingExtreme(n, maximum=True)
        self._lowest = RollingExtreme(n, maximum=False)
        self._lookback = n - 1

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> tuple[float, float, float]:
        """Advance by one bar and return (upper, middle, lower), NaN while warming up."""
        count = self._count
        self._count = count + 1
        upper = self._highest.push(high)[1]
        lower = self._lowest.push(low)[1]
        if count < self._lookback:
            return _NAN3
        value = (upper, (upper + lower) / 2, lower)
        self._value = value
        return value
