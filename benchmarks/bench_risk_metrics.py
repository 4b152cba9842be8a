"""Risk metrics speed: quantdesk against empyrical and quantstats on the same returns.

Runs on SYNTHETIC daily returns (not market data): ``--series`` columns (default 500) of
``--days`` periods (default 5,000), clipped Student-t shocks with a little drift, plus a benchmark
(their cross-sectional mean). Every library gets its fastest honest path:

- quantdesk: each metric function on the whole DataFrame (one compiled pass over every
  column), and ``metrics_frame`` for the full set at once;
- empyrical: its native 2-D support (``annual_volatility``, ``sharpe_ratio``,
  ``sortino_ratio``, ``downside_risk``, ``annual_return``, ``max_drawdown``,
  ``alpha_beta_aligned``, ``excess_sharpe`` on numpy arrays); a loop over columns where a
  function only takes one series (``calmar_ratio``, ``omega_ratio``, ``tail_ratio``);
- quantstats: its DataFrame support where it has it, else a loop over columns. quantstats is
  slow on many columns, so it is timed on the first ``--qs-series`` columns (default 50)
  and scaled linearly to all columns; the table says so.

A metric a library lacks shows "—" and is left out of that library's total. The "all
metrics" row compares ``metrics_frame`` (which computes every metric, more than either
library offers) with the sum of the library's per-metric times. Times are the best of
``--repeat`` runs. Memory: tracemalloc peak of ``metrics_frame`` (numba's own kernel scratch,
a few arrays of one column, is outside tracemalloc).

Usage: ``python benchmarks/bench_risk_metrics.py [--series 500] [--days 5000] [--repeat 15]``
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd


def _best(repeat: int, fn: Callable[[], object]) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _synthetic(series: int, days: int, seed: int = 7) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(4, size=(days, series)) * 0.012
    market = rng.standard_t(4, size=(days, 1)) * 0.008
    # Clipped: a fat-tailed draw below -100% is not a return.
    returns = np.clip(0.0003 + market * rng.uniform(0.5, 1.5, size=series) + shocks, -0.5, 0.5)
    index = pd.bdate_range("2000-01-03", periods=days, name="date")
    columns = [f"SYN{j:04d}" for j in range(series)]
    frame = pd.DataFrame(returns, index=index, columns=columns)
    return frame, frame.mean(axis=1).rename("benchmark")


def main() -> None:
    """Print the timing table and quantdesk's memory peak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--days", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--qs-series", type=int, default=50)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import empyrical as ep
    import quantstats as qs

    from quantdesk import risk

    frame, bench = _synthetic(args.series, args.days)
    # A DataFrame's values come out column-major, which suits empyrical's axis-0 reductions.
    array, b = frame.to_numpy(), bench.to_numpy()
    b2 = b[:, None]
    subset = frame.iloc[:, : args.qs_series]
    scale = args.series / subset.shape[1]

    def each(fn: Callable[[pd.Series], object]) -> Callable[[], object]:
        return lambda: [fn(subset[c]) for c in subset.columns]

    def emp_each(fn: Callable[[np.ndarray], object]) -> Callable[[], object]:
        return lambda: [fn(array[:, j]) for j in range(array.shape[1])]

    def qs_duration(column: pd.Series) -> object:
        return qs.stats.drawdown_details(qs.stats.to_drawdown_series(column))

    # metric: (quantdesk, empyrical or None, quantstats on the subset or None)
    cases: dict[
        str, tuple[Callable[[], object], Callable[[], object] | None, Callable[[], object] | None]
    ] = {
        "cagr": (
            lambda: risk.cagr(frame),
            lambda: ep.annual_return(array),
            lambda: qs.stats.cagr(subset),
        ),
        "volatility": (
            lambda: risk.volatility(frame),
            lambda: ep.annual_volatility(array),
            lambda: qs.stats.volatility(subset),
        ),
        "downside_deviation": (
            lambda: risk.downside_deviation(frame),
            lambda: ep.downside_risk(array),
            None,
        ),
        "sharpe": (
            lambda: risk.sharpe(frame),
            lambda: ep.sharpe_ratio(array),
            lambda: qs.stats.sharpe(subset),
        ),
        "sortino": (
            lambda: risk.sortino(frame),
            lambda: ep.sortino_ratio(array),
            lambda: qs.stats.sortino(subset),
        ),
        "calmar": (
            lambda: risk.calmar(frame),
            emp_each(ep.calmar_ratio),
            each(qs.stats.calmar),
        ),
        "omega": (lambda: risk.omega(frame), emp_each(ep.omega_ratio), each(qs.stats.omega)),
        "max_drawdown": (
            lambda: risk.max_drawdown(frame),
            lambda: ep.max_drawdown(array),
            lambda: qs.stats.max_drawdown(subset),
        ),
        "max_drawdown_duration": (
            lambda: risk.max_drawdown_duration(frame),
            None,
            each(qs_duration),
        ),
        "ulcer_index": (
            lambda: risk.ulcer_index(frame),
            None,
            lambda: qs.stats.ulcer_index(subset),
        ),
        "tail_ratio": (
            lambda: risk.tail_ratio(frame),
            emp_each(ep.tail_ratio),
            lambda: qs.stats.tail_ratio(subset),
        ),
        "skew": (lambda: risk.skew(frame), None, lambda: qs.stats.skew(subset)),
        "kurtosis": (lambda: risk.kurtosis(frame), None, lambda: qs.stats.kurtosis(subset)),
        "alpha+beta": (
            lambda: (risk.alpha(frame, bench), risk.beta(frame, bench)),
            lambda: ep.alpha_beta_aligned(array, b2),
            each(lambda c: qs.stats.greeks(c, bench)),
        ),
        "information_ratio": (
            lambda: risk.information_ratio(frame, bench),
            lambda: ep.excess_sharpe(array, b2),
            each(lambda c: qs.stats.information_ratio(c, bench)),
        ),
        "tracking_error": (
            lambda: risk.tracking_error(frame, bench),
            lambda: ep.annual_volatility(array - b2),
            None,
        ),
    }

    print(
        f"SYNTHETIC daily returns: {args.series} series x {args.days:,} days "
        f"(Student-t shocks clipped to +-50%, not market data); best of {args.repeat}"
    )
    print(
        f"quantstats timed on {subset.shape[1]} series and scaled x{scale:g} to "
        f"{args.series} (linear in the number of series)"
    )

    # quantdesk and empyrical first, interleaved; quantstats (a minute or more) afterwards,
    # so its long run cannot slow the machine down for the others' timings.
    def whole() -> object:
        return risk.metrics_frame(frame, bench)

    mine = {name: _best(args.repeat, ours) for name, (ours, _, _) in cases.items()}
    emp_times = {
        name: None if emp is None else _best(args.repeat, emp)
        for name, (_, emp, _) in cases.items()
    }
    everything = _best(args.repeat, whole)
    c_array = np.ascontiguousarray(array)
    numpy_time = _best(args.repeat, lambda: risk.metrics_frame(c_array, b))
    qs_times = {
        name: None if qst is None else _best(1, qst) * scale for name, (_, _, qst) in cases.items()
    }

    print()
    print("| metric | quantdesk s | empyrical s | quantstats s | vs empyrical | vs quantstats |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in cases:
        print(
            f"| {name} | {mine[name]:.4f} | {_cell(emp_times[name])} | "
            f"{_cell(qs_times[name])} | {_ratio(emp_times[name], mine[name])} | "
            f"{_ratio(qs_times[name], mine[name])} |"
        )
    total_emp = sum(t for t in emp_times.values() if t is not None)
    total_qs = sum(t for t in qs_times.values() if t is not None)
    print(
        f"| **all metrics** (metrics_frame) | {everything:.4f} | {total_emp:.4f} | "
        f"{total_qs:.4f} | **{total_emp / everything:.0f}x** | **{total_qs / everything:.0f}x** |"
    )

    tracemalloc.start()
    whole()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print()
    print(
        f"quantdesk metrics_frame tracemalloc peak: {peak / 2**20:.2f} MiB "
        f"(input {array.nbytes / 2**20:.1f} MiB, not copied for a DataFrame)"
    )
    print(
        f"quantdesk metrics_frame on a C-ordered numpy array: {numpy_time:.4f} s "
        "(includes one transposing copy)"
    )


def _cell(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.4f}"


def _ratio(theirs: float | None, mine: float) -> str:
    return "—" if theirs is None else f"{theirs / mine:.0f}x"


if __name__ == "__main__":
    main()
