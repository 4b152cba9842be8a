"""Streaming directional-movement and trend indicators: ADX, +DI, −DI, DX, AROON and AROONOSC.

Each class matches the TA-Lib function of the same name (default compatibility, unstable period
0) at every bar, O(1) per bar; AROON's rolling extremes use monotonic deques (amortised O(1)).
"""

from __future__ import annotations

from quantdesk.indicators.streaming._base import (
    NAN,
    TA_EPSILON,
    Stateful,
    StreamingIndicator,
    period,
)
from quantdesk.indicators.streaming._cores import RollingExtreme, true_range

_NAN2 = (NAN, NAN)


class DirectionalCore(Stateful):
    """Wilder-smoothed +DM, −DM and true range as TA-Lib's ADX/DX/PLUS_DI loops keep them.

    The first ``period - 1`` moves are summed; from bar ``period`` on each sum becomes
    ``sum - sum/period + new``.
    """

    __slots__ = (
        "minus_dm",
        "period",
        "plus_dm",
        "previous_close",
        "previous_high",
        "previous_low",
        "range",
        "seen",
    )

    def __init__(self, period: int) -> None:
        self.period = period
        self.seen = 0
        self.previous_high = NAN
        self.previous_low = NAN
        self.previous_close = NAN
        self.plus_dm = 0.0
        self.minus_dm = 0.0
        self.range = 0.0

    def push(self, high: float, low: float, close: float) -> bool:
        """Add one bar; return whether the smoothed sums are defined (bar ``period`` on)."""
        seen = self.seen
        self.seen = seen + 1
        diff_plus = high - self.previous_high
        diff_minus = self.previous_low - low
        previous_close = self.previous_close
        self.previous_high = high
        self.previous_low = low
        self.previous_close = close
        if seen == 0:
            return False
        tr = true_range(high, low, previous_close)
        n = self.period
        if seen < n:
            if diff_minus > 0 and diff_plus < diff_minus:
                self.minus_dm += diff_minus
            elif diff_plus > 0 and diff_plus > diff_minus:
                self.plus_dm += diff_plus
            self.range += tr
            return False
        minus = self.minus_dm
        plus = self.plus_dm
        minus -= minus / n
        plus -= plus / n
        if diff_minus > 0 and diff_plus < diff_minus:
            minus += diff_minus
        elif diff_plus > 0 and diff_plus > diff_minus:
            plus += diff_plus
        self.minus_dm = minus
        self.plus_dm = plus
        self.range = self.range - (self.range / n) + tr
        return True


