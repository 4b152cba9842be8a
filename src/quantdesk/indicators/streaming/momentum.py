"""Streaming momentum indicators: RSI, MACD, STOCH, CCI, MFI, WILLR, ROC and MOM.

Each class matches the TA-Lib function of the same name (default compatibility, unstable period
0) at every bar. Updates are O(1) except CCI, whose mean absolute deviation must revisit the whole
window (O(timeperiod) per bar, as in TA-Lib); rolling highs and lows use monotonic deques
(amortised O(1)).
"""

from __future__ import annotations

import operator
from functools import reduce

from quantdesk.indicators.streaming._base import (
    NAN,
    TA_EPSILON,
    StreamingIndicator,
    check_ma_type,
    ma_param,
    period,
)
from quantdesk.indicators.streaming._cores import (
    MA_TYPES,
    EmaCore,
    MovingCore,
    RollingExtreme,
    ma_lookback,
    make_ma,
)

_NAN2 = (NAN, NAN)
_NAN3 = (NAN, NAN, NAN)


class RsiStream(StreamingIndicator):
    """Relative strength index with Wilder smoothing; matches ``talib.RSI``.

    The first value (bar ``timeperiod``) averages the first ``timeperiod`` gains and losses;
    then ``avg = (avg·(n-1) + new)·(1/n)``, as TA-Lib 0.8 computes it.
    """

    __slots__ = ("_gain", "_inverse", "_loss", "_period", "_previous")
    kind = "rsi"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        self._period = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._inverse = 1.0 / self._period
        self._lookback = self._period
        self._previous = NAN
        self._gain = 0.0
        self._loss = 0.0

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the RSI of the close (NaN while warming up)."""
        count = self._count
        self._count = count + 1
        change = close - self._previous
        self._previous = close
        if count == 0:
            return NAN
        gain_now = change if change > 0.0 else 0.0
        loss_now = gain_now - change
        n = self._period
        if count > n:
            gain = (self._gain * (n - 1) + gain_now) * self._inverse
            loss = (self._loss * (n - 1) + loss_now) * self._inverse
        else:
            gain = self._gain + gain_now
            loss = self._loss + loss_now
            if count < n:
                self._gain = gain
                self._loss = loss
                return NAN
            gain *= self._inverse
            loss *= self._inverse
        self._gain = gain
        self._loss = loss
        total = loss + gain
        value = (gain / total) * 100.0 if total > 0.0 else 0.0
        self._value = value
        return value


class MacdStream(StreamingIndicator):
    """MACD of the close; matches ``talib.MACD``; outputs (macd, signal, hist).

    As in TA-Lib the fast EMA is seeded with the SMA of the ``fastperiod`` closes ending at
    bar ``slowperiod - 1``, where the slow EMA starts, and every output is NaN until the signal
    EMA (seeded with the SMA of the first ``signalperiod`` MACD values) is defined. If
    ``fastperiod > slowperiod`` the two are swapped, as TA-Lib does. EMAs step as
    ``fma(k, x - prev, prev)``.
    """

    __slots__ = ("_fast", "_fast_start", "_signal", "_slow")
    kind = "macd"
    outputs = ("macd", "signal", "hist")
    PARAMS = (period("fastperiod", 12), period("slowperiod", 26), period("signalperiod", 9, 1))

    def __init__(self, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9) -> None:
        params = self._setup(
            {"fastperiod": fastperiod, "slowperiod": slowperiod, "signalperiod": signalperiod}
        )
        fast = int(params["fastperiod"])
        slow = int(params["slowperiod"])
        if slow < fast:
            fast, slow = slow, fast
        signal = int(params["signalperiod"])
        self._fast = EmaCore(fast)
        self._slow = EmaCore(slow)
        self._signal = EmaCore(signal)
        self._fast_start = slow - fast
        self._lookback = slow - 1 + signal - 1

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> tuple[float, float, float]:
        """Advance by one bar and return (macd, signal, hist), NaN while warming up."""
        count = self._count
        self._count = count + 1
        slow = self._slow.push(close)
        if count < self._fast_start:
            return _NAN3
        fast = self._fast.push(close)
        if slow != slow:
            return _NAN3
        macd = fast - slow
        signal = macd if self._signal.period == 1 else self._signal.push(macd)
        if signal != signal:
            return _NAN3
        value = (macd, signal, macd - signal)
        self._value = value
        return value


class StochStream(StreamingIndicator):
    """Slow stochastic; matches ``talib.STOCH``; outputs (k, d).

    fast %K = (close - lowest low) / (highest high - lowest low) · 100 over ``fastk_period``
    (0 when the range is within 1e-14 of the prices); %K is its ``slowk_matype`` average,
    %D the ``slowd_matype`` average of %K (0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 6 KAMA). Both
    are NaN until %D is defined.
    """

    __slots__ = ("_fastk_period", "_highest", "_lowest", "_slow_d", "_slow_k")
    kind = "stoch"
    outputs = ("k", "d")
    PARAMS = (
        period("fastk_period", 5, 1),
        period("slowk_period", 3, 1),
        ma_param("slowk_matype"),
        period("slowd_period", 3, 1),
        ma_param("slowd_matype"),
    )

    def __init__(
        self,
        fastk_period: int = 5,
        slowk_period: int = 3,
        slowk_matype: int = 0,
        slowd_period: int = 3,
        slowd_matype: int = 0,
    ) -> None:
        params = self._setup(
            {
                "fastk_period": fastk_period,
                "slowk_period": slowk_period,
                "slowk_matype": slowk_matype,
                "slowd_period": slowd_period,
                "slowd_matype": slowd_matype,
            }
        )
        fastk = int(params["fastk_period"])
        k_type, k_period = int(params["slowk_matype"]), int(params["slowk_period"])
        d_type, d_period = int(params["slowd_matype"]), int(params["slowd_period"])
        check_ma_type(self.kind, "slowk_matype", k_type, MA_TYPES)
        check_ma_type(self.kind, "slowd_matype", d_type, MA_TYPES)
        self._fastk_period = fastk
        self._highest = RollingExtreme(fastk, maximum=True)
        self._lowest = RollingExtreme(fastk, maximum=False)
        self._slow_k: MovingCore = make_ma(k_type, k_period)
        self._slow_d: MovingCore = make_ma(d_type, d_period)
        self._lookback = fastk - 1 + ma_lookback(k_type, k_period) + ma_lookback(d_type, d_period)

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> tuple[float, float]:
        """Advance by one bar and return (k, d), NaN while warming up."""
        count = self._count
        self._count = count + 1
        highest = self._highest.push(high)[1]
        lowest = self._lowest.push(low)[1]
        if count < self._fastk_period - 1:
            return _NAN2
        spread = highest - lowest
        if (abs(highest) + abs(lowest)) * TA_EPSILON >= abs(spread):
            fast_k = 0.0
        else:
            fast_k = ((close - lowest) / spread) * 100.0
        slow_k = self._slow_k.push(fast_k)
        if slow_k != slow_k:
            return _NAN2
        slow_d = self._slow_d.push(slow_k)
        if slow_d != slow_d:
            return _NAN2
        value = (slow_k, slow_d)
        self._value = value
        return value


class CciStream(StreamingIndicator):
    """Commodity channel index; matches ``talib.CCI``.

    O(timeperiod) per bar: the mean absolute deviation needs every typical price of the window,
    kept in a ring buffer and summed in TA-Lib's buffer order.
    """

    __slots__ = ("_buffer", "_position")
    kind = "cci"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._buffer = [0.0] * n
        self._position = 0
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
        """Advance by one bar and return the CCI (NaN while warming up)."""
        count = self._count
        self._count = count + 1
        buffer = self._buffer
        n = len(buffer)
        typical = (high + low + close) / 3.0
        position = self._position
        buffer[position] = typical
        self._position = position + 1 if position + 1 < n else 0
        if count < n - 1:
            return NAN
        average = reduce(operator.add, buffer) / n
        deviation = reduce(operator.add, [abs(item - average) for item in buffer]) / n
        offset = typical - average
        tolerance = abs(average) * TA_EPSILON
        value = 0.0
        if tolerance < abs(offset) and tolerance < deviation:
            scaled = deviation * 0.015
            if scaled != 0.0:
                value = offset / scaled
        self._value = value
        return value


class MfiStream(StreamingIndicator):
    """Money flow index; matches ``talib.MFI``.

    A typical price within 1e-14 (relative) of the previous one counts as unchanged and adds no
    flow; after ``timeperiod`` unchanged bars in a row both sums are reset to exactly 0 (and the
    MFI is 0), as TA-Lib 0.8 does.
    """

    __slots__ = (
        "_negative",
        "_negative_sum",
        "_position",
        "_positive",
        "_positive_sum",
        "_previous",
        "_still",
    )
    kind = "mfi"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._positive = [0.0] * n
        self._negative = [0.0] * n
        self._position = 0
        self._positive_sum = 0.0
        self._negative_sum = 0.0
        self._previous = NAN
        self._still = 0
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
        """Advance by one bar and return the MFI (NaN while warming up)."""
        count = self._count
        self._count = count + 1
        typical = (high + low + close) / 3.0
        previous = self._previous
        self._previous = typical
        if count == 0:
            return NAN
        change = typical - previous
        n = self._lookback
        position = self._position
        positive = self._positive
        negative = self._negative
        positive_sum = self._positive_sum - positive[position]
        negative_sum = self._negative_sum - negative[position]
        if (abs(typical) + abs(previous)) * TA_EPSILON >= abs(change):
            positive[position] = 0.0
            negative[position] = 0.0
            unchanged = True
        else:
            flow = volume * typical
            if change < 0.0:
                positive[position] = 0.0
                negative[position] = flow
                negative_sum = flow + negative_sum
            else:
                positive[position] = flow
                negative[position] = 0.0
                positive_sum = flow + positive_sum
            unchanged = flow == 0.0
        self._position = position + 1 if position + 1 < n else 0
        value = NAN
        if unchanged:
            self._still += 1
            if self._still >= n:
                self._still = n
                positive_sum = 0.0
                negative_sum = 0.0
                value = 0.0
        else:
            self._still = 0
        self._positive_sum = positive_sum
        self._negative_sum = negative_sum
        if count < n:
            return NAN
        if value != value:
            total = negative_sum + positive_sum
            numerator = 0.0 if positive_sum < 0.0 else min(total, positive_sum)
            value = (numerator / total) * 100.0 if total > 0.0 else 0.0
        self._value = value
        return value


class WillrStream(StreamingIndicator):
    """Williams' %R; matches ``talib.WILLR`` (0 for a zero range, clamped to [-100, 0])."""

    __slots__ = ("_highest", "_lowest")
    kind = "willr"
    PARAMS = (period("timeperiod", 14),)

    def __init__(self, timeperiod: int = 14) -> None:
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
    ) -> float:
        """Advance by one bar and return %R (NaN while warming up)."""
        count = self._count
        self._count = count + 1
        highest = self._highest.push(high)[1]
        lowest = self._lowest.push(low)[1]
        if count < self._lookback:
            return NAN
        spread = highest - lowest
        if (abs(highest) + abs(lowest)) * TA_EPSILON >= abs(spread):
            value = 0.0
        else:
            value = ((highest - close) / spread) * -100.0
            value = 0.0 if value > 0.0 else max(-100.0, value)
        self._value = value
        return value


