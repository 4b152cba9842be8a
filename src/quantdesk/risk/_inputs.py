"""Reading and checking returns, and the metric parameters, shared by metrics and rolling.

:func:`read_panel` turns any supported input into a series-major panel, :func:`check_panel`
refuses gaps, infinite values, returns below -100% and short series with one issue per
offending column (see :mod:`quantdesk.risk.metrics` for the rules), :class:`Params` turns the
annual rates into per-period ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.risk._metrics_nb import scan_nb

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Returns in any supported kind: 1-D or 2-D (columns = series) numpy data or pandas objects.
Returns: TypeAlias = "pd.Series[Any] | pd.DataFrame | npt.ArrayLike"
#: A metric's value: ``float`` for one series, an array or a Series (by column) for many.
Metric: TypeAlias = "float | npt.NDArray[Any] | pd.Series[Any]"
#: The metrics that need a benchmark; :func:`~quantdesk.risk.metrics.metrics_frame` adds them
#: when one is given.
BENCHMARK_METRICS: tuple[str, ...] = ("alpha", "beta", "information_ratio", "tracking_error")


@dataclass(frozen=True, slots=True)
class Panel:
    """Returns as a series-major float64 array, with the labels to report and wrap results."""

    values: FloatArray  # (series, periods), C-contiguous, read-only
    index: pd.Index | None
    columns: pd.Index | None
    one_dimensional: bool
    parameter: str
    first: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # check_panel
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


def read_panel(returns: Returns, parameter: str = "returns") -> Panel:
    """Return ``returns`` as a read-only panel, unchecked; raise if not 1-D or 2-D numbers."""
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
    return Panel(values, index, columns, one_dimensional, parameter)


def check_panel(panel: Panel, scan: IntArray, minimum: int = 2) -> Panel:
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


def valid_panel(returns: Returns, parameter: str = "returns", minimum: int = 2) -> Panel:
    """Return the read and checked panel of ``returns``."""
    panel = read_panel(returns, parameter)
    return check_panel(panel, scan_nb(panel.values), minimum)


def aligned_benchmark(benchmark: Returns, panel: Panel) -> tuple[FloatArray, int, int]:
    """Return the benchmark aligned to ``panel`` and its first and last observed rows."""
    if isinstance(benchmark, pd.DataFrame):
        if benchmark.shape[1] != 1:
            raise ValidationError(
                "benchmark must be one series",
                [Issue("benchmark", f"got {benchmark.shape[1]} columns; pass one Series")],
            )
        benchmark = benchmark.iloc[:, 0]
    if isinstance(benchmark, pd.Series) and panel.index is not None:
        benchmark = benchmark.reindex(panel.index)
    aligned = valid_panel(benchmark, "benchmark")
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


def check_overlap(panel: Panel, bench_first: int, bench_last: int) -> None:
    """Raise unless every series shares at least two periods with the benchmark."""
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
class Params:
    """Periods per year and the annual rates as per-period rates (geometric)."""

    periods_per_year: float
    risk_free: float  # per period
    required_return: float  # per period

    @classmethod
    def of(cls, periods_per_year: float, risk_free: float, required_return: float) -> Params:
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


def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """Return ``numerator / denominator``, NaN where the denominator is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)


def floats(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)
