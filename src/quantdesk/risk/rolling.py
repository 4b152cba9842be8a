"""Risk and performance metrics over a sliding window.

:func:`rolling` computes any metric of :data:`ROLLING_METRICS` over the last ``window``
periods of one series or many, with the definitions and conventions of
:mod:`quantdesk.risk.metrics` (it is also importable from there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.risk._inputs import (
    BENCHMARK_METRICS,
    Panel,
    Params,
    Returns,
    aligned_benchmark,
    floats,
    ratio,
    valid_panel,
)
from quantdesk.risk._metrics_nb import rolling_drawdown_nb, rolling_sums_nb, rolling_tails_nb

FloatArray = npt.NDArray[np.float64]

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
    p = Params.of(periods_per_year, risk_free, required_return)
    panel = valid_panel(returns)
    names = list(dict.fromkeys((metrics,) if isinstance(metrics, str) else metrics))
    _check_rolling(names, window, panel, benchmark)
    bench = None
    if any(name in BENCHMARK_METRICS for name in names) and benchmark is not None:
        bench = aligned_benchmark(benchmark, panel)[0]
    results = _Rolling(panel.values, window, p, bench).compute(names)
    index = panel.index if panel.index is not None else pd.RangeIndex(panel.values.shape[1])
    if panel.one_dimensional:
        return pd.DataFrame({name: results[name][0] for name in names}, index=index)
    series = panel.columns if panel.columns is not None else pd.RangeIndex(panel.values.shape[0])
    columns = pd.MultiIndex.from_product([names, series], names=["metric", "series"])
    stacked = np.concatenate([results[name] for name in names])  # (metric x series, periods)
    return pd.DataFrame(stacked.T, index=index, columns=columns)


def _check_rolling(names: list[str], window: int, panel: Panel, benchmark: Returns | None) -> None:
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
        self, values: FloatArray, window: int, p: Params, benchmark: FloatArray | None
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
            sums = rolling_sums_nb(np.ascontiguousarray(self._transform(name)), self.window)
            self._sums[name] = floats(sums)
        return self._sums[name]

    def _transform(self, name: str) -> FloatArray:
        d = self.x - self.shift
        excess = self.x - self.p.required_return
        if name in ("d1", "d2", "d3", "d4"):
            return floats(d ** int(name[1]))
        if name == "down":
            return floats(np.minimum(excess, 0.0) ** 2)
        if name == "gain":
            return floats(np.maximum(excess, 0.0))
        if name == "loss":
            return floats(np.maximum(-excess, 0.0))
        if name == "log":  # -100% returns are counted by "zero" instead
            return floats(np.log1p(np.where(self.x == -1.0, 0.0, self.x)))
        if name == "zero":
            return floats(np.where(np.isnan(self.x), np.nan, self.x == -1.0))
        db = self.b - self.b_shift + 0.0 * self.x  # NaN wherever either series is missing
        products = {"b1": db, "b2": db * db, "xb": d * db, "a2": (d - db) ** 2}
        return floats(products[name])

    # Moments of the window, from power sums about the series mean.
    def _mean(self) -> FloatArray:
        return self.sum("d1") / self.window

    def _m2(self) -> FloatArray:
        mean = self._mean()
        m2 = self.sum("d2") / self.window - mean * mean
        # Exactly constant windows leave rounding residue only; call them constant.
        return floats(np.where(m2 <= 1e-10 * self.sum("d2") / self.window, 0.0, m2))

    def _std(self) -> FloatArray:
        return floats(np.sqrt(self._m2() * self.window / (self.window - 1)))

    def _cagr(self) -> FloatArray:
        growth = np.expm1(self.sum("log") * self.p.periods_per_year / self.window)
        return floats(np.where(self.sum("zero") > 0, -1.0, growth))

    def _kernel(self, name: str, k: int) -> FloatArray:
        if name not in self._sums:
            kernel = rolling_drawdown_nb if name == "drawdown" else rolling_tails_nb
            self._sums[name] = floats(kernel(self.x, self.window))
        return floats(self._sums[name][k])

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
                out[name] = ratio(self._mean() + self.shift - self.p.risk_free, self._std()) * root
            elif name == "sortino":
                excess = self._mean() + self.shift - self.p.required_return
                out[name] = ratio(excess, np.sqrt(self.sum("down") / w)) * root
            elif name == "omega":
                out[name] = ratio(self.sum("gain"), self.sum("loss"))
            elif name == "cagr":
                out[name] = self._cagr()
            elif name == "calmar":
                out[name] = ratio(self._cagr(), self._kernel("drawdown", 0))
            elif name in drawdowns:
                out[name] = self._kernel("drawdown", drawdowns.index(name))
            elif name == "tail_ratio":
                tails = (np.abs(self._kernel("tails", k)) for k in (1, 0))
                out[name] = ratio(*tails)
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
            return ratio(m3 * math.sqrt(w * (w - 1.0)) / (w - 2.0), m2**1.5)
        m4 = self.sum("d4") / w - 4.0 * mean * s3 + 6.0 * mean**2 * s2 - 3.0 * mean**4
        scale = (w - 2.0) * (w - 3.0)
        return ratio((w + 1.0) * (w - 1.0) * m4, scale * m2 * m2) - 3.0 * (w - 1.0) ** 2 / scale

    def _benchmark_metric(self, name: str) -> FloatArray:
        w, root = self.window, math.sqrt(self.p.periods_per_year)
        mean_d, mean_db = self._mean(), self.sum("b1") / w
        var_b = self.sum("b2") / w - mean_db * mean_db
        var_b = np.where(var_b <= 1e-10 * self.sum("b2") / w, 0.0, var_b)
        beta = ratio(self.sum("xb") / w - mean_d * mean_db, floats(var_b))
        if name == "beta":
            return beta
        mean_x, mean_b = mean_d + self.shift, mean_db + self.b_shift
        if name == "alpha":
            rf = self.p.risk_free
            alpha_p = (mean_x - rf) - beta * (mean_b - rf)
            return floats((1.0 + alpha_p) ** self.p.periods_per_year - 1.0)
        shifted = mean_d - mean_db  # active mean about the shifts
        var_a = (self.sum("a2") / w - shifted * shifted) * w / (w - 1)
        std_a = floats(np.sqrt(np.where(var_a <= 1e-10 * self.sum("a2") / w, 0.0, var_a)))
        if name == "tracking_error":
            return std_a * root
        return ratio(mean_x - mean_b, std_a) * root  # information_ratio
