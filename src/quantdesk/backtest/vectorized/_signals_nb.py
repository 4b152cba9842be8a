"""Numba kernels that turn indicator matrices into entry/exit signals for many columns.

Indicators are computed once per (asset, distinct parameter) into indicator x bars matrices
(one C-contiguous row per series); each signal column picks its indicator rows by index, so a
parameter grid never copies an indicator. Outputs are columns x bars boolean arrays, the
layout :func:`~._simulate_nb.simulate_nb` reads. The rules reproduce, bar by
bar, what the built-in event-driven strategies of :mod:`quantdesk.backtest.strategies` decide
(their position guards are applied by the simulator).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@njit(cache=True)
def cross_signals_nb(
    values: FloatArray, fast: IntArray, slow: IntArray
) -> tuple[BoolArray, BoolArray]:
    """Return ``(entries, exits)`` of moving-average crossovers.

    Matches ``SmaCross``/``EmaCross``: on bar ``t`` (``t >= 1``), with both slow values (at
    ``t - 1`` and ``t``) known, an entry when ``fast[t-1] <= slow[t-1]`` and
    ``fast[t] > slow[t]``, else an exit when ``fast[t-1] >= slow[t-1]`` and
    ``fast[t] < slow[t]``. ``values[fast[c]]`` and ``values[slow[c]]`` are column ``c``'s
    averages.
    """
    n = values.shape[1]
    m = fast.shape[0]
    entries = np.zeros((m, n), np.bool_)
    exits = np.zeros((m, n), np.bool_)
    for c in range(m):
        f = fast[c]
        s = slow[c]
        for t in range(1, n):
            previous_slow = values[s, t - 1]
            current_slow = values[s, t]
            if math.isnan(previous_slow) or math.isnan(current_slow):
                continue
            previous_fast = values[f, t - 1]
            current_fast = values[f, t]
            if previous_fast <= previous_slow and current_fast > current_slow:
                entries[c, t] = True
            elif previous_fast >= previous_slow and current_fast < current_slow:
                exits[c, t] = True
    return entries, exits


@njit(cache=True)
def threshold_signals_nb(
    values: FloatArray, index: IntArray, lower: FloatArray, upper: FloatArray
) -> tuple[BoolArray, BoolArray]:
    """Return ``(entries, exits)``: entry when the value is below ``lower[c]``, exit above
    ``upper[c]``, nothing while it is NaN (``RsiReversion``)."""
    n = values.shape[1]
    m = index.shape[0]
    entries = np.zeros((m, n), np.bool_)
    exits = np.zeros((m, n), np.bool_)
    for c in range(m):
        u = index[c]
        for t in range(n):
            value = values[u, t]
            if math.isnan(value):
                continue
            if value < lower[c]:
                entries[c, t] = True
            elif value > upper[c]:
                exits[c, t] = True
    return entries, exits


@njit(cache=True)
def band_signals_nb(
    close: FloatArray,
    asset: IntArray,
    entry_band: FloatArray,
    exit_band: FloatArray,
    index: IntArray,
    lag: int,
) -> tuple[BoolArray, BoolArray]:
    """Return ``(entries, exits)`` of band breakouts.

    On bar ``t`` with ``entry_band[t - lag]`` known: an entry when the close is above it, else
    an exit when the close is below ``exit_band[t - lag]``. ``lag=0`` with the upper and
    middle Bollinger bands is ``BollingerBreakout``; ``lag=1`` with the upper and lower
    Donchian channel is ``DonchianTrend`` (the previous bar's channel).
    """
    n = close.shape[1]
    m = index.shape[0]
    entries = np.zeros((m, n), np.bool_)
    exits = np.zeros((m, n), np.bool_)
    for c in range(m):
        u = index[c]
        a = asset[c]
        for t in range(lag, n):
            band = entry_band[u, t - lag]
            if math.isnan(band):
                continue
            price = close[a, t]
            if price > band:
                entries[c, t] = True
            elif price < exit_band[u, t - lag]:
                exits[c, t] = True
    return entries, exits
