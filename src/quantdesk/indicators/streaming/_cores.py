"""Running cores that repeat TA-Lib's arithmetic operation for operation.

TA-Lib 0.8 computes its recurrences with fused multiply-adds (one rounding for ``a·b + c``),
keeps the variance as sums shifted by a reference value that it re-centres when cancellation
threatens, and periodically rebuilds the running sums of WMA from the window. The cores below do
the same, so streamed values equal the batch ones bit for bit rather than merely closely.
:func:`fma` is ``math.fma`` where Python has it (3.13+) and an exact emulation otherwise.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from math import fsum
from typing import TypeAlias

from quantdesk.indicators.streaming._base import NAN, Stateful

#: Veltkamp's splitter for binary64: 2**27 + 1.
_SPLITTER = 134217729.0


def _emulated_fma(a: float, b: float, c: float) -> float:
    # Dekker's exact product a·b = p + e, then a correctly rounded sum of p + e + c.
    p = a * b
    t = _SPLITTER * a
    a_high = t - (t - a)
    a_low = a - a_high
    t = _SPLITTER * b
    b_high = t - (t - b)
    b_low = b - b_high
    e = ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low
    return fsum((p, e, c))


#: ``a·b + c`` rounded once, as C's ``fma``.
fma: Callable[[float, float, float], float] = getattr(math, "fma", _emulated_fma)


def split(value: float) -> tuple[float, float]:
    """Return ``value`` as a high and a low part whose products with a double are exact."""
    t = _SPLITTER * value
    high = t - (t - value)
    return high, value - high


class SmaCore(Stateful):
    """Simple moving average; TA-Lib's running sum: add the new value, divide, drop the oldest."""

    __slots__ = ("buffer", "period", "position", "total", "warm")

    def __init__(self, period: int) -> None:
        self.period = period
        self.buffer = [0.0] * period
        self.position = 0
        self.total = 0.0
        self.warm = 0

    def push(self, value: float) -> float:
        """Add one value; return the average, NaN for the first ``period - 1`` values."""
        buffer = self.buffer
        position = self.position
        total = self.total + value
        buffer[position] = value
        position += 1
        if position == self.period:
            position = 0
        self.position = position
        if self.warm < self.period - 1:
            self.warm += 1
            self.total = total
            return NAN
        self.total = total - buffer[position]
        return total / self.period


class EmaCore(Stateful):
    """Exponential moving average ``fma(k, x - prev, prev)``, k = 2/(n+1), seeded with the SMA
    of the first ``period`` values (TA-Lib's default compatibility)."""

    __slots__ = ("factor", "factor_high", "factor_low", "period", "previous", "seen", "total")

    def __init__(self, period: int) -> None:
        self.period = period
        self.factor = 2.0 / (period + 1)
        self.factor_high, self.factor_low = split(self.factor)
        self.seen = 0
        self.total = 0.0
        self.previous = NAN

    def push(self, value: float) -> float:
        """Add one value; return the EMA, NaN for the first ``period - 1`` values."""
        if self.seen == self.period:
            previous = self.previous
            if self.period == 1:
                return value
            # Inlined exact fma(factor, value - previous, previous), the split factor precomputed.
            delta = value - previous
            product = self.factor * delta
            t = _SPLITTER * delta
            delta_high = t - (t - delta)
            delta_low = delta - delta_high
            high = self.factor_high
            low = self.factor_low
            error = (
                (high * delta_high - product) + high * delta_low + low * delta_high
            ) + low * delta_low
            previous = fsum((product, error, previous))
            self.previous = previous
            return previous
        self.total += value
        self.seen += 1
        if self.seen < self.period:
            return NAN
        self.previous = self.total / self.period
        return self.previous


class WmaCore(Stateful):
    """Weighted moving average with TA-Lib's running ``periodSum``/``periodSub`` recurrence,
    rebuilt from the window every ``8·period`` values to stop drift (as TA-Lib 0.8 does)."""

    __slots__ = (
        "buffer",
        "countdown",
        "divider",
        "period",
        "period_sub",
        "period_sum",
        "position",
        "trailing",
        "warm",
    )

    def __init__(self, period: int) -> None:
        self.period = period
        self.divider = float((period * (period + 1)) >> 1)
        self.buffer = [0.0] * period
        self.position = 0
        self.period_sum = 0.0
        self.period_sub = 0.0
        self.trailing = 0.0
        self.countdown = 8 * period
        self.warm = 0

    def push(self, value: float) -> float:
        """Add one value; return the WMA, NaN for the first ``period - 1`` values."""
        n = self.period
        if n == 1:
            return value
        buffer = self.buffer
        position = self.position
        buffer[position] = value
        position += 1
        if position == n:
            position = 0
        self.position = position
        if self.warm < n - 1:
            self.warm += 1
            self.period_sub += value
            self.period_sum += value * self.warm
            return NAN
        self.countdown -= 1
        if self.countdown > 0:
            period_sub = self.period_sub + value
            period_sub -= self.trailing
            period_sum = n * value + self.period_sum
        else:
            self.countdown = 8 * n
            period_sub = 0.0
            period_sum = 0.0
            for weight in range(1, n + 1):
                item = buffer[(position + weight - 1) % n]
                period_sub += item
                period_sum += weight * item
        self.trailing = buffer[position]
        self.period_sum = period_sum - period_sub
        self.period_sub = period_sub
        return period_sum / self.divider


