"""Streaming overlap studies: SMA, EMA, WMA, DEMA, TEMA, KAMA, BBANDS and SAR.

Each class matches the TA-Lib function of the same name (default compatibility, unstable period
0) at every bar, with TA-Lib 0.8's arithmetic (EMA steps and the SAR are fused multiply-adds).
SMA, EMA, DEMA, TEMA, KAMA and SAR are O(1) per bar; SMA, WMA, KAMA and BBANDS keep a ring buffer
of the window because TA-Lib drops the oldest value from its running sums; WMA rebuilds its sums
from that window every ``8·timeperiod`` bars and BBANDS' variance re-centres on it now and then,
so those two are amortised O(1).
"""

from __future__ import annotations

from quantdesk.indicators.streaming._base import (
    NAN,
    StreamingIndicator,
    check_ma_type,
    ma_param,
    period,
    real,
)
from quantdesk.indicators.streaming._cores import (
    MA_TYPES,
    ChainCore,
    EmaCore,
    KamaCore,
    MovingCore,
    SmaCore,
    VarCore,
    WmaCore,
    deviation,
    fma,
    ma_lookback,
    make_ma,
)

_NAN3 = (NAN, NAN, NAN)


class _CloseAverage(StreamingIndicator):
    """A moving average of the close driven by one running core."""

    __slots__ = ("_core",)
    _core: MovingCore

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the average of the close (NaN while warming up)."""
        self._count += 1
        value = self._core.push(close)
        self._value = value
        return value


class SmaStream(_CloseAverage):
    """Simple moving average of the close; matches ``talib.SMA``."""

    __slots__ = ()
    kind = "sma"
    PARAMS = (period("timeperiod", 30, 1),)

    def __init__(self, timeperiod: int = 30) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = SmaCore(n)
        self._lookback = n - 1


class EmaStream(_CloseAverage):
    """Exponential moving average of the close seeded with an SMA; matches ``talib.EMA``."""

    __slots__ = ()
    kind = "ema"
    PARAMS = (period("timeperiod", 30, 1),)

    def __init__(self, timeperiod: int = 30) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = EmaCore(n)
        self._lookback = n - 1


class WmaStream(_CloseAverage):
    """Linearly weighted moving average of the close; matches ``talib.WMA``."""

    __slots__ = ()
    kind = "wma"
    PARAMS = (period("timeperiod", 30, 1),)

    def __init__(self, timeperiod: int = 30) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = WmaCore(n)
        self._lookback = n - 1


class DemaStream(_CloseAverage):
    """Double EMA ``2·EMA - EMA(EMA)`` of the close; matches ``talib.DEMA``."""

    __slots__ = ()
    kind = "dema"
    PARAMS = (period("timeperiod", 30, 1),)

    def __init__(self, timeperiod: int = 30) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = ChainCore(n, 2)
        self._lookback = 2 * (n - 1)


class TemaStream(_CloseAverage):
    """Triple EMA ``3·EMA - 3·EMA² + EMA³`` of the close; matches ``talib.TEMA``."""

    __slots__ = ()
    kind = "tema"
    PARAMS = (period("timeperiod", 30, 1),)

    def __init__(self, timeperiod: int = 30) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = ChainCore(n, 3)
        self._lookback = 3 * (n - 1)


class KamaStream(_CloseAverage):
    """Kaufman adaptive moving average of the close; matches ``talib.KAMA``."""

    __slots__ = ()
    kind = "kama"
    PARAMS = (period("timeperiod", 30, 1),)

    def __init__(self, timeperiod: int = 30) -> None:
        n = int(self._setup({"timeperiod": timeperiod})["timeperiod"])
        self._core = KamaCore(n)
        self._lookback = n


class BbandsStream(StreamingIndicator):
    """Bollinger bands of the close; matches ``talib.BBANDS``; outputs (upper, middle, lower).

    The middle band is the ``matype`` average (0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 6 KAMA), the
    width the population standard deviation over ``timeperiod`` (``talib.STDDEV``'s running
    variance, amortised O(1)).
    """

    __slots__ = ("_down", "_middle", "_start", "_up", "_variance")
    kind = "bbands"
    outputs = ("upper", "middle", "lower")
    PARAMS = (
        period("timeperiod", 20),
        real("nbdevup", 2.0),
        real("nbdevdn", 2.0),
        ma_param("matype"),
    )

    def __init__(
        self, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, matype: int = 0
    ) -> None:
        params = self._setup(
            {"timeperiod": timeperiod, "nbdevup": nbdevup, "nbdevdn": nbdevdn, "matype": matype}
        )
        n = int(params["timeperiod"])
        ma = int(params["matype"])
        check_ma_type(self.kind, "matype", ma, MA_TYPES)
        self._up = float(params["nbdevup"])
        self._down = float(params["nbdevdn"])
        self._lookback = max(ma_lookback(ma, n), n - 1)
        self._middle: MovingCore = make_ma(ma, n)
        self._variance = VarCore(n)
        # TA-Lib opens the deviation where the average starts, so its window sums begin there.
        self._start = self._lookback - (n - 1)

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
        middle = self._middle.push(close)
        if count < self._start:
            return _NAN3
        variance = self._variance.push(close)
        if middle != middle or variance != variance:
            return _NAN3
        width = deviation(variance)
        if self._up == self._down:
            spread = width * self._up
            value = (spread + middle, middle, middle - spread)
        else:
            value = (fma(self._up, width, middle), middle, middle - self._down * width)
        self._value = value
        return value


class SarStream(StreamingIndicator):
    """Parabolic SAR from high and low; matches ``talib.SAR``, including its start.

    Each step is ``fma(extreme - sar, factor, sar)`` clamped to the last two bars' range.

    The first bar only seeds; at the second, the direction is short if that bar's ``-DM`` is
    positive (``talib.MINUS_DM`` over 1 bar), long otherwise, with the SAR at the first bar's low
    (long) or high (short) and the extreme point at the second bar's high or low.
    """

    __slots__ = (
        "_acceleration",
        "_extreme",
        "_factor",
        "_high",
        "_long",
        "_low",
        "_maximum",
        "_sar",
    )
    kind = "sar"
    PARAMS = (real("acceleration", 0.02, 0.0), real("maximum", 0.2, 0.0))

    def __init__(self, acceleration: float = 0.02, maximum: float = 0.2) -> None:
        params = self._setup({"acceleration": acceleration, "maximum": maximum})
        self._acceleration = float(params["acceleration"])
        self._maximum = float(params["maximum"])
        if self._acceleration > self._maximum:
            self._acceleration = self._maximum
        self._factor = self._acceleration
        self._lookback = 1
        self._long = True
        self._sar = NAN
        self._extreme = NAN
        self._high = NAN
        self._low = NAN

    def update(
        self,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts: int | None = None,
    ) -> float:
        """Advance by one bar and return the SAR (NaN at the first bar)."""
        count = self._count
        self._count = count + 1
        if count == 0:
            self._high = high
            self._low = low
            return NAN
        if count == 1:
            minus_dm = self._low - low
            is_long = not (minus_dm > 0 and high - self._high < minus_dm)
            self._long = is_long
            self._extreme = high if is_long else low
            self._sar = self._low if is_long else self._high
            self._high = high
            self._low = low
        previous_high = self._high
        previous_low = self._low
        self._high = high
        self._low = low
        sar = self._sar
        extreme = self._extreme
        factor = self._factor
        if self._long:
            if low <= sar:
                self._long = False
                out = max(high, max(previous_high, extreme))
                factor = self._acceleration
                extreme = low
                sar = fma(factor, low - out, out)
                sar = max(high, max(previous_high, sar))
            else:
                out = sar
                if high > extreme:
                    extreme = high
                    factor = min(factor + self._acceleration, self._maximum)
                sar = fma(extreme - sar, factor, sar)
                sar = min(low, min(previous_low, sar))
        elif high >= sar:
            self._long = True
            out = min(low, min(previous_low, extreme))
            factor = self._acceleration
            extreme = high
            sar = fma(factor, high - out, out)
            sar = min(low, min(previous_low, sar))
        else:
            out = sar
            if low < extreme:
                extreme = low
                factor = min(factor + self._acceleration, self._maximum)
            sar = fma(extreme - sar, factor, sar)
            sar = max(high, max(previous_high, sar))
        self._sar = sar
        self._extreme = extreme
        self._factor = factor
        self._value = out
        return out
