"""Numba kernels for the indicators TA-Lib lacks (or defines differently).

Every kernel takes and returns float64 numpy arrays (``ts`` is int64 epoch microseconds UTC),
works along axis 0 and writes NaN where a value is not defined yet. The exact definitions live
in the issue-3 plan; each docstring names its reference. Kernels are compiled on first call and
cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_MICROSECONDS_PER_DAY = 86_400_000_000


@njit(cache=True)
def _push_max_nb(
    values: FloatArray, deque: IntArray, head: int, tail: int, t: int, window: int
) -> tuple[int, int]:
    """Push bar ``t`` into the max-deque ``deque[head:tail]``; drop bars out of the window.

    Monotonic deque (Lemire, "Streaming maximum-minimum filter using no more than three
    comparisons per element", 2006): indices whose values decrease from the front, so the
    front is the window maximum. Each index is pushed and popped once: amortised O(1).
    """
    value = values[t]
    while tail > head and values[deque[tail - 1]] <= value:
        tail -= 1
    deque[tail] = t
    tail += 1
    if deque[head] <= t - window:
        head += 1
    return head, tail


@njit(cache=True)
def _push_min_nb(
    values: FloatArray, deque: IntArray, head: int, tail: int, t: int, window: int
) -> tuple[int, int]:
    """Push bar ``t`` into the min-deque ``deque[head:tail]`` (see ``_push_max_nb``)."""
    value = values[t]
    while tail > head and values[deque[tail - 1]] >= value:
        tail -= 1
    deque[tail] = t
    tail += 1
    if deque[head] <= t - window:
        head += 1
    return head, tail


@njit(cache=True)
def rolling_max_nb(values: FloatArray, window: int) -> FloatArray:
    """Return the maximum of ``values[t-window+1..t]``, NaN for ``t < window-1``.

    Monotonic-deque sliding-window maximum (Lemire 2006), amortised O(1) per bar.
    """
    n = values.shape[0]
    out = np.empty(n)
    deque = np.empty(n, dtype=np.int64)
    head, tail = 0, 0
    for t in range(n):
        head, tail = _push_max_nb(values, deque, head, tail, t, window)
        out[t] = values[deque[head]]
    out[: min(window - 1, n)] = np.nan
    return out


@njit(cache=True)
def rolling_min_nb(values: FloatArray, window: int) -> FloatArray:
    """Return the minimum of ``values[t-window+1..t]``, NaN for ``t < window-1``.

    Monotonic-deque sliding-window minimum (Lemire 2006), amortised O(1) per bar.
    """
    n = values.shape[0]
    out = np.empty(n)
    deque = np.empty(n, dtype=np.int64)
    head, tail = 0, 0
    for t in range(n):
        head, tail = _push_min_nb(values, deque, head, tail, t, window)
        out[t] = values[deque[head]]
    out[: min(window - 1, n)] = np.nan
    return out


@njit(cache=True)
def donchian_nb(
    high: FloatArray, low: FloatArray, window: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return Donchian channel ``(upper, middle, lower)``, NaN for ``t < window-1``.

    Donchian channel: upper = max(high[t-n+1..t]), lower = min(low[t-n+1..t]),
    middle = (upper + lower) / 2, by monotonic deques in one pass. Matches ``talib.DONCHIAN``
    (TA-Lib >= 0.6).
    """
    n = high.shape[0]
    upper = np.empty(n)
    middle = np.empty(n)
    lower = np.empty(n)
    highs = np.empty(n, dtype=np.int64)
    lows = np.empty(n, dtype=np.int64)
    high_head, high_tail, low_head, low_tail = 0, 0, 0, 0
    for t in range(n):
        high_head, high_tail = _push_max_nb(high, highs, high_head, high_tail, t, window)
        low_head, low_tail = _push_min_nb(low, lows, low_head, low_tail, t, window)
        upper[t] = high[highs[high_head]]
        lower[t] = low[lows[low_head]]
        middle[t] = (upper[t] + lower[t]) / 2.0
    end = min(window - 1, n)
    upper[:end] = np.nan
    middle[:end] = np.nan
    lower[:end] = np.nan
    return upper, middle, lower


@njit(cache=True)
def rolling_midpoint_nb(high: FloatArray, low: FloatArray, window: int) -> FloatArray:
    """Return ``(max(high[t-n+1..t]) + min(low[t-n+1..t])) / 2``, NaN for ``t < window-1``.

    The Ichimoku "mid" line (``talib.MIDPRICE``), by monotonic deques in one pass.
    """
    n = high.shape[0]
    out = np.empty(n)
    highs = np.empty(n, dtype=np.int64)
    lows = np.empty(n, dtype=np.int64)
    high_head, high_tail, low_head, low_tail = 0, 0, 0, 0
    for t in range(n):
        high_head, high_tail = _push_max_nb(high, highs, high_head, high_tail, t, window)
        low_head, low_tail = _push_min_nb(low, lows, low_head, low_tail, t, window)
        out[t] = (high[highs[high_head]] + low[lows[low_head]]) / 2.0
    out[: min(window - 1, n)] = np.nan
    return out


@njit(cache=True)
def ichimoku_nb(
    high: FloatArray, low: FloatArray, tenkan: int, kijun: int, senkou_b: int, displacement: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return Ichimoku ``(tenkan, kijun, senkou_a, senkou_b)``, NaN through the lookback.

    Hosoda's Ichimoku Kinko Hyo: mid(n) = (highest high + lowest low) / 2 over n bars;
    tenkan = mid(9), kijun = mid(26); the cloud plotted at t is senkou_a = (tenkan + kijun) / 2
    and senkou_b = mid(52), both taken at t - displacement, so only data up to
    t - displacement is used. Every output is NaN for
    t < max(tenkan, kijun, senkou_b) - 1 + displacement.
    """
    n = high.shape[0]
    tenkan_line = rolling_midpoint_nb(high, low, tenkan)
    kijun_line = rolling_midpoint_nb(high, low, kijun)
    senkou_b_line = rolling_midpoint_nb(high, low, senkou_b)
    senkou_a_line = np.empty(n)
    for t in range(n - 1, -1, -1):  # backwards, so senkou_b can shift in place
        if t >= displacement:
            source = t - displacement
            senkou_a_line[t] = (tenkan_line[source] + kijun_line[source]) / 2.0
            senkou_b_line[t] = senkou_b_line[source]
        else:
            senkou_a_line[t] = senkou_b_line[t] = np.nan
    end = min(max(tenkan, kijun, senkou_b) - 1 + displacement, n)
    tenkan_line[:end] = np.nan
    kijun_line[:end] = np.nan
    senkou_a_line[:end] = np.nan
    senkou_b_line[:end] = np.nan
    return tenkan_line, kijun_line, senkou_a_line, senkou_b_line


@njit(cache=True)
def supertrend_nb(
    high: FloatArray, low: FloatArray, close: FloatArray, atr: FloatArray, multiplier: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return SuperTrend ``(supertrend, direction, upper, lower)``.

    Olivier Seban's SuperTrend as in the plan (the common TradingView form): basic bands
    hl2 ± multiplier·ATR; the final upper band only falls (and the lower only rises) unless the
    previous close broke through it; the direction flips when the close crosses the previous
    final band. Values start at the first finite ``atr`` (``talib.ATR``'s lookback). The line
    matches ``talib.SUPERTREND`` (TA-Lib >= 0.6).
    """
    n = close.shape[0]
    supertrend = np.empty(n)
    direction = np.empty(n)
    upper = np.empty(n)
    lower = np.empty(n)
    start = n
    for t in range(n):
        if not np.isnan(atr[t]):
            start = t
            break
    supertrend[:start] = np.nan
    direction[:start] = np.nan
    upper[:start] = np.nan
    lower[:start] = np.nan
    if start == n:
        return supertrend, direction, upper, lower
    hl2 = (high[start] + low[start]) / 2.0
    upper[start] = hl2 + multiplier * atr[start]
    lower[start] = hl2 - multiplier * atr[start]
    direction[start] = 1.0 if close[start] >= hl2 else -1.0
    for t in range(start + 1, n):
        hl2 = (high[t] + low[t]) / 2.0
        basic_upper = hl2 + multiplier * atr[t]
        basic_lower = hl2 - multiplier * atr[t]
        if basic_upper < upper[t - 1] or close[t - 1] > upper[t - 1]:
            upper[t] = basic_upper
        else:
            upper[t] = upper[t - 1]
        if basic_lower > lower[t - 1] or close[t - 1] < lower[t - 1]:
            lower[t] = basic_lower
        else:
            lower[t] = lower[t - 1]
        if close[t] > upper[t - 1]:
            direction[t] = 1.0
        elif close[t] < lower[t - 1]:
            direction[t] = -1.0
        else:
            direction[t] = direction[t - 1]
    for t in range(start, n):
        supertrend[t] = lower[t] if direction[t] == 1.0 else upper[t]
    return supertrend, direction, upper, lower


@njit(cache=True)
def envelope_nb(
    middle: FloatArray, width: FloatArray, multiplier: float
) -> tuple[FloatArray, FloatArray]:
    """Return ``(middle + multiplier·width, middle - multiplier·width)``.

    The band arithmetic of Keltner channels (Linda Raschke's EMA ± k·ATR form).
    """
    n = middle.shape[0]
    upper = np.empty(n)
    lower = np.empty(n)
    for t in range(n):
        offset = multiplier * width[t]
        upper[t] = middle[t] + offset
        lower[t] = middle[t] - offset
    return upper, lower


@njit(cache=True)
def session_vwap_nb(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, ts: IntArray
) -> FloatArray:
    """Return the session VWAP, restarting at each new UTC calendar date of ``ts``.

    Standard intraday VWAP: cumulative sum(typical price · volume) / cumulative sum(volume)
    within the session, typical price = (high + low + close) / 3; NaN while the session's
    volume is 0.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    price_volume = 0.0
    total_volume = 0.0
    session = np.int64(0)
    for t in range(n):
        day = ts[t] // _MICROSECONDS_PER_DAY
        if t == 0 or day != session:
            session = day
            price_volume = 0.0
            total_volume = 0.0
        typical = (high[t] + low[t] + close[t]) / 3.0
        price_volume += typical * volume[t]
        total_volume += volume[t]
        if total_volume != 0.0:
            out[t] = price_volume / total_volume
    return out


@njit(cache=True)
def anchored_vwap_nb(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, anchor: int
) -> FloatArray:
    """Return the VWAP anchored at bar index ``anchor``, NaN before it.

    Brian Shannon's anchored VWAP: cumulative typical price · volume over cumulative volume
    from the anchor bar on; NaN while that volume is 0. With anchor 0 it matches ``talib.VWAP``
    (TA-Lib >= 0.6, cumulative over the whole series).
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    price_volume = 0.0
    total_volume = 0.0
    for t in range(anchor, n):
        typical = (high[t] + low[t] + close[t]) / 3.0
        price_volume += typical * volume[t]
        total_volume += volume[t]
        if total_volume != 0.0:
            out[t] = price_volume / total_volume
    return out


@njit(cache=True)
def heikin_ashi_nb(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return Heikin-Ashi ``(open, high, low, close)``.

    Dan Valcu, "Using the Heikin-Ashi Technique" (TASC 2004): ha_close = (o+h+l+c)/4,
    ha_open_0 = (o_0+c_0)/2, ha_open_t = (ha_open_{t-1} + ha_close_{t-1})/2,
    ha_high = max(h, ha_open, ha_close), ha_low = min(l, ha_open, ha_close). Matches
    ``talib.HA`` (TA-Lib >= 0.6).
    """
    n = close.shape[0]
    ha_open = np.empty(n)
    ha_high = np.empty(n)
    ha_low = np.empty(n)
    ha_close = np.empty(n)
    for t in range(n):
        ha_close[t] = (open_[t] + high[t] + low[t] + close[t]) / 4.0
        if t == 0:
            ha_open[t] = (open_[t] + close[t]) / 2.0
        else:
            ha_open[t] = (ha_open[t - 1] + ha_close[t - 1]) / 2.0
        ha_high[t] = max(high[t], max(ha_open[t], ha_close[t]))
        ha_low[t] = min(low[t], min(ha_open[t], ha_close[t]))
    return ha_open, ha_high, ha_low, ha_close


@njit(cache=True)
def pivot_classic_nb(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return floor-trader pivots ``(p, r1, r2, r3, s1, s2, s3)`` from the previous bar.

    Classic (floor) pivot points: p = (H+L+C)/3, r1 = 2p-L, s1 = 2p-H, r2 = p+(H-L),
    s2 = p-(H-L), r3 = H+2(p-L), s3 = L-2(H-p); NaN at index 0.
    """
    n = close.shape[0]
    out = np.empty((7, n))
    out[:, : min(1, n)] = np.nan
    for t in range(1, n):
        h = high[t - 1]
        lo = low[t - 1]
        pivot = (h + lo + close[t - 1]) / 3.0
        out[0, t] = pivot
        out[1, t] = 2.0 * pivot - lo
        out[2, t] = pivot + (h - lo)
        out[3, t] = h + 2.0 * (pivot - lo)
        out[4, t] = 2.0 * pivot - h
        out[5, t] = pivot - (h - lo)
        out[6, t] = lo - 2.0 * (h - pivot)
    return out


@njit(cache=True)
def pivot_fibonacci_nb(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return Fibonacci pivots ``(p, r1, r2, r3, s1, s2, s3)`` from the previous bar.

    p = (H+L+C)/3; r1/r2/r3 = p + 0.382/0.618/1.0·(H-L); s1/s2/s3 = p minus the same;
    NaN at index 0.
    """
    n = close.shape[0]
    out = np.empty((7, n))
    out[:, : min(1, n)] = np.nan
    for t in range(1, n):
        span = high[t - 1] - low[t - 1]
        pivot = (high[t - 1] + low[t - 1] + close[t - 1]) / 3.0
        out[0, t] = pivot
        out[1, t] = pivot + 0.382 * span
        out[2, t] = pivot + 0.618 * span
        out[3, t] = pivot + span
        out[4, t] = pivot - 0.382 * span
        out[5, t] = pivot - 0.618 * span
        out[6, t] = pivot - span
    return out


@njit(cache=True)
def pivot_camarilla_nb(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return Camarilla pivots ``(p, r1, r2, r3, r4, s1, s2, s3, s4)`` from the previous bar.

    Nick Scott's Camarilla equation: p = (H+L+C)/3; r_k = C + 1.1(H-L)/d_k and
    s_k = C - 1.1(H-L)/d_k with d = 12, 6, 4, 2; NaN at index 0.
    """
    n = close.shape[0]
    out = np.empty((9, n))
    out[:, : min(1, n)] = np.nan
    for t in range(1, n):
        span = 1.1 * (high[t - 1] - low[t - 1])
        c = close[t - 1]
        out[0, t] = (high[t - 1] + low[t - 1] + c) / 3.0
        out[1, t] = c + span / 12.0
        out[2, t] = c + span / 6.0
        out[3, t] = c + span / 4.0
        out[4, t] = c + span / 2.0
        out[5, t] = c - span / 12.0
        out[6, t] = c - span / 6.0
        out[7, t] = c - span / 4.0
        out[8, t] = c - span / 2.0
    return out