class ChainCore(Stateful):
    """Cascade of EMAs for DEMA (2) and TEMA (3), each seeded on the previous one's output."""

    __slots__ = ("first", "period", "second", "third")

    def __init__(self, period: int, depth: int) -> None:
        self.period = period
        self.first = EmaCore(period)
        self.second = EmaCore(period)
        self.third = EmaCore(period) if depth == 3 else None

    def push(self, value: float) -> float:
        """Add one value; return DEMA ``2e1 - e2`` or TEMA ``(3e1 - 3e2) + e3``."""
        if self.period == 1:
            return value
        first = self.first.push(value)
        if first != first:
            return NAN
        second = self.second.push(first)
        if second != second:
            return NAN
        third_core = self.third
        if third_core is None:
            return (first + first) - second
        third = third_core.push(second)
        if third != third:
            return NAN
        return ((3.0 * first) - (3.0 * second)) + third


_KAMA_SLOWEST = 2.0 / (30.0 + 1.0)
_KAMA_SPAN = 2.0 / (2.0 + 1.0) - _KAMA_SLOWEST


class KamaCore(Stateful):
    """Kaufman adaptive moving average, TA-Lib 0.8's loop.

    The efficiency ratio is |x - x[n]| over the sum of |Δx| of the window (1 when that sum is
    not positive, capped at 1); the sum is reset to exactly 0 after ``period`` unchanged values.
    """

    __slots__ = (
        "buffer",
        "last",
        "period",
        "position",
        "previous",
        "still",
        "sum_roc",
        "trailing",
        "warm",
    )

    def __init__(self, period: int) -> None:
        self.period = period
        self.buffer = [0.0] * (period + 1)
        self.position = 0
        self.sum_roc = 0.0
        self.previous = NAN
        self.trailing = 0.0
        self.last = NAN
        self.still = 0
        self.warm = 0

    def push(self, value: float) -> float:
        """Add one value; return KAMA, NaN for the first ``period`` values."""
        n = self.period
        if n == 1:
            return value
        buffer = self.buffer
        position = self.position
        last = self.last
        buffer[position] = value
        position += 1
        if position == n + 1:
            position = 0
        self.position = position
        self.last = value
        warm = self.warm
        change = value - last
        if warm <= n:
            self.warm = warm + 1
            if warm:
                self.sum_roc += abs(change)
                self.still = self.still + 1 if change == 0.0 else 0
            if warm < n:
                return NAN
            self.previous = last
        else:
            self.sum_roc = (self.sum_roc - abs(self.trailing - buffer[position])) + abs(change)
            if change == 0.0:
                self.still += 1
                if self.still >= n:
                    self.still = n
                    self.sum_roc = 0.0
            else:
                self.still = 0
        oldest = buffer[position]  # value[t - period]
        self.trailing = oldest
        sum_roc = self.sum_roc
        period_roc = value - oldest
        if sum_roc <= 0.0 or period_roc >= sum_roc:
            ratio = 1.0
        else:
            ratio = min(1.0, abs(period_roc / sum_roc))
        smoothing = fma(_KAMA_SPAN, ratio, _KAMA_SLOWEST)
        smoothing *= smoothing
        previous = self.previous
        previous = fma(smoothing, value - previous, previous)
        self.previous = previous
        return previous


