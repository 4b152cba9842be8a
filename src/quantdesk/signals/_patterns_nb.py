"""Numba kernels behind the chart-pattern detectors (numpy in, numpy out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit

_F = TypeVar("_F", bound=Callable[..., Any])


def _kernel(function: _F) -> _F:
    return cast(_F, njit(cache=True)(function))


@_kernel
def swing_pivots_nb(
    high: npt.NDArray[np.float64], low: npt.NDArray[np.float64], left: int, right: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Flag swing highs and swing lows.

    Bar ``p`` is a swing high when ``high[p]`` is strictly above each of the ``left`` highs
    before it and at least each of the ``right`` highs after it (so a flat top yields one
    pivot, at its first bar); swing lows mirror this on ``low``. Bars without ``left`` bars
    before or ``right`` bars after, and NaN values, never qualify. Reference: Bulkowski's
    swing-point definition (``left``/``right`` fractal), checked against a brute-force window
    scan in the tests.
    """
    n = high.shape[0]
    is_high = np.zeros(n, dtype=np.bool_)
    is_low = np.zeros(n, dtype=np.bool_)
    for p in range(left, n - right):
        h = high[p]
        ok = not np.isnan(h)
        j = p - left
        while ok and j < p:
            ok = h > high[j]
            j += 1
        j = p + 1
        while ok and j <= p + right:
            ok = h >= high[j]
            j += 1
        is_high[p] = ok
        lo = low[p]
        ok = not np.isnan(lo)
        j = p - left
        while ok and j < p:
            ok = lo < low[j]
            j += 1
        j = p + 1
        while ok and j <= p + right:
            ok = lo <= low[j]
            j += 1
        is_low[p] = ok
    return is_high, is_low


@_kernel
def trailing_mean_nb(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """Return the mean of the ``window`` values before each index (the index itself excluded).

    ``out[t] = mean(values[t - window : t])`` summed left to right, NaN for ``t < window`` or
    when the window holds a NaN. Reference: ``numpy.mean`` over the same slice.
    """
    n = values.shape[0]
    out = np.full(n, np.nan)
    for t in range(window, n):
        total = 0.0
        for j in range(t - window, t):
            total += values[j]
        out[t] = total / window
    return out
