"""Risk and performance metrics of periodic returns, for one series or many at once.

Every function takes simple (not log) periodic returns: a 1-D numpy array or pandas Series
gives a ``float``; a 2-D array (columns = series) gives a 1-D array and a DataFrame gives a
Series indexed by its columns. :func:`metrics_frame` computes the whole set for every column
in one compiled pass, :func:`summary` returns it for one series as :class:`RiskMetrics`, and
:func:`rolling` computes any of them over a sliding window.

Conventions
-----------
- ``periods_per_year`` (default 252) annualises: volatilities scale by ``sqrt(ppy)``, ratios of
  a mean to a deviation by ``sqrt(ppy)``.
- ``risk_free`` and ``required_return`` are *annual* rates, turned into per-period rates
  geometrically: ``(1 + rate) ** (1 / ppy) - 1`` (quantstats' ``deannualize``). Sharpe and
  alpha use ``risk_free``; Sortino, downside deviation and Omega measure against
  ``required_return`` (pass the risk-free rate there to measure against it).
- Missing data: each column is one contiguous run of observations. NaNs before its first and
  after its last observation are ignored (a series that starts later or ends earlier), and
  every metric uses that column's own observations. A NaN *inside* the run, an infinite value
  or a return below -100% raises :class:`~quantdesk.core.errors.ValidationError` naming the
  column and row; so does a column with fewer than two observations. A benchmark is aligned by
  index (pandas) or position (numpy) and follows the same rule; benchmark metrics use the
  periods both series observe.
- NaN results: a ratio whose denominator is zero is NaN (Sharpe or skew/kurtosis of a constant
  series, Sortino without downside, Calmar without drawdown, Omega without losses, tail ratio
  with a zero 5th percentile, beta to a constant benchmark, information ratio with zero
  tracking error). Skew needs 3 and kurtosis 4 observations, NaN below that.

Definitions (and the reference each one matches, tested on real returns)
------------------------------------------------------------------------
- volatility: sample standard deviation (ddof=1) * sqrt(ppy) (empyrical, quantstats).
- downside_deviation: sqrt(mean(min(r - T, 0)^2)) * sqrt(ppy), T the per-period required
  return, the mean taken over *all* periods (empyrical ``downside_risk``).
- sharpe: mean(r - rf) / std(r, ddof=1) * sqrt(ppy) (empyrical, quantstats).
- sortino: mean(r - T) / sqrt(mean(min(r - T, 0)^2)) * sqrt(ppy) (empyrical; quantstats with
  ``rf`` as T, which is the same formula).
- cagr (``annual_return``): final wealth ** (ppy / n) - 1, n the observed periods (empyrical
  ``annual_return``/``cagr``, quantstats ``cagr``).
- max_drawdown: largest fall from a running peak of wealth, as a positive fraction in [0, 1];
  wealth starts at 1 before the first return, so a first-period loss counts (empyrical and
  quantstats report the same number negated).
- calmar: cagr / max_drawdown (empyrical, quantstats).
- omega: sum(max(r - T, 0)) / sum(max(T - r, 0)) (empyrical, quantstats).
- max_drawdown_duration: the longest spell from a peak to its recovery, in periods: the
  periods from the first one under water up to and including the first one back at (or
  above) the peak, or up to the last observation if wealth has not recovered.
  :func:`longest_drawdown` gives its start and recovery labels (dates for a DatetimeIndex).
  quantstats' ``drawdown_details`` lists the same spells by their under-water days.
- ulcer_index: sqrt(mean(drawdown^2)) over all n periods, drawdowns as fractions (Martin's
  definition). quantstats divides by n - 1 instead; the tests rescale by sqrt(n / (n - 1)).
- tail_ratio: |95th percentile| / |5th percentile|, linear interpolation (numpy's default;
  empyrical and quantstats).
- skew, kurtosis: bias-adjusted sample skewness and excess kurtosis (pandas ``skew``/``kurt``,
  quantstats; ``scipy.stats.skew/kurtosis(bias=False)``).
- beta: cov(r, b) / var(b) (empyrical, quantstats).
- alpha: per-period intercept mean(r - rf) - beta * mean(b - rf), compounded to a year:
  (1 + alpha_p) ** ppy - 1 (empyrical; quantstats reports alpha_p * ppy with rf = 0).
- tracking_error: std(r - b, ddof=1) * sqrt(ppy).
- information_ratio: mean(r - b) / std(r - b, ddof=1) * sqrt(ppy), annualised like Sharpe
  (empyrical ``excess_sharpe`` and quantstats ``information_ratio`` give it per period,
  i.e. divided by sqrt(ppy)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from quantdesk.core.errors import Issue, ValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Returns in any supported kind: 1-D or 2-D (columns = series) numpy data or pandas objects.
Returns: TypeAlias = "pd.Series[Any] | pd.DataFrame | npt.ArrayLike"
#: A metric's value: ``float`` for one series, an array or a Series (by column) for many.
Metric: TypeAlias = "float | npt.NDArray[Any] | pd.Series[Any]"

#: Columns of :func:`metrics_frame` (and fields of :class:`RiskMetrics`), in order.
METRICS: tuple[str, ...] = (
    "observations",
    "cagr",
    "volatility",
    "downside_deviation",
    "sharpe",
    "sortino",
    "calmar",
    "omega",
    "max_drawdown",
    "max_drawdown_duration",
    "longest_drawdown_start",
    "longest_drawdown_recovery",
    "ulcer_index",
    "tail_ratio",
    "skew",
    "kurtosis",
)
#: The metrics that need a benchmark; :func:`metrics_frame` adds them when one is given.
BENCHMARK_METRICS: tuple[str, ...] = ("alpha", "beta", "information_ratio", "tracking_error")
#: Every metric :func:`rolling` can compute.
ROLLING_METRICS: tuple[str, ...] = (
    "cagr",
    "volatility",
    "downside_deviation",
    "sharpe",
    "sortino",
    "calmar",
    "omega",
    "max_drawdown",
    "max_drawdown_duration",
    "ulcer_index",
    "tail_ratio",
    "skew",
    "kurtosis",
    *BENCHMARK_METRICS,
)

# Rows of the compiled full-sample kernel's output, and the groups that fill them.
_COUNT, _MEAN, _STD, _DOWN, _GAIN, _LOSS, _SKEW, _KURT = range(8)
_WEALTH, _MDD, _ULCER, _DUR, _DSTART, _DREC = range(8, 14)
_QLOW, _QHIGH, _BETA, _ALPHA, _AMEAN, _ASTD = range(14, 20)
_FIRST, _LAST, _BAD, _CODE = range(20, 24)
_RAW_ROWS = 24
_MOMENTS, _DRAWDOWN, _TAILS, _BENCH = 1, 2, 4, 8
_TAIL_LOW, _TAIL_HIGH = 0.05, 0.95


# --- compiled kernels: series-major (series, periods) float64, no pandas -------------------


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
def _scan_nb(values: FloatArray) -> IntArray:
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
    return math.floor((n - 1) * _TAIL_LOW), math.floor((n - 1) * _TAIL_HIGH)


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
    out[_COUNT], out[_MEAN] = n, total / n
    if drawdown:
        out[_WEALTH], out[_MDD], out[_ULCER] = wealth, worst, math.sqrt(squares / n)
        out[_DUR], out[_DSTART], out[_DREC] = best, best_start, best_recovery
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
        out[_QLOW] = _lerp_nb(below, above, (n - 1) * _TAIL_LOW - k_low)
        below, above = _order_pair_nb(scratch[n : n + n_high], k_high - under_high)
        out[_QHIGH] = _lerp_nb(below, above, (n - 1) * _TAIL_HIGH - k_high)
        return
    full = scratch[:n]
    full[:] = x
    below, above = _order_pair_nb(full, k_low)
    out[_QLOW] = _lerp_nb(below, above, (n - 1) * _TAIL_LOW - k_low)
    below, above = _order_pair_nb(full, k_high)
    out[_QHIGH] = _lerp_nb(below, above, (n - 1) * _TAIL_HIGH - k_high)


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _moments_nb(x: FloatArray, varies: bool, threshold: float, out: FloatArray) -> None:
    """Write the centred moments and threshold statistics, given the mean in ``out``.

    Branch-free with reassociation, so the compiler vectorises the sums.
    """
    n, mean = x.size, out[_MEAN]
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
    out[_GAIN], out[_LOSS] = excess + loss, loss
    out[_STD] = math.sqrt(s2 / (n - 1))
    out[_DOWN] = math.sqrt(down / n)
    # Powers of a tiny variance can underflow to 0: treat those like a constant series.
    if s2**1.5 > 0.0 and n >= 3:
        out[_SKEW] = n * math.sqrt(n - 1.0) / (n - 2.0) * s3 / s2**1.5
    if s2 * s2 > 0.0 and n >= 4:
        scale = (n - 2.0) * (n - 3.0)
        out[_KURT] = (n + 1.0) * n * (n - 1.0) * s4 / (scale * s2 * s2) - 3.0 * (
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
    out[_BETA] = beta
    out[_ALPHA] = (mean_x - risk_free) - beta * (mean_b - risk_free)
    out[_AMEAN] = mean_x - mean_b
    out[_ASTD] = math.sqrt(saa / (n - 1))


@njit(cache=True)
def _full_sample_nb(
    values: FloatArray,
    benchmark: FloatArray,
    bench_first: int,
    bench_last: int,
    threshold: float,
    risk_free: float,
    groups: int,
) -> FloatArray:
    """Return the scan (columns ``_FIRST`` .. ``_CODE``) and raw statistics of every series.

    Each series is scanned and, if valid with 2+ observations, measured over its rows
    ``first..last`` while they are in cache; the benchmark group uses the rows both the
    series and ``benchmark`` (``bench_first..bench_last``) observe. Statistics not asked for
    or not computable stay NaN. Row positions (``_DSTART``, ``_DREC``) are absolute, -1 for
    none.
    """
    series = values.shape[0]
    out = np.full((series, _RAW_ROWS), np.nan)
    scratch = np.empty(2 * values.shape[1])
    for j in range(series):
        column = out[j]
        first, last = _bounds_nb(values[j])
        column[_FIRST], column[_LAST], column[_BAD], column[_CODE] = first, last, -1, 0
        if last - first < 1:
            continue
        x = values[j, first : last + 1]
        valid = True
        if groups & (_MOMENTS | _DRAWDOWN | _TAILS):
            drawdown, tails = (groups & _DRAWDOWN) != 0, (groups & _TAILS) != 0
            state = _sweep_nb(x, scratch, drawdown, tails, column)
            valid = state[5] != 0
        else:
            valid = _scan_series_nb(values[j])[3] == 0
        if not valid:  # the sweep only noticed; find the first bad value for the message
            column[_BAD], column[_CODE] = _scan_series_nb(values[j])[2:]
            continue
        if groups & (_MOMENTS | _DRAWDOWN | _TAILS):
            if column[_DSTART] >= 0:  # NaN (not computed) compares False
                column[_DSTART] += first
            if column[_DREC] >= 0:
                column[_DREC] += first
            if groups & _MOMENTS:
                _moments_nb(x, state[0] != 0, threshold, column)
            if groups & _TAILS:
                _tails_nb(x, scratch, state, column)
        lo, hi = max(first, bench_first), min(last, bench_last) + 1
        if groups & _BENCH and hi - lo >= 2:
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
def _rolling_sums_nb(values: FloatArray, window: int) -> FloatArray:
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
def _rolling_drawdown_nb(values: FloatArray, window: int) -> FloatArray:
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
def _rolling_tails_nb(values: FloatArray, window: int) -> FloatArray:
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
                out[0, j, i] = _window_quantile_nb(ordered, _TAIL_LOW)
                out[1, j, i] = _window_quantile_nb(ordered, _TAIL_HIGH)
    return out


# --- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Panel:
    values: FloatArray  # (series, periods), C-contiguous, read-only
    index: pd.Index | None
    columns: pd.Index | None
    one_dimensional: bool
    parameter: str
    first: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # _checked
    last: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def label(self, row: int) -> Any:
        return row if self.index is None else self.index[row]

    def column_name(self, j: int) -> str | None:
        if self.one_dimensional:
            return None
        return str(self.columns[j]) if self.columns is not None else str(j)

    def series_name(self, j: int) -> str:
        return self.parameter if self.one_dimensional else f"column {self.column_name(j)!r}"

    def wrap(self, values: npt.NDArray[Any], name: str) -> Metric:
        if self.one_dimensional:
            return values[0].item()  # type: ignore[no-any-return]
        if self.columns is not None:
            return pd.Series(values, index=self.columns, name=name)
        return values


_WHY = {
    1: "has a gap (NaN) inside its observations; fill or drop the gap",
    2: "is infinite; returns must be finite",
    3: "is below -1 (a loss above 100%); pass simple returns, not prices or log returns",
}


def _read(returns: Returns, parameter: str = "returns") -> _Panel:
    index: pd.Index | None = None
    columns: pd.Index | None = None
    array: npt.NDArray[np.float64]
    if isinstance(returns, pd.DataFrame):
        index, columns = returns.index, returns.columns
        array = returns.to_numpy(np.float64, na_value=np.nan)
    elif isinstance(returns, pd.Series):
        index, array = returns.index, returns.to_numpy(np.float64, na_value=np.nan)
    else:
        try:
            array = np.asarray(returns, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValidationError(
                f"{parameter} must be numeric",
                [Issue(parameter, f"cannot read as numbers: {error}")],
            ) from None
    if array.ndim not in (1, 2) or array.size == 0:
        raise ValidationError(
            f"{parameter} must be a non-empty 1-D or 2-D array",
            [Issue(parameter, f"got shape {array.shape}; pass periods along axis 0")],
        )
    one_dimensional = array.ndim == 1
    values = np.ascontiguousarray(array.reshape(-1, 1).T if one_dimensional else array.T).view()
    # Read-only like pandas' arrays, so the kernels compile once for every input kind.
    values.flags.writeable = False
    return _Panel(values, index, columns, one_dimensional, parameter)


def _checked(panel: _Panel, scan: IntArray, minimum: int = 2) -> _Panel:
    """Return ``panel`` with its observed rows, or raise for every bad or short series."""
    counts = np.where(scan[:, 0] < 0, 0, scan[:, 1] - scan[:, 0] + 1)
    if scan[:, 3].any() or (counts < minimum).any():
        issues = [
            Issue(
                panel.parameter,
                f"value at {panel.label(int(row))!s} {_WHY[int(code)]}",
                field=panel.column_name(j),
                row=int(row),
            )
            for j, (row, code) in enumerate(scan[:, 2:])
            if code
        ]
        issues += [
            Issue(
                panel.parameter,
                f"has {count} observation(s), needs at least {minimum}",
                field=panel.column_name(j),
            )
            for j, count in enumerate(counts)
            if count < minimum
        ]
        raise ValidationError(f"{panel.parameter} cannot be used", issues)
    first, last = np.ascontiguousarray(scan[:, 0]), np.ascontiguousarray(scan[:, 1])
    return replace(panel, first=first, last=last)


def _panel(returns: Returns, parameter: str = "returns", minimum: int = 2) -> _Panel:
    panel = _read(returns, parameter)
    return _checked(panel, _scan_nb(panel.values), minimum)


def _benchmark(benchmark: Returns, panel: _Panel) -> tuple[FloatArray, int, int]:
    if isinstance(benchmark, pd.DataFrame):
        if benchmark.shape[1] != 1:
            raise ValidationError(
                "benchmark must be one series",
                [Issue("benchmark", f"got {benchmark.shape[1]} columns; pass one Series")],
            )
        benchmark = benchmark.iloc[:, 0]
    if isinstance(benchmark, pd.Series) and panel.index is not None:
        benchmark = benchmark.reindex(panel.index)
    aligned = _panel(benchmark, "benchmark")
    if not aligned.one_dimensional or aligned.values.shape[1] != panel.values.shape[1]:
        raise ValidationError(
            "benchmark does not match returns",
            [
                Issue(
                    "benchmark",
                    f"needs one series of {panel.values.shape[1]} periods, "
                    f"got shape {aligned.values.shape[::-1]}",
                )
            ],
        )
    return aligned.values[0], int(aligned.first[0]), int(aligned.last[0])


def _check_overlap(panel: _Panel, bench_first: int, bench_last: int) -> None:
    overlap = np.minimum(panel.last, bench_last) - np.maximum(panel.first, bench_first) + 1
    short = [
        Issue(
            "benchmark",
            f"overlaps {panel.series_name(j)} on {max(int(k), 0)} period(s), needs at least 2",
            field=panel.column_name(j),
        )
        for j, k in enumerate(overlap)
        if k < 2
    ]
    if short:
        raise ValidationError("benchmark and returns barely overlap", short)


@dataclass(frozen=True, slots=True)
class _Params:
    periods_per_year: float
    risk_free: float  # per period
    required_return: float  # per period

    @classmethod
    def of(cls, periods_per_year: float, risk_free: float, required_return: float) -> _Params:
        if not (math.isfinite(periods_per_year) and periods_per_year > 0):
            raise ValidationError(
                "periods_per_year must be positive",
                [Issue("periods_per_year", f"got {periods_per_year}; e.g. 252 for daily data")],
            )
        rates = {"risk_free": risk_free, "required_return": required_return}
        bad = [
            Issue(name, f"got {rate}; pass an annual rate above -1 (0.03 for 3%)")
            for name, rate in rates.items()
            if not (math.isfinite(rate) and rate > -1)
        ]
        if bad:
            raise ValidationError("annual rates must be above -100%", bad)
        per_period = {
            name: (1.0 + rate) ** (1.0 / periods_per_year) - 1.0 for name, rate in rates.items()
        }
        return cls(periods_per_year, per_period["risk_free"], per_period["required_return"])


# --- formulas from raw statistics (vectorised over series) -------------------------------


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)


def _cagr(raw: FloatArray, p: _Params) -> FloatArray:
    return np.asarray(raw[_WEALTH] ** (p.periods_per_year / raw[_COUNT]) - 1.0)


_FORMULAS: dict[str, tuple[int, Callable[[FloatArray, _Params], npt.NDArray[Any]]]] = {
    "observations": (_MOMENTS, lambda r, p: r[_COUNT].astype(np.int64)),
    "cagr": (_DRAWDOWN, _cagr),
    "volatility": (_MOMENTS, lambda r, p: r[_STD] * math.sqrt(p.periods_per_year)),
    "downside_deviation": (_MOMENTS, lambda r, p: r[_DOWN] * math.sqrt(p.periods_per_year)),
    "sharpe": (
        _MOMENTS,
        lambda r, p: _ratio(r[_MEAN] - p.risk_free, r[_STD]) * math.sqrt(p.periods_per_year),
    ),
    "sortino": (
        _MOMENTS,
        lambda r, p: _ratio(r[_MEAN] - p.required_return, r[_DOWN]) * math.sqrt(p.periods_per_year),
    ),
    "calmar": (_DRAWDOWN, lambda r, p: _ratio(_cagr(r, p), r[_MDD])),
    "omega": (_MOMENTS, lambda r, p: _ratio(r[_GAIN], r[_LOSS])),
    "max_drawdown": (_DRAWDOWN, lambda r, p: r[_MDD]),
    "max_drawdown_duration": (_DRAWDOWN, lambda r, p: r[_DUR].astype(np.int64)),
    "ulcer_index": (_DRAWDOWN, lambda r, p: r[_ULCER]),
    "tail_ratio": (_TAILS, lambda r, p: _ratio(np.abs(r[_QHIGH]), np.abs(r[_QLOW]))),
    "skew": (_MOMENTS, lambda r, p: r[_SKEW]),
    "kurtosis": (_MOMENTS, lambda r, p: r[_KURT]),
    "alpha": (_BENCH, lambda r, p: (1.0 + r[_ALPHA]) ** p.periods_per_year - 1.0),
    "beta": (_BENCH, lambda r, p: r[_BETA]),
    "information_ratio": (
        _BENCH,
        lambda r, p: _ratio(r[_AMEAN], r[_ASTD]) * math.sqrt(p.periods_per_year),
    ),
    "tracking_error": (_BENCH, lambda r, p: r[_ASTD] * math.sqrt(p.periods_per_year)),
}


_NO_BENCHMARK = np.empty(0)
_NO_BENCHMARK.flags.writeable = False


def _raw(
    returns: Returns, groups: int, p: _Params, benchmark: Returns | None
) -> tuple[_Panel, FloatArray]:
    """Return the checked panel and its raw statistics (statistics along axis 0)."""
    panel = _read(returns)
    bench, bench_first, bench_last = _NO_BENCHMARK, 0, 0
    if groups & _BENCH:
        if benchmark is None:
            raise ValidationError(
                "a benchmark is needed", [Issue("benchmark", "pass the benchmark's returns")]
            )
        bench, bench_first, bench_last = _benchmark(benchmark, panel)
    raw = _full_sample_nb(
        panel.values, bench, bench_first, bench_last, p.required_return, p.risk_free, groups
    )
    panel = _checked(panel, raw[:, _FIRST:].astype(np.int64))
    if groups & _BENCH:
        _check_overlap(panel, bench_first, bench_last)
    return panel, np.asarray(raw).T


def _metric(
    name: str,
    returns: Returns,
    benchmark: Returns | None = None,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    required_return: float = 0.0,
) -> Metric:
    p = _Params.of(periods_per_year, risk_free, required_return)
    groups, formula = _FORMULAS[name]
    panel, raw = _raw(returns, groups, p, benchmark)
    return panel.wrap(formula(raw, p), name)


# --- public metrics ----------------------------------------------------------------------


def volatility(returns: Returns, *, periods_per_year: float = 252) -> Metric:
    """Return the annualised volatility: sample std (ddof=1) * sqrt(periods_per_year).

    Parameters
    ----------
    returns
        Simple periodic returns, 1-D or 2-D (columns = series); see the module docstring.
    periods_per_year
        Periods in a year (252 daily, 52 weekly, 12 monthly).

    Returns
    -------
    Metric
        ``float`` for one series; an array or a Series (by column) for many.

    Raises
    ------
    ValidationError
        If the returns have a gap, an infinite value, a return below -1 or < 2 observations.
    """
    return _metric("volatility", returns, periods_per_year=periods_per_year)


def downside_deviation(
    returns: Returns, *, required_return: float = 0.0, periods_per_year: float = 252
) -> Metric:
    """Return the annualised downside deviation below ``required_return`` (annual rate).

    ``sqrt(mean(min(r - T, 0)^2)) * sqrt(periods_per_year)``, the mean over all periods.
    Parameters, returns and errors as in :func:`volatility`.
    """
    return _metric(
        "downside_deviation", returns, None, periods_per_year, required_return=required_return
    )


def sharpe(returns: Returns, *, risk_free: float = 0.0, periods_per_year: float = 252) -> Metric:
    """Return the annualised Sharpe ratio: mean excess return over its sample std.

    ``risk_free`` is an annual rate, taken per period as ``(1 + rf)**(1/ppy) - 1``. NaN for a
    constant series. Parameters, returns and errors as in :func:`volatility`.
    """
    return _metric("sharpe", returns, None, periods_per_year, risk_free)


def sortino(
    returns: Returns, *, required_return: float = 0.0, periods_per_year: float = 252
) -> Metric:
    """Return the annualised Sortino ratio against ``required_return`` (annual rate).

    ``mean(r - T) / sqrt(mean(min(r - T, 0)^2)) * sqrt(ppy)``; NaN without any return below
    T. Parameters, returns and errors as in :func:`volatility`.
    """
    return _metric("sortino", returns, None, periods_per_year, required_return=required_return)


def cagr(returns: Returns, *, periods_per_year: float = 252) -> Metric:
    """Return the compound annual growth rate: final wealth ** (ppy / periods) - 1.

    Parameters, returns and errors as in :func:`volatility`.
    """
    return _metric("cagr", returns, periods_per_year=periods_per_year)


#: The annual return is the compound annual growth rate (as in empyrical).
annual_return = cagr


def calmar(returns: Returns, *, periods_per_year: float = 252) -> Metric:
    """Return the Calmar ratio, CAGR over max drawdown; NaN when there is no drawdown.

    Parameters, returns and errors as in :func:`volatility`.
    """
    return _metric("calmar", returns, periods_per_year=periods_per_year)


def omega(
    returns: Returns, *, required_return: float = 0.0, periods_per_year: float = 252
) -> Metric:
    """Return the Omega ratio: gains above over losses below ``required_return`` (annual).

    NaN when no period falls below the threshold. Parameters, returns and errors as in
    :func:`volatility`.
    """
    return _metric("omega", returns, None, periods_per_year, required_return=required_return)


def max_drawdown(returns: Returns) -> Metric:
    """Return the maximum drawdown as a positive fraction in [0, 1] (0.25 for a 25% fall).

    Wealth starts at 1 before the first return. Returns and errors as in :func:`volatility`.
    """
    return _metric("max_drawdown", returns)


def max_drawdown_duration(returns: Returns) -> Metric:
    """Return the longest drawdown in periods, from its peak to recovery (or to the end).

    0 when wealth never falls below a peak. ``int`` for one series, an int64 array or Series
    for many. See :func:`longest_drawdown` for its dates. Errors as in :func:`volatility`.
    """
    return _metric("max_drawdown_duration", returns)


def ulcer_index(returns: Returns) -> Metric:
    """Return the Ulcer index: root mean square of the drawdowns (fractions), over all periods.

    Returns and errors as in :func:`volatility`.
    """
    return _metric("ulcer_index", returns)


def tail_ratio(returns: Returns) -> Metric:
    """Return |95th percentile| / |5th percentile| of the returns (linear interpolation).

    NaN when the 5th percentile is 0. Returns and errors as in :func:`volatility`.
    """
    return _metric("tail_ratio", returns)


def skew(returns: Returns) -> Metric:
    """Return the bias-adjusted sample skewness (as pandas ``Series.skew``).

    NaN for a constant series or fewer than 3 observations. Errors as in :func:`volatility`.
    """
    return _metric("skew", returns)


def kurtosis(returns: Returns) -> Metric:
    """Return the bias-adjusted sample excess kurtosis (as pandas ``Series.kurt``).

    NaN for a constant series or fewer than 4 observations. Errors as in :func:`volatility`.
    """
    return _metric("kurtosis", returns)


def beta(returns: Returns, benchmark: Returns) -> Metric:
    """Return the beta of the returns to ``benchmark``: cov(r, b) / var(b).

    ``benchmark`` is one series aligned by index (pandas) or position (numpy); the periods
    both observe are used. NaN for a constant benchmark.

    Raises
    ------
    ValidationError
        As :func:`volatility`, or if the benchmark is invalid or overlaps < 2 periods.
    """
    return _metric("beta", returns, benchmark)


def alpha(
    returns: Returns,
    benchmark: Returns,
    *,
    risk_free: float = 0.0,
    periods_per_year: float = 252,
) -> Metric:
    """Return Jensen's alpha to ``benchmark``, compounded to a year.

    Per period ``mean(r - rf) - beta * mean(b - rf)``, then ``(1 + alpha_p)**ppy - 1``.
    ``risk_free`` is annual. Benchmark and errors as in :func:`beta`.
    """
    return _metric("alpha", returns, benchmark, periods_per_year, risk_free)


def tracking_error(
    returns: Returns, benchmark: Returns, *, periods_per_year: float = 252
) -> Metric:
    """Return the annualised tracking error: std(r - b, ddof=1) * sqrt(periods_per_year).

    Benchmark and errors as in :func:`beta`.
    """
    return _metric("tracking_error", returns, benchmark, periods_per_year)


def information_ratio(
    returns: Returns, benchmark: Returns, *, periods_per_year: float = 252
) -> Metric:
    """Return the annualised information ratio: mean(r - b) / std(r - b) * sqrt(ppy).

    NaN when the returns track the benchmark exactly. Benchmark and errors as in :func:`beta`.
    """
    return _metric("information_ratio", returns, benchmark, periods_per_year)


@dataclass(frozen=True, slots=True)
class DrawdownSpell:
    """One drawdown: from the first period under water to recovery.

    ``start`` and ``recovery`` are row labels (dates for a DatetimeIndex, positions for
    numpy input); ``recovery`` is the first period back at the peak, ``None`` if wealth had
    not recovered by the last observation. ``duration`` counts periods from the peak to the
    recovery (``start`` through ``recovery``), or through the last observation.
    """

    start: Any
    recovery: Any | None
    duration: int


def longest_drawdown(returns: Returns) -> DrawdownSpell | None:
    """Return the longest drawdown of one series, ``None`` if it never falls below a peak.

    Ties go to the earlier spell.

    Raises
    ------
    ValidationError
        If ``returns`` is not one series, or as in :func:`volatility`.
    """
    _require_one_series(returns)
    panel, raw = _raw(returns, _DRAWDOWN, _Params.of(252, 0.0, 0.0), None)
    return _spell(panel, raw[:, 0])


def _spell(panel: _Panel, raw: FloatArray) -> DrawdownSpell | None:
    if raw[_DUR] == 0:
        return None
    recovery = None if raw[_DREC] < 0 else panel.label(int(raw[_DREC]))
    return DrawdownSpell(panel.label(int(raw[_DSTART])), recovery, int(raw[_DUR]))


def _require_one_series(returns: Returns) -> None:
    if isinstance(returns, pd.DataFrame) or np.ndim(returns) != 1:
        raise ValidationError(
            "returns must be one series",
            [Issue("returns", "got 2-D data; use metrics_frame for many series")],
        )


# --- the whole set -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    """Every metric of one return series (see the module docstring for definitions).

    The drawdown labels are dates for a DatetimeIndex, positions for numpy input, ``None``
    without a drawdown (start) or a recovery. The benchmark fields are ``None`` when no
    benchmark was given.
    """

    observations: int
    cagr: float
    volatility: float
    downside_deviation: float
    sharpe: float
    sortino: float
    calmar: float
    omega: float
    max_drawdown: float
    max_drawdown_duration: int
    longest_drawdown_start: Any | None
    longest_drawdown_recovery: Any | None
    ulcer_index: float
    tail_ratio: float
    skew: float
    kurtosis: float
    alpha: float | None = None
    beta: float | None = None
    information_ratio: float | None = None
    tracking_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict``, in declaration order."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


def _frame_columns(
    returns: Returns, p: _Params, benchmark: Returns | None
) -> tuple[_Panel, dict[str, npt.NDArray[Any] | pd.Index]]:
    groups = _MOMENTS | _DRAWDOWN | _TAILS | (_BENCH if benchmark is not None else 0)
    panel, raw = _raw(returns, groups, p, benchmark)
    columns: dict[str, npt.NDArray[Any] | pd.Index] = {}
    for name in (*METRICS, *BENCHMARK_METRICS):
        if name == "longest_drawdown_start":
            columns[name] = _labels(panel, raw[_DSTART])
        elif name == "longest_drawdown_recovery":
            columns[name] = _labels(panel, raw[_DREC])
        elif name in METRICS or benchmark is not None:
            columns[name] = _FORMULAS[name][1](raw, p)
    return panel, columns


def _labels(panel: _Panel, rows: FloatArray) -> npt.NDArray[Any] | pd.Index:
    """Return the labels of ``rows`` (dates stay datetime64 with NaT, others None for -1)."""
    missing = rows < 0
    positions = np.where(missing, 0, rows).astype(np.int64)
    if isinstance(panel.index, pd.DatetimeIndex):
        taken = panel.index.take(positions)
        return taken.where(~missing)  # NaT where there is no such row
    labels = np.full(rows.shape, None, dtype=object)
    taken_list = positions.tolist() if panel.index is None else list(panel.index.take(positions))
    for slot in np.flatnonzero(~missing):
        labels[slot] = taken_list[slot]
    return labels


def metrics_frame(
    returns: Returns,
    benchmark: Returns | None = None,
    *,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    required_return: float = 0.0,
) -> pd.DataFrame:
    """Return every metric of every series: one row per series, one column per metric.

    Computed for all columns in one compiled pass. Columns are :data:`METRICS`, plus
    :data:`BENCHMARK_METRICS` when ``benchmark`` is given.

    Parameters
    ----------
    returns
        Simple periodic returns, 2-D (columns = series) or 1-D (one row).
    benchmark
        Optional benchmark returns: one series, aligned by index or position.
    periods_per_year
        Periods in a year (252 daily).
    risk_free, required_return
        Annual rates for Sharpe/alpha and for Sortino/downside/Omega respectively.

    Returns
    -------
    pandas.DataFrame
        Indexed by the input's columns (positions for numpy, the Series name for a Series).
        ``longest_drawdown_start``/``_recovery`` hold dates (NaT for none) when the input has
        a DatetimeIndex, else row labels or positions (None for none).

    Raises
    ------
    ValidationError
        If any column has a gap, an infinite value, a return below -1 or < 2 observations,
        or the benchmark is invalid; every offending column is listed.
    """
    p = _Params.of(periods_per_year, risk_free, required_return)
    panel, columns = _frame_columns(returns, p, benchmark)
    if panel.columns is not None:
        index = panel.columns
    elif panel.one_dimensional and isinstance(returns, pd.Series):
        index = pd.Index([returns.name])
    else:
        index = pd.RangeIndex(panel.values.shape[0])
    return pd.DataFrame(columns, index=index)


def summary(
    returns: Returns,
    benchmark: Returns | None = None,
    *,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    required_return: float = 0.0,
) -> RiskMetrics:
    """Return every metric of one series as :class:`RiskMetrics`.

    Parameters as in :func:`metrics_frame`; ``returns`` must be one series.

    Raises
    ------
    ValidationError
        If ``returns`` is not one series, or as in :func:`metrics_frame`.
    """
    p = _Params.of(periods_per_year, risk_free, required_return)
    _require_one_series(returns)
    _, columns = _frame_columns(returns, p, benchmark)
    return RiskMetrics(**{name: _scalar(column[0]) for name, column in columns.items()})


def _scalar(value: Any) -> Any:
    if value is pd.NaT:
        return None
    return value.item() if isinstance(value, np.generic) else value


# --- rolling -----------------------------------------------------------------------------


def rolling(
    returns: Returns,
    window: int,
    metrics: Sequence[str] = ("volatility", "sharpe", "sortino", "max_drawdown"),
    benchmark: Returns | None = None,
    *,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    required_return: float = 0.0,
) -> pd.DataFrame:
    """Return metrics over a sliding window of ``window`` periods, indexed like the input.

    The value at row t is the metric of rows ``t - window + 1 .. t`` (same definitions as
    the full-sample functions); it is NaN until the window holds ``window`` observations of
    the series (and of the benchmark, for benchmark metrics). Moment-based metrics use
    compensated running sums (O(1) per step); drawdown metrics O(window) per step, tail
    ratio a sorted window (O(window) per step).

    Parameters
    ----------
    returns
        Simple periodic returns, 1-D or 2-D (columns = series).
    window
        Window length in periods, from 2 (3 for skew, 4 for kurtosis) to the data's length.
    metrics
        Names from :data:`ROLLING_METRICS` (one name or several).
    benchmark
        One benchmark series, needed for :data:`BENCHMARK_METRICS`.
    periods_per_year, risk_free, required_return
        As in :func:`metrics_frame`.

    Returns
    -------
    pandas.DataFrame
        One column per metric for 1-D input; for 2-D input, columns ``(metric, series)``.
        ``max_drawdown_duration`` is float here so it can hold NaN.

    Raises
    ------
    ValidationError
        If a metric is unknown, the window is out of range, a benchmark metric has no
        benchmark, or the returns are invalid (as in :func:`metrics_frame`).
    """
    p = _Params.of(periods_per_year, risk_free, required_return)
    panel = _panel(returns)
    names = list(dict.fromkeys((metrics,) if isinstance(metrics, str) else metrics))
    _check_rolling(names, window, panel, benchmark)
    bench = None
    if any(name in BENCHMARK_METRICS for name in names) and benchmark is not None:
        bench = _benchmark(benchmark, panel)[0]
    results = _Rolling(panel.values, window, p, bench).compute(names)
    index = panel.index if panel.index is not None else pd.RangeIndex(panel.values.shape[1])
    if panel.one_dimensional:
        return pd.DataFrame({name: results[name][0] for name in names}, index=index)
    series = panel.columns if panel.columns is not None else pd.RangeIndex(panel.values.shape[0])
    columns = pd.MultiIndex.from_product([names, series], names=["metric", "series"])
    stacked = np.concatenate([results[name] for name in names])  # (metric x series, periods)
    return pd.DataFrame(stacked.T, index=index, columns=columns)


def _check_rolling(names: list[str], window: int, panel: _Panel, benchmark: Returns | None) -> None:
    issues = [
        Issue("metrics", f"unknown metric {name!r}; choose from {', '.join(ROLLING_METRICS)}")
        for name in names
        if name not in ROLLING_METRICS
    ]
    if not names:
        issues.append(Issue("metrics", "name at least one metric"))
    periods = panel.values.shape[1]
    smallest = 4 if "kurtosis" in names else 3 if "skew" in names else 2
    if isinstance(window, bool) or not isinstance(window, int | np.integer):
        issues.append(Issue("window", f"got {window!r}; pass a whole number of periods"))
    elif not smallest <= window <= periods:
        issues.append(
            Issue("window", f"got {window}; needs {smallest}..{periods} (the data's length)")
        )
    if benchmark is None and any(name in BENCHMARK_METRICS for name in names):
        issues.append(Issue("benchmark", "pass the benchmark's returns for benchmark metrics"))
    if issues:
        raise ValidationError("rolling metrics cannot be computed", issues)


class _Rolling:
    """Window statistics of a panel, computed lazily and shared between metrics."""

    def __init__(
        self, values: FloatArray, window: int, p: _Params, benchmark: FloatArray | None
    ) -> None:
        self.x, self.window, self.p = values, window, p
        # Shifting by the series mean keeps the running power sums well conditioned.
        self.shift: FloatArray = np.nanmean(values, axis=1, keepdims=True)
        self.b = np.empty(0) if benchmark is None else benchmark
        self.b_shift = float(np.nanmean(self.b)) if benchmark is not None else 0.0
        self._sums: dict[str, FloatArray] = {}

    def sum(self, name: str) -> FloatArray:
        """Return the window sums of transformed values ``name`` (see ``_transform``)."""
        if name not in self._sums:
            sums = _rolling_sums_nb(np.ascontiguousarray(self._transform(name)), self.window)
            self._sums[name] = _floats(sums)
        return self._sums[name]

    def _transform(self, name: str) -> FloatArray:
        d = self.x - self.shift
        excess = self.x - self.p.required_return
        if name in ("d1", "d2", "d3", "d4"):
            return _floats(d ** int(name[1]))
        if name == "down":
            return _floats(np.minimum(excess, 0.0) ** 2)
        if name == "gain":
            return _floats(np.maximum(excess, 0.0))
        if name == "loss":
            return _floats(np.maximum(-excess, 0.0))
        if name == "log":  # -100% returns are counted by "zero" instead
            return _floats(np.log1p(np.where(self.x == -1.0, 0.0, self.x)))
        if name == "zero":
            return _floats(np.where(np.isnan(self.x), np.nan, self.x == -1.0))
        db = self.b - self.b_shift + 0.0 * self.x  # NaN wherever either series is missing
        products = {"b1": db, "b2": db * db, "xb": d * db, "a2": (d - db) ** 2}
        return _floats(products[name])

    # Moments of the window, from power sums about the series mean.
    def _mean(self) -> FloatArray:
        return self.sum("d1") / self.window

    def _m2(self) -> FloatArray:
        mean = self._mean()
        m2 = self.sum("d2") / self.window - mean * mean
        # Exactly constant windows leave rounding residue only; call them constant.
        return _floats(np.where(m2 <= 1e-10 * self.sum("d2") / self.window, 0.0, m2))

    def _std(self) -> FloatArray:
        return _floats(np.sqrt(self._m2() * self.window / (self.window - 1)))

    def _cagr(self) -> FloatArray:
        growth = np.expm1(self.sum("log") * self.p.periods_per_year / self.window)
        return _floats(np.where(self.sum("zero") > 0, -1.0, growth))

    def _kernel(self, name: str, k: int) -> FloatArray:
        if name not in self._sums:
            kernel = _rolling_drawdown_nb if name == "drawdown" else _rolling_tails_nb
            self._sums[name] = _floats(kernel(self.x, self.window))
        return _floats(self._sums[name][k])

    def compute(self, names: list[str]) -> dict[str, FloatArray]:
        """Return each metric in ``names`` as a (series, periods) array."""
        w, root = self.window, math.sqrt(self.p.periods_per_year)
        drawdowns = ("max_drawdown", "ulcer_index", "max_drawdown_duration")
        out: dict[str, FloatArray] = {}
        for name in names:
            if name == "volatility":
                out[name] = self._std() * root
            elif name == "downside_deviation":
                out[name] = np.sqrt(self.sum("down") / w) * root
            elif name == "sharpe":
                out[name] = _ratio(self._mean() + self.shift - self.p.risk_free, self._std()) * root
            elif name == "sortino":
                excess = self._mean() + self.shift - self.p.required_return
                out[name] = _ratio(excess, np.sqrt(self.sum("down") / w)) * root
            elif name == "omega":
                out[name] = _ratio(self.sum("gain"), self.sum("loss"))
            elif name == "cagr":
                out[name] = self._cagr()
            elif name == "calmar":
                out[name] = _ratio(self._cagr(), self._kernel("drawdown", 0))
            elif name in drawdowns:
                out[name] = self._kernel("drawdown", drawdowns.index(name))
            elif name == "tail_ratio":
                tails = (np.abs(self._kernel("tails", k)) for k in (1, 0))
                out[name] = _ratio(*tails)
            elif name in ("skew", "kurtosis"):
                out[name] = self._shape(name)
            else:
                out[name] = self._benchmark_metric(name)
        return out

    def _shape(self, name: str) -> FloatArray:
        w, mean = self.window, self._mean()
        m2 = self._m2()
        s2, s3 = self.sum("d2") / w, self.sum("d3") / w
        m3 = s3 - 3.0 * mean * s2 + 2.0 * mean**3
        if name == "skew":
            return _ratio(m3 * math.sqrt(w * (w - 1.0)) / (w - 2.0), m2**1.5)
        m4 = self.sum("d4") / w - 4.0 * mean * s3 + 6.0 * mean**2 * s2 - 3.0 * mean**4
        scale = (w - 2.0) * (w - 3.0)
        return _ratio((w + 1.0) * (w - 1.0) * m4, scale * m2 * m2) - 3.0 * (w - 1.0) ** 2 / scale

    def _benchmark_metric(self, name: str) -> FloatArray:
        w, root = self.window, math.sqrt(self.p.periods_per_year)
        mean_d, mean_db = self._mean(), self.sum("b1") / w
        var_b = self.sum("b2") / w - mean_db * mean_db
        var_b = np.where(var_b <= 1e-10 * self.sum("b2") / w, 0.0, var_b)
        beta = _ratio(self.sum("xb") / w - mean_d * mean_db, _floats(var_b))
        if name == "beta":
            return beta
        mean_x, mean_b = mean_d + self.shift, mean_db + self.b_shift
        if name == "alpha":
            rf = self.p.risk_free
            alpha_p = (mean_x - rf) - beta * (mean_b - rf)
            return _floats((1.0 + alpha_p) ** self.p.periods_per_year - 1.0)
        shifted = mean_d - mean_db  # active mean about the shifts
        var_a = (self.sum("a2") / w - shifted * shifted) * w / (w - 1)
        std_a = _floats(np.sqrt(np.where(var_a <= 1e-10 * self.sum("a2") / w, 0.0, var_a)))
        if name == "tracking_error":
            return std_a * root
        return _ratio(mean_x - mean_b, std_a) * root  # information_ratio


def _floats(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)
