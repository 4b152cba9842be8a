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
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.risk._inputs import (
    BENCHMARK_METRICS,
    Metric,
    Panel,
    Params,
    Returns,
    aligned_benchmark,
    check_overlap,
    check_panel,
    ratio,
    read_panel,
)
from quantdesk.risk._metrics_nb import (
    ALPHA,
    AMEAN,
    ASTD,
    BENCH,
    BETA,
    COUNT,
    DOWN,
    DRAWDOWN,
    DREC,
    DSTART,
    DUR,
    FIRST,
    GAIN,
    KURT,
    LOSS,
    MDD,
    MEAN,
    MOMENTS,
    QHIGH,
    QLOW,
    SKEW,
    STD,
    TAILS,
    ULCER,
    WEALTH,
    full_sample_nb,
)
from quantdesk.risk.rolling import ROLLING_METRICS, rolling

__all__ = [
    "BENCHMARK_METRICS",
    "METRICS",
    "ROLLING_METRICS",
    "DrawdownSpell",
    "Metric",
    "Returns",
    "RiskMetrics",
    "alpha",
    "annual_return",
    "beta",
    "cagr",
    "calmar",
    "downside_deviation",
    "information_ratio",
    "kurtosis",
    "longest_drawdown",
    "max_drawdown",
    "max_drawdown_duration",
    "metrics_frame",
    "omega",
    "rolling",
    "sharpe",
    "skew",
    "sortino",
    "summary",
    "tail_ratio",
    "tracking_error",
    "ulcer_index",
    "volatility",
]

FloatArray = npt.NDArray[np.float64]

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


# --- formulas from raw statistics (vectorised over series) -------------------------------


def _cagr(raw: FloatArray, p: Params) -> FloatArray:
    return np.asarray(raw[WEALTH] ** (p.periods_per_year / raw[COUNT]) - 1.0)


_FORMULAS: dict[str, tuple[int, Callable[[FloatArray, Params], npt.NDArray[Any]]]] = {
    "observations": (MOMENTS, lambda r, p: r[COUNT].astype(np.int64)),
    "cagr": (DRAWDOWN, _cagr),
    "volatility": (MOMENTS, lambda r, p: r[STD] * math.sqrt(p.periods_per_year)),
    "downside_deviation": (MOMENTS, lambda r, p: r[DOWN] * math.sqrt(p.periods_per_year)),
    "sharpe": (
        MOMENTS,
        lambda r, p: ratio(r[MEAN] - p.risk_free, r[STD]) * math.sqrt(p.periods_per_year),
    ),
    "sortino": (
        MOMENTS,
        lambda r, p: ratio(r[MEAN] - p.required_return, r[DOWN]) * math.sqrt(p.periods_per_year),
    ),
    "calmar": (DRAWDOWN, lambda r, p: ratio(_cagr(r, p), r[MDD])),
    "omega": (MOMENTS, lambda r, p: ratio(r[GAIN], r[LOSS])),
    "max_drawdown": (DRAWDOWN, lambda r, p: r[MDD]),
    "max_drawdown_duration": (DRAWDOWN, lambda r, p: r[DUR].astype(np.int64)),
    "ulcer_index": (DRAWDOWN, lambda r, p: r[ULCER]),
    "tail_ratio": (TAILS, lambda r, p: ratio(np.abs(r[QHIGH]), np.abs(r[QLOW]))),
    "skew": (MOMENTS, lambda r, p: r[SKEW]),
    "kurtosis": (MOMENTS, lambda r, p: r[KURT]),
    "alpha": (BENCH, lambda r, p: (1.0 + r[ALPHA]) ** p.periods_per_year - 1.0),
    "beta": (BENCH, lambda r, p: r[BETA]),
    "information_ratio": (
        BENCH,
        lambda r, p: ratio(r[AMEAN], r[ASTD]) * math.sqrt(p.periods_per_year),
    ),
    "tracking_error": (BENCH, lambda r, p: r[ASTD] * math.sqrt(p.periods_per_year)),
}


_NO_BENCHMARK = np.empty(0)
_NO_BENCHMARK.flags.writeable = False


def _raw(
    returns: Returns, groups: int, p: Params, benchmark: Returns | None
) -> tuple[Panel, FloatArray]:
    """Return the checked panel and its raw statistics (statistics along axis 0)."""
    panel = read_panel(returns)
    bench, bench_first, bench_last = _NO_BENCHMARK, 0, 0
    if groups & BENCH:
        if benchmark is None:
            raise ValidationError(
                "a benchmark is needed", [Issue("benchmark", "pass the benchmark's returns")]
            )
        bench, bench_first, bench_last = aligned_benchmark(benchmark, panel)
    raw = full_sample_nb(
        panel.values, bench, bench_first, bench_last, p.required_return, p.risk_free, groups
    )
    panel = check_panel(panel, raw[:, FIRST:].astype(np.int64))
    if groups & BENCH:
        check_overlap(panel, bench_first, bench_last)
    return panel, np.asarray(raw).T


def _metric(
    name: str,
    returns: Returns,
    benchmark: Returns | None = None,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
    required_return: float = 0.0,
) -> Metric:
    p = Params.of(periods_per_year, risk_free, required_return)
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
    panel, raw = _raw(returns, DRAWDOWN, Params.of(252, 0.0, 0.0), None)
    return _spell(panel, raw[:, 0])


def _spell(panel: Panel, raw: FloatArray) -> DrawdownSpell | None:
    if raw[DUR] == 0:
        return None
    recovery = None if raw[DREC] < 0 else panel.label(int(raw[DREC]))
    return DrawdownSpell(panel.label(int(raw[DSTART])), recovery, int(raw[DUR]))


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
    returns: Returns, p: Params, benchmark: Returns | None
) -> tuple[Panel, dict[str, npt.NDArray[Any] | pd.Index]]:
    groups = MOMENTS | DRAWDOWN | TAILS | (BENCH if benchmark is not None else 0)
    panel, raw = _raw(returns, groups, p, benchmark)
    columns: dict[str, npt.NDArray[Any] | pd.Index] = {}
    for name in (*METRICS, *BENCHMARK_METRICS):
        if name == "longest_drawdown_start":
            columns[name] = _labels(panel, raw[DSTART])
        elif name == "longest_drawdown_recovery":
            columns[name] = _labels(panel, raw[DREC])
        elif name in METRICS or benchmark is not None:
            columns[name] = _FORMULAS[name][1](raw, p)
    return panel, columns


def _labels(panel: Panel, rows: FloatArray) -> npt.NDArray[Any] | pd.Index:
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
    p = Params.of(periods_per_year, risk_free, required_return)
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
    p = Params.of(periods_per_year, risk_free, required_return)
    _require_one_series(returns)
    _, columns = _frame_columns(returns, p, benchmark)
    return RiskMetrics(**{name: _scalar(column[0]) for name, column in columns.items()})


def _scalar(value: Any) -> Any:
    if value is pd.NaT:
        return None
    return value.item() if isinstance(value, np.generic) else value
