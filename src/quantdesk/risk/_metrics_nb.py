"""Numba kernels behind :mod:`quantdesk.risk.metrics` and :mod:`quantdesk.risk.rolling`.

Series-major ``(series, periods)`` float64 arrays in, numpy arrays out, no pandas. The
full-sample kernel writes one row of raw statistics per series (positions ``COUNT`` ..
``CODE`` below); the metric formulas in :mod:`quantdesk.risk.metrics` turn them into the
published definitions, each checked against its reference library in the tests. Kernels are
compiled on first call and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Rows of the compiled full-sample kernel's output, and the groups that fill them.
COUNT, MEAN, STD, DOWN, GAIN, LOSS, SKEW, KURT = range(8)
WEALTH, MDD, ULCER, DUR, DSTART, DREC = range(8, 14)
QLOW, QHIGH, BETA, ALPHA, AMEAN, ASTD = range(14, 20)
FIRST, LAST, BAD, CODE = range(20, 24)
RAW_ROWS = 24
MOMENTS, DRAWDOWN, TAILS, BENCH = 1, 2, 4, 8
TAIL_LOW, TAIL_HIGH = 0.05, 0.95


@njit(cache=True)
def _bounds_nb(row: FloatArray) -> tuple[int, int]:
    """Return the first and last non-NaN positions of ``row`` (-1, -1 if none)."""
    first, last = 0, row.size - 1
    while first <= last and np.isnan(row[first]):
        first += 1
    if first > last:
        return -1, -1
    while np.isnan(row[last]):
        last -= 1
    return first, last


@njit(cache=True)
def _scan_series_nb(row: FloatArray) -> tuple[int, int, int, int]:
    """Return the first and last observed row, the first bad row and why (or -1, 0).

    Why: 1 a NaN inside the run of observations, 2 an infinite value, 3 a return below -1.
    """
    first, last = _bounds_nb(row)
    for i in range(first, last + 1 if first >= 0 else 0):
        # One test catches NaN, infinities and returns below -1 alike.
        if not (-1.0 <= row[i] < np.inf):
            return first, last, i, 1 if np.isnan(row[i]) else 2 if np.isinf(row[i]) else 3
    return first, last, -1, 0


@njit(cache=True)
def scan_nb(values: FloatArray) -> IntArray:
    """Return ``_scan_series_nb`` of every series, one row each."""
    out = np.empty((values.shape[0], 4), dtype=np.int64)
    for j in range(values.shape[0]):
        out[j, 0], out[j, 1], out[j, 2], out[j, 3] = _scan_series_nb(values[j])
    return out


@njit(cache=True)
def _lerp_nb(low: float, high: float, fraction: float) -> float:
    """Interpolate as numpy's ``percentile(method="linear")`` does."""
    diff = high - low
    if fraction >= 0.5:
        return high - diff * (1.0 - fraction)
    return low + diff * fraction