class _LagIndicator(StreamingIndicator):
    """The close against the close ``timeperiod`` bars earlier, from a ring buffer."""

    __slots__ = ("_buffer", "_position")

    def _start(self, timeperiod: int) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._buffer = [0.0] * n
        self._position = 0
        self._lookback = n

    def _advance(self, close: float) -> float:
        buffer = self._buffer
        position = self._position
        earlier = buffer[position]
        buffer[position] = close
        position += 1
        self._position = position if position < len(buffer) else 0
        count = self._count
        self._count = count + 1
        return earlier if count >= self._lookback else NAN


class RocStream(_LagIndicator):
    """Rate of change ``(close/close[n] - 1)·100``; matches ``talib.ROC`` (0 if close[n] is 0)."""

    __slots__ = ()
    kind = "roc"
    PARAMS = (period("timeperiod", 10, 1),)

    def __init__(self, timeperiod: int = 10) -> None:
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
        """Advance by one bar and return the ROC (NaN while warming up)."""
        earlier = self._advance(close)
        if earlier != earlier:
            return NAN
        value = ((close / earlier) - 1.0) * 100.0 if earlier != 0.0 else 0.0
        self._value = value
        return value


class MomStream(_LagIndicator):
    """Momentum ``close - close[n]``; matches ``talib.MOM``."""

    __slots__ = ()
    kind = "mom"
    PARAMS = (period("timeperiod", 10, 1),)

    def __init__(self, timeperiod: int = 10) -> None:
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
        """Advance by one bar and return the momentum (NaN while warming up)."""
        value = close - self._advance(close)
        self._value = value
        return value
