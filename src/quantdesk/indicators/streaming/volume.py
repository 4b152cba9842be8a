"""Streaming volatility and volume indicators: ATR, NATR, TRANGE, STDDEV, OBV, AD and ADOSC.

Each class matches the TA-Lib function of the same name (default compatibility, unstable period
0) at every bar, O(1) per bar (STDDEV keeps a ring buffer of its window).
"""

from __future__ import annotations

from quantdesk.indicators.streaming._base import NAN, StreamingIndicator, period, real
from quantdesk.indicators.streaming._cores import (
    AtrCore,
    VarCore,
    deviation,
    fma,
    true_range,
)


class AtrStream(StreamingIndicator):
    """Average true range with Wilder smoothing; matches ``talib.ATR``.

    The first value (bar ``timeperiod``) is the SMA of the first ``timeperiod`` true ranges;
    a ``timeperiod`` of 1 gives the true range itself.
    """

    __slots__ = ("_core",)
    kind = "atr"
    PARAMS = (period("timeperiod", 14, 1),)

    def __init__(self, timeperiod: int = 14) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = AtrCore(n)
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
        """Advance by one bar and return the ATR (NaN while warming up)."""
        self._count += 1
        value = self._core.push(high, low, close)
        self._value = value
        return value


class NatrStream(StreamingIndicator):
    """Normalised ATR ``ATR/close·100``; matches ``talib.NATR`` (0 when the close is 0).

    As in TA-Lib, a ``timeperiod`` of 1 gives the plain true range, not normalised.
    """

    __slots__ = ("_core",)
    kind = "natr"
    PARAMS = (period("timeperiod", 14, 1),)

    def __init__(self, timeperiod: int = 14) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = AtrCore(n)
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
        """Advance by one bar and return the NATR (NaN while warming up)."""
        self._count += 1
        atr = self._core.push(high, low, close)
        if atr != atr or self._lookback == 1:
            self._value = atr
            return atr
        value = (atr / close) * 100.0 if close != 0.0 else 0.0
        self._value = value
        return value


class TrangeStream(StreamingIndicator):
    """True range; matches ``talib.TRANGE`` (NaN at the first bar)."""

    __slots__ = ("_previous_close",)
    kind = "trange"

    def __init__(self) -> None:
        self._setup({})
        self._lookback = 1
        self._previous_close = NAN

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the true range."""
        count = self._count
        self._count = count + 1
        previous_close = self._previous_close
        self._previous_close = close
        if count == 0:
            return NAN
        value = true_range(high, low, previous_close)
        self._value = value
        return value


class StddevStream(StreamingIndicator):
    """Population standard deviation of the close times ``nbdev``; matches ``talib.STDDEV``.

    The variance is TA-Lib 0.8's running variance of sums shifted by a reference value,
    re-centred on the window mean when cancellation threatens (amortised O(1)).
    """

    __slots__ = ("_core", "_deviations")
    kind = "stddev"
    PARAMS = (period("timeperiod", 5), real("nbdev", 1.0))

    def __init__(self, timeperiod: int = 5, nbdev: float = 1.0) -> None:
        params = self._setup({"timeperiod": timeperiod, "nbdev": nbdev})
        n = int(params["timeperiod"])
        self._deviations = float(params["nbdev"])
        self._core = VarCore(n)
        self._lookback = n - 1

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the standard deviation (NaN while warming up)."""
        self._count += 1
        variance = self._core.push(close)
        if variance != variance:
            return NAN
        value = deviation(variance)
        if self._deviations != 1.0:
            value *= self._deviations
        self._value = value
        return value


class ObvStream(StreamingIndicator):
    """On-balance volume, starting at the first bar's volume; matches ``talib.OBV``."""

    __slots__ = ("_obv", "_previous")
    kind = "obv"

    def __init__(self) -> None:
        self._setup({})
        self._obv = NAN
        self._previous = NAN

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the OBV."""
        count = self._count
        self._count = count + 1
        if count == 0:
            obv = float(volume)
        else:
            obv = self._obv
            previous = self._previous
            if close > previous:
                obv += volume
            elif close < previous:
                obv -= volume
        self._previous = close
        self._obv = obv
        self._value = obv
        return obv


class AdStream(StreamingIndicator):
    """Chaikin accumulation/distribution line; matches ``talib.AD``."""

    __slots__ = ("_ad",)
    kind = "ad"

    def __init__(self) -> None:
        self._setup({})
        self._ad = 0.0

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the AD line."""
        self._count += 1
        spread = high - low
        ad = self._ad
        if spread > 0.0:
            ad += (((close - low) - (high - close)) / spread) * volume
        self._ad = ad
        self._value = ad
        return ad


class AdoscStream(StreamingIndicator):
    """Chaikin A/D oscillator (fast EMA − slow EMA of AD); matches ``talib.ADOSC``.

    As in TA-Lib both EMAs start at the first AD value (no SMA seed) and step as
    ``fma(ema, 1 - k, k·ad)``; values are NaN for the first ``max(fastperiod, slowperiod) - 1``
    bars.
    """

    __slots__ = (
        "_ad",
        "_fast",
        "_fast_factor",
        "_fast_keep",
        "_slow",
        "_slow_factor",
        "_slow_keep",
    )
    kind = "adosc"
    PARAMS = (period("fastperiod", 3), period("slowperiod", 10))

    def __init__(self, fastperiod: int = 3, slowperiod: int = 10) -> None:
        params = self._setup({"fastperiod": fastperiod, "slowperiod": slowperiod})
        fast = int(params["fastperiod"])
        slow = int(params["slowperiod"])
        self._lookback = max(fast, slow) - 1
        self._fast_factor = 2.0 / (fast + 1)
        self._fast_keep = 1.0 - self._fast_factor
        self._slow_factor = 2.0 / (slow + 1)
        self._slow_keep = 1.0 - self._slow_factor
        self._ad = 0.0
        self._fast = NAN
        self._slow = NAN

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
        spread = high - low
        ad = self._ad
        if spread > 0.0:
            ad += (((close - low) - (high - close)) / spread) * volume
        self._ad = ad
        if count == 0:
            self._fast = ad
            self._slow = ad
            return NAN
        fast = fma(self._fast, self._fast_keep, ad * self._fast_factor)
        slow = fma(self._slow, self._slow_keep, ad * self._slow_factor)
        self._fast = fast
        self._slow = slow
        if count < self._lookback:
            return NAN
        value = fast - slow
        self._value = value
        return value