@njit(cache=True)
def _select_nb(values: FloatArray, k: int) -> float:
    """Return the ``k``-th smallest value, reordering ``values`` in place (quickselect).

    Median-of-three pivots and a branch-free Lomuto partition (no mispredicted branches on
    random data); afterwards every value after position ``k`` is at least ``values[k]``.
    Hand-written because ``np.partition`` takes tens of seconds to compile.
    """
    low, high = 0, values.size - 1
    while high > low:
        a, b, c = values[low], values[(low + high) // 2], values[high]
        pivot = max(min(a, b), min(max(a, b), c))
        store = _partition_nb(values, low, high, pivot, False)
        if k < store:
            high = store - 1
            continue
        if store == low:  # the pivot is the minimum: split off the values equal to it
            store = _partition_nb(values, low, high, pivot, True)
            if store == low:  # only with NaN, which validation refuses: stop, don't spin
                return np.nan
            if k < store:
                return float(pivot)
        low = store
    return float(values[k])


@njit(cache=True)
def _partition_nb(values: FloatArray, low: int, high: int, pivot: float, equal: bool) -> int:
    """Move values below ``pivot`` (or not above it, if ``equal``) to the front of the range.

    Returns the end of the front part. Every value is swapped and the boundary advances by
    the comparison's outcome, so there is no branch to mispredict.
    """
    store = low
    for i in range(low, high + 1):
        value = values[i]
        values[i] = values[store]
        values[store] = value
        store += (value <= pivot) if equal else (value < pivot)
    return store


@njit(cache=True)
def _order_pair_nb(values: FloatArray, k: int) -> tuple[float, float]:
    """Return the ``k``-th and ``(k+1)``-th smallest values, reordering ``values``."""
    below = _select_nb(values, k)
    if k + 1 >= values.size:
        return below, below
    above = values[k + 1]
    for value in values[k + 2 :]:
        above = min(above, value)
    return below, above


_SAMPLE = 256  # values sampled to bracket the percentiles before the full pass
_MARGIN = 14  # sample ranks either side of a target: > 4 standard deviations at 5%/95%


@njit(cache=True)
def _bracket_nb(sample: FloatArray, rank: int) -> tuple[float, float]:
    low = _select_nb(sample, rank - _MARGIN) if rank >= _MARGIN else -np.inf
    high = _select_nb(sample, rank + _MARGIN) if rank + _MARGIN < _SAMPLE else np.inf
    return low, high


@njit(cache=True)
def _tail_ranks_nb(n: int) -> tuple[int, int]:
    return math.floor((n - 1) * TAIL_LOW), math.floor((n - 1) * TAIL_HIGH)


@njit(cache=True)
def _sweep_nb(
    x: FloatArray, scratch: FloatArray, drawdown: bool, buckets: bool, out: FloatArray
) -> IntArray:
    """One pass over ``x`` for the sum and, if asked, the drawdowns and the tail buckets.

    Writes the mean and the drawdown statistics (positions relative to ``x``) to ``out`` and
    returns ``[varies, under_low, n_low, over_high, n_high, valid]``: the bucket counts for
    :func:`_tails_nb` (-1 when ``buckets`` is off or ``x`` is too short to bracket) and
    whether every value was a finite return of at least -1 (NaN fails too).

    The wealth product is a chain of dependent multiplications, so the loop is bound by its
    latency; the sum, the drawdown bookkeeping and the bucket copies run in its shadow.
    Tail buckets (Floyd-Rivest style): order statistics of a strided sample bracket each
    percentile's rank, and every value is written to ``scratch`` (2 * len(x) long) and kept
    by advancing a count when inside a bracket, with no branch to mispredict.
    """
    n = x.size
    state = np.full(6, -1, dtype=np.int64)
    low_min, low_max, high_min, high_max = np.inf, -np.inf, np.inf, -np.inf
    buckets = buckets and n >= 8 * _SAMPLE
    if buckets:
        k_low, k_high = _tail_ranks_nb(n)
        step = n // _SAMPLE
        sample = x[: step * _SAMPLE : step].copy()
        low_min, low_max = _bracket_nb(sample, k_low * _SAMPLE // n)
        high_min, high_max = _bracket_nb(sample, k_high * _SAMPLE // n)
    total, start, varies, valid = 0.0, x[0], False, True
    wealth, peak, scale, worst, squares = 1.0, 1.0, 1.0, 0.0, 0.0
    spell, best, best_start, best_recovery = -1, 0, -1, -1
    under_low, over_high, n_low, n_high = 0, 0, 0, 0
    for i in range(n):
        value = x[i]
        total += value
        varies |= value != start
        valid &= (value >= -1.0) & (value < np.inf)
        if drawdown:
            wealth *= 1.0 + value
            if wealth >= peak:
                if spell >= 0 and i - spell + 1 > best:
                    best, best_start, best_recovery = i - spell + 1, spell, i
                spell, peak, scale = -1, wealth, 1.0 / wealth
            else:
                depth = 1.0 - wealth * scale
                worst = max(worst, depth)
                squares += depth * depth
                if spell < 0:
                    spell = i
        if buckets:
            scratch[n_low] = value
            n_low += (value >= low_min) & (value <= low_max)
            scratch[n + n_high] = value
            n_high += (value >= high_min) & (value <= high_max)
            under_low += value < low_min
            over_high += value > high_max
    if spell >= 0 and n - spell > best:
        best, best_start, best_recovery = n - spell, spell, -1
    out[COUNT], out[MEAN] = n, total / n
    if drawdown:
        out[WEALTH], out[MDD], out[ULCER] = wealth, worst, math.sqrt(squares / n)
        out[DUR], out[DSTART], out[DREC] = best, best_start, best_recovery
    state[0], state[5] = varies, valid
    if buckets:
        state[1], state[2], state[3], state[4] = under_low, n_low, over_high, n_high
    return state


@njit(cache=True)
def _tails_nb(x: FloatArray, scratch: FloatArray, state: IntArray, out: FloatArray) -> None:
    """Write the 5th and 95th percentiles of ``x`` (linear interpolation) to ``out``.

    Selects within the buckets :func:`_sweep_nb` filled when both brackets caught their
    rank; otherwise (an unlucky sample, or a short series) by quickselect on a full copy, so
    the result is always exact.
    """
    n = x.size
    k_low, k_high = _tail_ranks_nb(n)
    under_low, n_low, over_high, n_high = state[1], state[2], state[3], state[4]
    under_high = n - n_high - over_high
    exact = under_low >= 0 and under_low <= k_low and k_low + 1 < under_low + n_low
    exact = exact and under_high <= k_high and k_high + 1 < under_high + n_high
    if exact:
        below, above = _order_pair_nb(scratch[:n_low], k_low - under_low)
        out[QLOW] = _lerp_nb(below, above, (n - 1) * TAIL_LOW - k_low)
        below, above = _order_pair_nb(scratch[n : n + n_high], k_high - under_high)
        out[QHIGH] = _lerp_nb(below, above, (n - 1) * TAIL_HIGH - k_high)
        return
    full = scratch[:n]
    full[:] = x
    below, above = _order_pair_nb(full, k_low)
    out[QLOW] = _lerp_nb(below, above, (n - 1) * TAIL_LOW - k_low)
    below, above = _order_pair_nb(full, k_high)
    out[QHIGH] = _lerp_nb(below, above, (n - 1) * TAIL_HIGH - k_high)


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _moments_nb(x: FloatArray, varies: bool, threshold: float, out: FloatArray) -> None:
    """Write the centred moments and threshold statistics, given the mean in ``out``.

    Branch-free with reassociation, so the compiler vectorises the sums.
    """
    n, mean = x.size, out[MEAN]
    s2, s3, s4, down, loss = 0.0, 0.0, 0.0, 0.0, 0.0
    for value in x:
        d = value - mean
        d2 = d * d
        s2 += d2
        s3 += d2 * d
        s4 += d2 * d2
        below = min(value - threshold, 0.0)
        loss -= below
        down += below * below
    excess = (mean - threshold) * n  # gains - losses, so gains need no sum of their own
    if not varies:  # exactly constant: the mean's rounding must not leave a tiny variance
        s2 = 0.0
    out[GAIN], out[LOSS] = excess + loss, loss
    out[STD] = math.sqrt(s2 / (n - 1))
    out[DOWN] = math.sqrt(down / n)
    # Powers of a tiny variance can underflow to 0: treat those like a constant series.
    if s2**1.5 > 0.0 and n >= 3:
        out[SKEW] = n * math.sqrt(n - 1.0) / (n - 2.0) * s3 / s2**1.5
    if s2 * s2 > 0.0 and n >= 4:
        scale = (n - 2.0) * (n - 3.0)
        out[KURT] = (n + 1.0) * n * (n - 1.0) * s4 / (scale * s2 * s2) - 3.0 * (
            n - 1.0
        ) ** 2 / scale


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _benchmark_nb(x: FloatArray, b: FloatArray, risk_free: float, out: FloatArray) -> None:
    n = x.size
    sum_x, sum_b, b_varies, a_varies = 0.0, 0.0, False, False
    for i in range(n):
        sum_x += x[i]
        sum_b += b[i]
        b_varies |= b[i] != b[0]
        a_varies |= x[i] - b[i] != x[0] - b[0]
    mean_x, mean_b = sum_x / n, sum_b / n
    sbb, sxb, saa = 0.0, 0.0, 0.0
    for i in range(n):
        dx, db = x[i] - mean_x, b[i] - mean_b
        sbb += db * db
        sxb += dx * db
        saa += (dx - db) * (dx - db)
    if not b_varies:
        sbb = 0.0
    if not a_varies:
        saa = 0.0
    beta = sxb / sbb if sbb > 0.0 else np.nan
    out[BETA] = beta
    out[ALPHA] = (mean_x - risk_free) - beta * (mean_b - risk_free)
    out[AMEAN] = mean_x - mean_b
    out[ASTD] = math.sqrt(saa / (n - 1))


@njit(cache=True)
def full_sample_nb(
    values: FloatArray,
    benchmark: FloatArray,
    bench_first: int,
    bench_last: int,
    threshold: float,
    risk_free: float,
    groups: int,
) -> FloatArray:
    """Return the scan (columns ``FIRST`` .. ``CODE``) and raw statistics of every series.

    Each series is scanned and, if valid with 2+ observations, measured over its rows
    ``first..last`` while they are in cache; the benchmark group uses the rows both the
    series and ``benchmark`` (``bench_first..bench_last``) observe. Statistics not asked for
    or not computable stay NaN. Row positions (``DSTART``, ``DREC``) are absolute, -1 for
    none.
    """
    series = values.shape[0]
    out = np.full((series, RAW_ROWS), np.nan)
    scratch = np.empty(2 * values.shape[1])
    for j in range(series):
        column = out[j]
        first, last = _bounds_nb(values[j])
        column[FIRST], column[LAST], column[BAD], column[CODE] = first, last, -1, 0
        if last - first < 1:
            continue
        x = values[j, first : last + 1]
        valid = True
        if groups & (MOMENTS | DRAWDOWN | TAILS):
            drawdown, tails = (groups & DRAWDOWN) != 0, (groups & TAILS) != 0
            state = _sweep_nb(x, scratch, drawdown, tails, column)
            valid = state[5] != 0
        else:
            valid = _scan_series_nb(values[j])[3] == 0
        if not valid:  # the sweep only noticed; find the first bad value for the message
            column[BAD], column[CODE] = _scan_series_nb(values[j])[2:]
            continue
        if groups & (MOMENTS | DRAWDOWN | TAILS):
            if column[DSTART] >= 0:  # NaN (not computed) compares False
                column[DSTART] += first
            if column[DREC] >= 0:
                column[DREC] += first
            if groups & MOMENTS:
                _moments_nb(x, state[0] != 0, threshold, column)
            if groups & TAILS:
                _tails_nb(x, scratch, state, column)
        lo, hi = max(first, bench_first), min(last, bench_last) + 1
        if groups & BENCH and hi - lo >= 2:
            _benchmark_nb(values[j, lo:hi], benchmark[lo:hi], risk_free, column)
    return out


@njit(cache=True)
def _neumaier_nb(total: float, compensation: float, value: float) -> tuple[float, float]:
    moved = total + value
    if abs(total) >= abs(value):
        compensation += (total - moved) + value
    else:
        compensation += (value - moved) + total
    return moved, compensation


@njit(cache=True)
def rolling_sums_nb(values: FloatArray, window: int) -> FloatArray:
    """Return the sum of each row over the last ``window`` columns, NaN unless all observed.

    Sliding add/remove with Neumaier-compensated sums: O(1) per step and row.
    """
    rows, periods = values.shape
    out = np.full((rows, periods), np.nan)
    for r in range(rows):
        total, compensation, count = 0.0, 0.0, 0
        for i in range(periods):
            value = values[r, i]
            if not np.isnan(value):
                total, compensation = _neumaier_nb(total, compensation, value)
                count += 1
            if i >= window:
                old = values[r, i - window]
                if not np.isnan(old):
                    total, compensation = _neumaier_nb(total, compensation, -old)
                    count -= 1
            if count == window:
                out[r, i] = total + compensation
    return out


@njit(cache=True)
def rolling_drawdown_nb(values: FloatArray, window: int) -> FloatArray:
    """Return max drawdown, ulcer index and longest drawdown of every full window.

    Works on log wealth: within a window starting at log wealth 0, a period is under water
    while its log wealth is below the running maximum. O(window) per step.
    """
    series, periods = values.shape
    out = np.full((3, series, periods), np.nan)
    logs = np.empty(periods)
    for j in range(series):
        missing = 0
        for i in range(periods):
            value = values[j, i]
            logs[i] = -np.inf if value == -1.0 else np.log1p(value)
            missing += np.isnan(value)
            if i >= window:
                missing -= np.isnan(values[j, i - window])
            if i < window - 1 or missing > 0:
                continue
            level, high, worst, squares, run, longest = 0.0, 0.0, 0.0, 0.0, 0, 0
            for t in range(i - window + 1, i + 1):
                level += logs[t]
                if level >= high:
                    high = level
                    if run > 0:
                        longest = max(longest, run + 1)
                    run = 0
                else:
                    depth = -math.expm1(level - high)
                    worst = max(worst, depth)
                    squares += depth * depth
                    run += 1
            out[0, j, i] = worst
            out[1, j, i] = math.sqrt(squares / window)
            out[2, j, i] = max(longest, run)
    return out


@njit(cache=True)
def _search_nb(ordered: FloatArray, count: int, value: float) -> int:
    """Return the leftmost position to insert ``value`` into ``ordered[:count]``."""
    low, high = 0, count
    while low < high:
        mid = (low + high) // 2
        if ordered[mid] < value:
            low = mid + 1
        else:
            high = mid
    return low


@njit(cache=True)
def _window_quantile_nb(ordered: FloatArray, q: float) -> float:
    position = (ordered.size - 1) * q
    low = math.floor(position)
    high = min(low + 1, ordered.size - 1)
    return _lerp_nb(ordered[low], ordered[high], position - low)


@njit(cache=True)
def rolling_tails_nb(values: FloatArray, window: int) -> FloatArray:
    """Return the 5th and 95th percentiles of every full window from a sorted window buffer.

    Insertion and removal by binary search keep the window sorted: O(window) per step.
    """
    series, periods = values.shape
    out = np.full((2, series, periods), np.nan)
    ordered = np.empty(window)
    for j in range(series):
        count = 0
        for i in range(periods):
            if i >= window and not np.isnan(values[j, i - window]):
                at = _search_nb(ordered, count, values[j, i - window])
                for k in range(at, count - 1):
                    ordered[k] = ordered[k + 1]
                count -= 1
            value = values[j, i]
            if not np.isnan(value):
                at = _search_nb(ordered, count, value)
                for k in range(count, at, -1):
                    ordered[k] = ordered[k - 1]
                ordered[at] = value
                count += 1
            if count == window:
                out[0, j, i] = _window_quantile_nb(ordered, TAIL_LOW)
                out[1, j, i] = _window_quantile_nb(ordered, TAIL_HIGH)
    return out