class AdxStream(StreamingIndicator):
    """Average directional index; matches ``talib.ADX``.

    The first ADX (bar ``2·timeperiod - 1``) averages the DX of bars ``timeperiod`` ..
    ``2·timeperiod - 1``, then ``adx = (adx·(n-1) + dx)/n``. ``plus_di`` and ``minus_di`` give
    the +DI and −DI of the same bar (``talib.PLUS_DI``/``MINUS_DI``, NaN before bar
    ``timeperiod``).
    """

    __slots__ = ("_adx", "_core", "_minus_di", "_plus_di", "_sum_dx")
    kind = "adx"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = DirectionalCore(n)
        self._lookback = 2 * n - 1
        self._sum_dx = 0.0
        self._adx = NAN
        self._plus_di = NAN
        self._minus_di = NAN

    @property
    def plus_di(self) -> float:
        """Return +DI at the latest bar (NaN before bar ``timeperiod``)."""
        return self._plus_di

    @property
    def minus_di(self) -> float:
        """Return −DI at the latest bar (NaN before bar ``timeperiod``)."""
        return self._minus_di

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the ADX (NaN while warming up)."""
        count = self._count
        self._count = count + 1
        core = self._core
        if not core.push(high, low, close):
            return NAN
        n = core.period
        tr = core.range
        dx = NAN
        if tr > 0.0:
            minus_di = (core.minus_dm / tr) * 100.0
            plus_di = (core.plus_dm / tr) * 100.0
            total = minus_di + plus_di
            if not -TA_EPSILON < total < TA_EPSILON:
                dx = (abs(minus_di - plus_di) / total) * 100.0
        else:
            minus_di = plus_di = 0.0
        self._plus_di = plus_di
        self._minus_di = minus_di
        if count < self._lookback:
            if dx == dx:
                self._sum_dx += dx
            return NAN
        if count == self._lookback:
            if dx == dx:
                self._sum_dx += dx
            adx = self._sum_dx / n
        else:
            adx = self._adx
            if dx == dx:
                adx = ((adx * (n - 1)) + dx) / n
        self._adx = adx
        self._value = adx
        return adx


class _DirectionalIndicator(StreamingIndicator):
    """+DI or −DI; TA-Lib's unsmoothed ``dm / tr`` (not in percent) when ``timeperiod`` is 1."""

    __slots__ = ("_core", "_plus")
    _plus: bool

    def _start(self, timeperiod: int, plus: bool) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = DirectionalCore(n)
        self._plus = plus
        self._lookback = n

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the directional indicator (NaN while warming up)."""
        self._count += 1
        core = self._core
        if not core.push(high, low, close):
            return NAN
        dm = core.plus_dm if self._plus else core.minus_dm
        tr = core.range
        value = 0.0
        if tr > 0.0:
            value = dm / tr if core.period == 1 else (dm / tr) * 100.0
        self._value = value
        return value


class PlusDiStream(_DirectionalIndicator):
    """Plus directional indicator; matches ``talib.PLUS_DI``."""

    __slots__ = ()
    kind = "plus_di"
    PARAMS = (period("timeperiod", 14, 1),)

    def __init__(self, timeperiod: int = 14) -> None:
        self._start(timeperiod, plus=True)


class MinusDiStream(_DirectionalIndicator):
    """Minus directional indicator; matches ``talib.MINUS_DI``."""

    __slots__ = ()
    kind = "minus_di"
    PARAMS = (period("timeperiod", 14, 1),)

    def __init__(self, timeperiod: int = 14) -> None:
        self._start(timeperiod, plus=False)


class DxStream(StreamingIndicator):
    """Directional movement index; matches ``talib.DX`` (repeats the last value when +DI + −DI
    or the true range is 0)."""

    __slots__ = ("_core", "_dx")
    kind = "dx"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = DirectionalCore(n)
        self._lookback = n
        self._dx = 0.0

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the DX (NaN while warming up)."""
        self._count += 1
        core = self._core
        if not core.push(high, low, close):
            return NAN
        value = self._dx
        tr = core.range
        if tr > 0.0:
            minus_di = (core.minus_dm / tr) * 100.0
            plus_di = (core.plus_dm / tr) * 100.0
            total = minus_di + plus_di
            if not -TA_EPSILON < total < TA_EPSILON:
                value = (abs(minus_di - plus_di) / total) * 100.0
        self._dx = value
        self._value = value
        return value


class _AroonBase(StreamingIndicator):
    """Bars since the highest high and lowest low of the last ``timeperiod + 1`` bars."""

    __slots__ = ("_factor", "_highest", "_lowest", "_period")

    def _start(self, timeperiod: int) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._period = n
        self._factor = 100.0 / n
        self._highest = RollingExtreme(n + 1, maximum=True)
        self._lowest = RollingExtreme(n + 1, maximum=False)
        self._lookback = n


class AroonStream(_AroonBase):
    """Aroon down and up; matches ``talib.AROON``; outputs (down, up)."""

    __slots__ = ()
    kind = "aroon"
    outputs = ("down", "up")
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        self._start(timeperiod)

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> tuple[float, float]:
        """Advance by one bar and return (down, up), NaN while warming up."""
        count = self._count
        self._count = count + 1
        highest = self._highest.push(high)[0]
        lowest = self._lowest.push(low)[0]
        if count < self._period:
            return _NAN2
        n = self._period
        value = (self._factor * (n - (count - lowest)), self._factor * (n - (count - highest)))
        self._value = value
        return value


class AroonoscStream(_AroonBase):
    """Aroon oscillator (up − down); matches ``talib.AROONOSC``."""

    __slots__ = ()
    kind = "aroonosc"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        self._start(timeperiod)

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the oscillator (NaN while warming up)."""
        count = self._count
        self._count = count + 1
        highest = self._highest.push(high)[0]
        lowest = self._lowest.push(low)[0]
        if count < self._period:
            return NAN
        value = self._factor * (highest - lowest)
        self._value = value
        return value