class VarCore(Stateful):
    """Population variance as TA-Lib 0.8 keeps it: sums of ``x - K`` and ``(x - K)²`` for a
    reference ``K`` (the first value), re-centred on the window mean when the variance falls
    below 1e-6 of the mean square, when a dropped value dominates the sum of squares, or every
    ``32·period`` values. The re-centring revisits the window (O(period)), hence amortised O(1).
    """

    __slots__ = (
        "buffer",
        "countdown",
        "inverse",
        "period",
        "position",
        "shift",
        "sum",
        "sum_squares",
        "warm",
    )

    def __init__(self, period: int) -> None:
        self.period = period
        self.inverse = 1.0 / period
        self.buffer = [0.0] * period
        self.position = 0
        self.shift = NAN
        self.sum = 0.0
        self.sum_squares = 0.0
        self.countdown = 32 * period
        self.warm = 0

    def push(self, value: float) -> float:
        """Add one value; return the variance, NaN for the first ``period - 1`` values."""
        n = self.period
        buffer = self.buffer
        position = self.position
        buffer[position] = value
        position += 1
        if position == n:
            position = 0
        self.position = position
        if self.warm == 0:
            self.shift = value
        shift = self.shift
        delta = value - shift
        total = self.sum + delta
        squares = self.sum_squares + delta * delta
        if self.warm < n - 1:
            self.warm += 1
            self.sum = total
            self.sum_squares = squares
            return NAN
        inverse = self.inverse
        mean = inverse * total
        variance = inverse * squares - mean * mean
        dropped = buffer[position] - shift
        dropped_square = dropped * dropped
        squares -= dropped_square
        recentre = inverse * squares * 1e-6 > variance or dropped_square > squares * 1e6
        if not recentre:
            self.countdown -= 1
            recentre = self.countdown == 0
        if recentre:
            self.countdown = 32 * n
            window = buffer[position:] + buffer[:position]
            accumulated = 0.0
            for item in window:
                accumulated += item
            shift = accumulated * inverse
            total = 0.0
            squares = 0.0
            for item in window:
                delta = item - shift
                total += delta
                squares += delta * delta
            mean = inverse * total
            mean_square = inverse * squares
            variance = mean_square - mean * mean
            if not variance >= mean_square * 1e-12:
                variance = 0.0
            dropped = window[0] - shift
            squares -= dropped * dropped
            self.shift = shift
        self.sum = total - dropped
        self.sum_squares = squares
        return variance


def deviation(variance: float) -> float:
    """Return ``sqrt(variance)`` (NaN for a negative variance, as C's ``sqrt``)."""
    return math.sqrt(variance) if variance >= 0.0 else NAN


MovingCore: TypeAlias = SmaCore | EmaCore | WmaCore | ChainCore | KamaCore

#: TA-Lib ``matype`` codes streaming supports, with their display names.
MA_TYPES = {0: "SMA", 1: "EMA", 2: "WMA", 3: "DEMA", 4: "TEMA", 6: "KAMA"}


def make_ma(matype: int, period: int) -> MovingCore:
    """Return the running core of TA-Lib moving average ``matype`` over ``period``."""
    if matype == 0:
        return SmaCore(period)
    if matype == 1:
        return EmaCore(period)
    if matype == 2:
        return WmaCore(period)
    if matype in (3, 4):
        return ChainCore(period, 2 if matype == 3 else 3)
    return KamaCore(period)


def ma_lookback(matype: int, period: int) -> int:
    """Return TA-Lib's lookback of moving average ``matype`` over ``period``."""
    if period == 1:
        return 0
    if matype in (3, 4):
        return (period - 1) * (2 if matype == 3 else 3)
    if matype == 6:
        return period
    return period - 1


class RollingExtreme(Stateful):
    """Rolling max (``maximum=True``) or min over the last ``window`` values, amortised O(1).

    A monotonic deque of ``(index, value)``; on ties the latest index is kept, as TA-Lib's
    ``AROON`` does.
    """

    __slots__ = ("entries", "index", "maximum", "window")

    def __init__(self, window: int, maximum: bool) -> None:
        self.window = window
        self.maximum = maximum
        self.entries: deque[tuple[int, float]] = deque()
        self.index = 0

    def push(self, value: float) -> tuple[int, float]:
        """Add one value; return ``(index, value)`` of the extreme of the window ending here."""
        entries = self.entries
        index = self.index
        if self.maximum:
            while entries and entries[-1][1] <= value:
                entries.pop()
        else:
            while entries and entries[-1][1] >= value:
                entries.pop()
        entries.append((index, value))
        if entries[0][0] <= index - self.window:
            entries.popleft()
        self.index = index + 1
        return entries[0]


def true_range(high: float, low: float, previous_close: float) -> float:
    """Return the true range of a bar given the previous close."""
    greatest = high - low
    gap = abs(previous_close - high)
    if gap > greatest:
        greatest = gap
    gap = abs(low - previous_close)
    if gap > greatest:
        greatest = gap
    return greatest


class AtrCore(Stateful):
    """Wilder ATR: the SMA of the first ``period`` true ranges, then
    ``fma((n-1)/n, prev, tr·(1 - (n-1)/n))`` as TA-Lib 0.8 computes it."""

    __slots__ = ("atr", "keep", "period", "previous_close", "seen", "take", "total")

    def __init__(self, period: int) -> None:
        self.period = period
        self.keep = (period - 1) / period
        self.take = 1.0 - self.keep
        self.seen = 0
        self.total = 0.0
        self.atr = NAN
        self.previous_close = NAN

    def push(self, high: float, low: float, close: float) -> float:
        """Add one bar; return the ATR (NaN for the first ``period`` bars)."""
        previous_close = self.previous_close
        self.previous_close = close
        seen = self.seen
        if seen > self.period:
            atr = fma(self.keep, self.atr, true_range(high, low, previous_close) * self.take)
            self.atr = atr
            return atr
        self.seen = seen + 1
        if seen == 0:
            return NAN
        self.total += true_range(high, low, previous_close)
        if seen < self.period:
            return NAN
        self.atr = self.total / self.period
        return self.atr
